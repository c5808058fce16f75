package codec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/leancache/leancache/internal/fixtures"
)

// TestMsgpackViewSliceAsLibrary decodes slices of view types (msgpackViewSlice)
// into targets that already hold elements, with spare capacity or without,
// and from nil and empty arrays: the value must be what msgpack itself makes
// of the twin given the same target, elements kept where msgpack keeps them.
func TestMsgpackViewSliceAsLibrary(t *testing.T) {
	reviews := func(n, capacity int) []fixtures.Review {
		return append(make([]fixtures.Review, 0, capacity), fixtures.NewProduct(1, n).Reviews...)
	}
	inputs := map[string]*fixtures.Product{
		"three": fixtures.NewProduct(2, 3),
		"empty": fixtures.NewProduct(3, 0),
		"nil":   func() *fixtures.Product { p := fixtures.NewProduct(4, 0); p.Reviews = nil; return p }(),
	}
	targets := map[string]func() *fixtures.Product{
		"zero":        func() *fixtures.Product { return new(fixtures.Product) },
		"nil-slice":   func() *fixtures.Product { return &fixtures.Product{Name: "x"} },
		"shorter":     func() *fixtures.Product { return &fixtures.Product{Reviews: reviews(1, 1)} },
		"spare-cap":   func() *fixtures.Product { return &fixtures.Product{Reviews: reviews(1, 2)[:1]} },
		"longer":      func() *fixtures.Product { return &fixtures.Product{Reviews: reviews(5, 5)} },
		"stale-tail":  func() *fixtures.Product { return &fixtures.Product{Reviews: reviews(2, 2)[:1]} },
		"empty-slice": func() *fixtures.Product { return &fixtures.Product{Reviews: []fixtures.Review{}} },
	}
	for in, p := range inputs {
		p.Attributes, p.Stock = nil, nil // re-encoded below: no map order
		data, err := Msgpack.Marshal(p)
		require.NoError(t, err)
		for tn, target := range targets {
			got, want := target(), target().Twin()
			require.NoError(t, Msgpack.Unmarshal(data, got), "%s into %s", in, tn)
			require.NoError(t, msgpack.Unmarshal(data, want), "%s into %s", in, tn)
			// Re-encoded, nil and empty slices differ (0xc0, 0x90).
			wantData, err := msgpack.Marshal(want)
			require.NoError(t, err)
			gotData, err := Msgpack.Marshal(got)
			require.NoError(t, err)
			assert.Equal(t, wantData, gotData, "%s into %s", in, tn)
			assert.Equal(t, want.Reviews == nil, got.Reviews == nil, "%s into %s: nil slice", in, tn)
			for i, r := range got.Reviews {
				assert.Empty(t, r.BodyHTML, "%s into %s: review %d keeps a cached property", in, tn, i)
			}
		}
	}
}
