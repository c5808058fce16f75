package memcache_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// TestMeasureWriteIsWhatAWriteSends checks MeasureWrite against real writes
// on the embedded backend, for several store configurations: its Size is
// the length of the item the write stored, a value of exactly Limit bytes
// is stored, and one byte more is refused, as MeasureWrite itself says.
func TestMeasureWriteIsWhatAWriteSends(t *testing.T) {
	const key = "doc:1"
	for name, opts := range map[string][]memcache.Option{
		"default":        nil,
		"compression":    {memcache.WithCompression(64)},
		"namespace":      {memcache.WithNamespace("app", "v2")},
		"no fingerprint": {memcache.WithoutFingerprint()},
		"small server":   {memcache.WithItemSizeMax(512 << 10)},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			be := memcache.NewEmbedded(memcache.EmbeddedConfig{})
			st, err := memcache.NewStore[string](be, opts...)
			require.NoError(t, err)
			k, err := st.Key(key)
			require.NoError(t, err)

			v := strings.Repeat("a few words ", 100)
			sz, err := memcache.MeasureWrite(key, v, opts...)
			require.NoError(t, err)
			require.NoError(t, st.Set(ctx, key, v))
			it, err := be.Get(ctx, k)
			require.NoError(t, err)
			assert.Len(t, it.Value, sz.Size, "Size is what the write sent")
			assert.Equal(t, st.SizeGuard().Limit(k, it.Flags), sz.Limit)
			assert.Zero(t, sz.Chunks)

			// Random bytes do not compress: the size follows the value's
			// length, so the edge can be found by measuring.
			edge := incompressible(sz.Limit)
			for range 100 {
				sz, err := memcache.MeasureWrite(key, edge, opts...)
				if err == nil && sz.Size == sz.Limit {
					break
				}
				if err == nil {
					edge = incompressible(len(edge) + sz.Limit - sz.Size)
				} else {
					edge = edge[:len(edge)-1]
				}
			}
			sz, err = memcache.MeasureWrite(key, edge, opts...)
			require.NoError(t, err)
			require.Equal(t, sz.Limit, sz.Size, "no value found at the limit")
			require.NoError(t, st.Set(ctx, key, edge), "a value of Limit bytes is stored")
			over := edge + "!"
			overSz, err := memcache.MeasureWrite(key, over, opts...)
			var tle *memcache.TooLargeError
			require.ErrorAs(t, err, &tle)
			assert.Equal(t, memcache.Sizing{Size: sz.Limit + 1, Limit: sz.Limit}, overSz)
			assert.Equal(t, sz.Limit+1, tle.Size)
			storeErr := st.Set(ctx, key, over)
			require.ErrorIs(t, storeErr, memcache.ErrTooLarge)
			assert.Equal(t, storeErr.Error(), err.Error(), "the same refusal as the write's")
		})
	}
}

// incompressible returns n bytes of printable text that S2 cannot shrink.
func incompressible(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, max(n, 0))
	x := uint64(0x9E3779B97F4A7C15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = alphabet[x%uint64(len(alphabet))]
	}
	return string(b)
}

// TestMeasureWriteCountsNothing checks that measuring is not writing: a
// refused value counts in no Counters and reaches no middleware.
func TestMeasureWriteCountsNothing(t *testing.T) {
	var c memcache.Counters
	calls := 0
	mw := func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, r *memcache.Request) (*memcache.Response, error) {
			calls++
			return next(ctx, r)
		}
	}
	opts := []memcache.Option{memcache.WithCounters(&c), memcache.WithMiddleware(mw), memcache.WithItemSizeMax(16 << 10)}
	big := incompressible(40 << 10)
	_, err := memcache.MeasureWrite("k", big, opts...)
	require.ErrorIs(t, err, memcache.ErrTooLarge)
	assert.Zero(t, c.Rejected.Load())
	assert.Zero(t, calls)

	sz, err := memcache.MeasureWrite("k", big, append(opts, memcache.WithChunking())...)
	require.NoError(t, err)
	assert.Positive(t, sz.Chunks, "a chunking store splits it")
	assert.Greater(t, sz.Size, len(big), "the payload over all chunks: the codec's output")
	assert.Less(t, sz.Size, len(big)+16)
	assert.Zero(t, c.ChunkedWrites.Load())
}
