package memcache_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// WithCompression(0) means the default threshold, as zero settings do in
// Go, and turns compression on; a store without the option never
// compresses.
func TestWithCompressionZeroIsTheDefaultThreshold(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	compressed := func(s *memcache.Store[[]byte], n int) bool {
		t.Helper()
		require.NoError(t, s.Set(ctx, "k", bytes.Repeat([]byte("ab"), n/2)))
		k, err := s.Key("k")
		require.NoError(t, err)
		it, err := b.Get(ctx, k)
		require.NoError(t, err)
		return len(it.Value) < n
	}
	ratio := memcache.WithMaxCompressionRatio(1 << 20)
	for name, opts := range map[string][]memcache.Option{
		"zero":     {memcache.WithCompression(0)},
		"negative": {memcache.WithCompression(-1)},
		"default":  {memcache.WithCompression(memcache.DefaultCompressThreshold)},
	} {
		s := newStore[[]byte](t, b, append(opts, memcache.WithCodec(rawBytes{}), memcache.WithoutFingerprint(), ratio)...)
		assert.True(t, compressed(s, memcache.DefaultCompressThreshold), "%s: a value of the threshold's size is compressed", name)
		assert.False(t, compressed(s, memcache.DefaultCompressThreshold-2), "%s: a smaller one is not", name)
	}
	off := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithoutFingerprint(), ratio)
	assert.False(t, compressed(off, 64<<10), "without the option nothing is compressed")
}
