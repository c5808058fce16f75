package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache/sizetest"
)

// TestProductsFitOneItem is the first check: each fixture, in each codec,
// fits one memcached item. Untag the product's RenderedHTML and it fails,
// naming Product.RenderedHTML.
func TestProductsFitOneItem(t *testing.T) {
	for name, v := range Fixtures() {
		for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR} {
			assert.True(t, sizetest.AssertFits(t, c, v), "%s in %s", name, c.Name())
		}
	}
}

// TestSizeBudgets is the second: sizes within the committed budgets.
// Rewrite them on purpose with
//
//	go test ./examples/sizebudget -run TestSizeBudgets -update-budgets
func TestSizeBudgets(t *testing.T) {
	sizetest.CheckBudgets(t, "testdata/size-budgets.txt", Fixtures())
}

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	assert.Contains(t, out.String(), "product-large  msgpack")
	assert.Contains(t, out.String(), " of 1023.9 KB  fits: true\n", "sizes against the limit under the store's key")
	assert.NotContains(t, out.String(), "fits: false")
}
