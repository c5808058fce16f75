package memcache_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// Counters count the store's own events (schema misses, size-guard
// rejections, chunked reads, writes and misses, values over the decode
// budget) however they are attached: with WithCounters, or with their
// Middleware in WithMiddleware, as their documentation says.
func TestCountersCountStoreEventsHoweverWired(t *testing.T) {
	for name, wire := range map[string]func(*memcache.Counters) memcache.Option{
		"WithCounters":   memcache.WithCounters,
		"WithMiddleware": func(c *memcache.Counters) memcache.Option { return memcache.WithMiddleware(c.Middleware()) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
			c := &memcache.Counters{}

			raw := newStore[[]byte](t, b, wire(c), memcache.WithCodec(rawBytes{}), memcache.WithChunking(),
				memcache.WithItemSizeMax(64<<10), memcache.WithMaxDecodedSize(1<<20))
			// A refusal before any request has passed through the chain.
			require.ErrorIs(t, raw.Add(ctx, "huge", bytes.Repeat([]byte("x"), 2<<20)), memcache.ErrTooLarge)
			big := bytes.Repeat([]byte("y"), 200<<10)
			require.NoError(t, raw.Set(ctx, "big", big))
			got, err := raw.Get(ctx, "big")
			require.NoError(t, err)
			require.Equal(t, big, got)
			// The index of "big" under another key names chunks that are
			// not there: a chunk miss.
			k, err := raw.Key("big")
			require.NoError(t, err)
			it, err := b.Get(ctx, k)
			require.NoError(t, err)
			other, err := raw.Key("other")
			require.NoError(t, err)
			require.NoError(t, b.Set(ctx, &memcache.Item{Key: other, Value: it.Value, Flags: it.Flags}))
			_, err = raw.Get(ctx, "other")
			require.ErrorIs(t, err, memcache.ErrCacheMiss)

			// A value written without a fingerprint, read by a store that
			// requires one: a schema miss.
			plain := newStore[*page](t, b, memcache.WithoutFingerprint(), memcache.WithNamespace("p", "1"))
			require.NoError(t, plain.Set(ctx, "p", &page{Title: "t"}))
			typed := newStore[*page](t, b, wire(c), memcache.WithNamespace("p", "1"))
			_, err = typed.Get(ctx, "p")
			require.ErrorIs(t, err, memcache.ErrCacheMiss)

			// A value that expands more than the reader's ratio allows.
			loose := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithNamespace("z", "1"),
				memcache.WithCompression(1), memcache.WithMaxCompressionRatio(1<<20))
			require.NoError(t, loose.Set(ctx, "z", bytes.Repeat([]byte("z"), 64<<10)))
			strict := newStore[[]byte](t, b, wire(c), memcache.WithCodec(rawBytes{}), memcache.WithNamespace("z", "1"),
				memcache.WithMaxCompressionRatio(2))
			_, err = strict.Get(ctx, "z")
			require.ErrorIs(t, err, codec.ErrBudget)

			assert.EqualValues(t, 1, c.Rejected.Load(), "Rejected")
			assert.EqualValues(t, 1, c.ChunkedWrites.Load(), "ChunkedWrites")
			assert.EqualValues(t, 1, c.ChunkedReads.Load(), "ChunkedReads")
			assert.EqualValues(t, 1, c.ChunkMisses.Load(), "ChunkMisses")
			assert.EqualValues(t, 1, c.SchemaMisses.Load(), "SchemaMisses")
			assert.EqualValues(t, 1, c.OverBudget.Load(), "OverBudget")
		})
	}
}
