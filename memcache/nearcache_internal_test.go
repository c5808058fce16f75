package memcache

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nearOf(t *testing.T, b Backend) *nearCache {
	t.Helper()
	n, ok := b.(interface{ cache() *nearCache })
	require.True(t, ok, "%T is no near cache", b)
	return n.cache()
}

// TestNearCacheByteBound fills a near cache far past its bound: what its
// entries count never exceeds MaxBytes, and it does hold a good part.
func TestNearCacheByteBound(t *testing.T) {
	ctx := context.Background()
	const maxBytes = 256 << 10
	e := NewEmbedded(EmbeddedConfig{})
	s, err := NewStore[[]byte](e, WithCodec(rawCodec{}), WithExpiration(time.Hour), WithNearCache(NearCacheConfig{MaxBytes: maxBytes}))
	require.NoError(t, err)
	far, err := NewStore[[]byte](e, WithCodec(rawCodec{}))
	require.NoError(t, err)
	n := nearOf(t, s.backend)
	assert.Len(t, n.shards, 4, "shards of at least 64 KiB")
	value := make([]byte, 1000)
	for i := range 2000 {
		key := "k" + strconv.Itoa(i)
		w := far
		if i%2 == 0 {
			w = s // its writes leave hints, which count too
		}
		require.NoError(t, w.Set(ctx, key, value))
		_, err := s.Get(ctx, key)
		require.NoError(t, err)
		require.LessOrEqual(t, n.bytes(), int64(maxBytes), "after %d fills", i+1)
	}
	assert.Greater(t, n.bytes(), int64(maxBytes/2))

	// An item larger than a shard's share is not kept.
	require.NoError(t, s.Set(ctx, "big", make([]byte, maxBytes/4)))
	before := n.bytes()
	_, err = s.Get(ctx, "big")
	require.NoError(t, err)
	assert.LessOrEqual(t, n.bytes(), before)
}

// TestNearCacheEndsAllItemsOfAChunkedValue: a local delete of a chunked
// value ends its chunks' entries too, not only its index's.
func TestNearCacheEndsAllItemsOfAChunkedValue(t *testing.T) {
	ctx := context.Background()
	s, err := NewStore[[]byte](nil, WithCodec(rawCodec{}), WithChunking(), WithItemSizeMax(64<<10), WithNamespace("ns", "v1"),
		WithNearCache(NearCacheConfig{}))
	require.NoError(t, err)
	n := nearOf(t, s.backend)
	require.NoError(t, s.Set(ctx, "big", make([]byte, 300<<10)))
	_, err = s.Get(ctx, "big")
	require.NoError(t, err)
	require.Greater(t, n.bytes(), int64(300<<10))
	require.NoError(t, s.Delete(ctx, "big"))
	assert.Less(t, n.bytes(), int64(1<<10), "only hints are left")
}

// rawCodec stores []byte as is.
type rawCodec struct{}

func (rawCodec) Name() string { return "raw" }
func (rawCodec) Marshal(v any) ([]byte, error) {
	return append([]byte(nil), v.([]byte)...), nil
}
func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}

// TestNearCacheInterfaces: the near cache has the optional interfaces of
// its backend that the store uses, and no others: batches only where they
// pipeline, leases only where the backend has them.
func TestNearCacheInterfaces(t *testing.T) {
	type pipelined struct{ *Embedded } // batches and leases, not looping ones
	type plain struct{ Backend }
	e := NewEmbedded(EmbeddedConfig{})
	for _, tc := range []struct {
		b               Backend
		batches, leases bool
	}{
		{e, false, true},
		{pipelined{e}, true, true},
		{plain{e}, false, false},
	} {
		_, nb := newNearCache(tc.b, NearCacheConfig{MaxBytes: DefaultNearCacheMaxBytes, TTL: time.Second}, time.Now, "")
		_, sets := nb.(MultiSetter)
		_, deletes := nb.(MultiDeleter)
		_, leases := nb.(Leaser)
		_, sizes := nb.(ItemSizeMaxer)
		assert.Equal(t, tc.batches, sets, "%T", tc.b)
		assert.Equal(t, tc.batches, deletes, "%T", tc.b)
		assert.Equal(t, tc.leases, leases, "%T", tc.b)
		assert.True(t, sizes, "%T", tc.b)
		assert.Same(t, nearOf(t, nb), nearOf(t, nb))
	}
}
