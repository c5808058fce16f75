package memcache_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// TestStoreReadsLegacyCodecIDs checks that values written with the codec
// ids of earlier versions (1-4, before bit 3 was set in them so that
// php-memcached fails them) are still read, whole and chunked, and that a
// write replaces them with today's id.
func TestStoreReadsLegacyCodecIDs(t *testing.T) {
	ctx := context.Background()
	for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR} {
		t.Run(c.Name(), func(t *testing.T) {
			b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
			s := newStore[*acctA](t, b, memcache.WithCodec(c), memcache.WithChunking(), memcache.WithItemSizeMax(64*1024))
			want := &acctA{ID: 7, Name: "ann"}
			big := &acctA{ID: 8, Name: strings.Repeat("n", 200_000)}
			require.NoError(t, s.Set(ctx, "small", want))
			require.NoError(t, s.Set(ctx, "big", big))

			// Turn every item's codec id into the legacy one.
			items, err := b.GetMulti(ctx, b.Keys(""))
			require.NoError(t, err)
			require.Greater(t, len(items), 2, "big is chunked")
			for _, it := range items {
				id := it.Flags & 0xff
				require.NotZero(t, id&0x08, "%s: bit 3 is set in what a store writes", it.Key)
				it.Flags = it.Flags&^0xff | id&^0x08
				require.NoError(t, b.Set(ctx, it))
			}

			got, err := s.Get(ctx, "small")
			require.NoError(t, err)
			assert.Equal(t, want, got)
			got, err = s.Get(ctx, "big")
			require.NoError(t, err)
			assert.Equal(t, big, got)

			require.NoError(t, s.Set(ctx, "small", want))
			it, err := b.Get(ctx, "small")
			require.NoError(t, err)
			assert.NotZero(t, it.Flags&0x08, "a write uses today's id")
		})
	}
}
