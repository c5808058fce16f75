package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache/memcachetest"
)

func TestRun(t *testing.T) {
	check := func(t *testing.T, addr string) {
		var out bytes.Buffer
		require.NoError(t, run(&out, addr))
		s := out.String()
		assert.Contains(t, s, "40 reviews back, rendered HTML 0 bytes")
		assert.Contains(t, s, "without stripping: refused before the network")
		assert.Contains(t, s, "Product.RenderedHTML: 2.1 MB")
	}
	t.Run("embedded", func(t *testing.T) { check(t, "") })
	t.Run("memcached", func(t *testing.T) { check(t, memcachetest.NewServer(t).Addr) })
}
