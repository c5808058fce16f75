package memcache_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// Touch reads a chunked value's index the way the read path does, whatever
// fingerprint it carries (its chunks are its own), and leaves anything
// that is not a chunked value of its codec to the touch of its key.
func TestTouchReadsTheIndexThroughTheReadPath(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	var touches atomic.Int32
	spy := memcache.WithMiddleware(func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
			if req.Op == memcache.OpTouch {
				touches.Add(1)
			}
			return next(ctx, req)
		}
	})
	small := memcache.WithItemSizeMax(64 << 10)
	writer := newStore[*page](t, b, memcache.WithChunking(), small)
	require.NoError(t, writer.Set(ctx, "k", &page{Body: strings.Repeat("x", 200<<10)}))

	// Another type: another fingerprint, the same chunks to touch.
	other := newStore[*review](t, b, memcache.WithChunking(), small, spy)
	require.NoError(t, other.Touch(ctx, "k", time.Hour))
	assert.EqualValues(t, 5, touches.Load(), "4 chunks and the index")

	// A plain value, and an item no store wrote: only the key.
	touches.Store(0)
	require.NoError(t, writer.Set(ctx, "plain", &page{Title: "t"}))
	require.NoError(t, other.Touch(ctx, "plain", time.Hour))
	require.NoError(t, b.Set(ctx, &memcache.Item{Key: "foreign", Value: []byte("v"), Flags: 0x4C011000}))
	require.NoError(t, other.Touch(ctx, "foreign", time.Hour))
	assert.EqualValues(t, 2, touches.Load())
	require.ErrorIs(t, other.Touch(ctx, "absent", time.Hour), memcache.ErrCacheMiss)
}
