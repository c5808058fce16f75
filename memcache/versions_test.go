package memcache_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// What a reader gets from bytes it did not write: another codec's value, a
// truncated value, and a value from an older shape of its type. Each gives
// a clear error or the documented lenient decode, never a panic. (With
// schema fingerprints on, a changed shape reads as a miss instead; these
// tests pin what the codecs themselves do.)

var allCodecs = []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR}

type userV1 struct {
	ID    int
	Name  string
	Email string
}

// userAdded has a field more.
type userAdded struct {
	ID    int
	Name  string
	Email string
	Admin bool
}

// userRemoved has lost Email.
type userRemoved struct {
	ID   int
	Name string
}

// userRetyped changed Name's type.
type userRetyped struct {
	ID   int
	Name []int
}

func TestReadingAnotherCodecsValueIsAFormatError(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	for _, w := range allCodecs {
		writer := newStore[*userV1](t, b, memcache.WithCodec(w))
		require.NoError(t, writer.Set(ctx, "u", &userV1{ID: 1, Name: "ann"}))
		for _, r := range allCodecs {
			if r == w {
				continue
			}
			reader := newStore[*userV1](t, b, memcache.WithCodec(r))
			v, err := reader.Get(ctx, "u")
			var fe *memcache.FormatError
			require.ErrorAs(t, err, &fe, "%s written, %s read", w.Name(), r.Name())
			assert.Contains(t, err.Error(), "codec "+w.Name())
			assert.Nil(t, v)
		}
	}
}

func TestReadingATruncatedValueIsADecodeError(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	for _, c := range allCodecs {
		s := newStore[*userV1](t, b, memcache.WithCodec(c))
		require.NoError(t, s.Set(ctx, "u", &userV1{ID: 1, Name: "ann", Email: "ann@example.com"}))
		it, err := b.Get(ctx, "u")
		require.NoError(t, err)
		full := it.Value
		for _, n := range []int{0, 1, len(full) / 2, len(full) - 1} {
			it.Value = full[:n]
			require.NoError(t, b.Set(ctx, it))
			v, err := s.Get(ctx, "u")
			var de *memcache.DecodeError
			require.ErrorAs(t, err, &de, "%s cut to %d of %d bytes", c.Name(), n, len(full))
			assert.Equal(t, "u", de.Key)
			assert.Nil(t, v)
		}
	}
}

// TestReadingAnOlderShape pins each codec's behaviour when the type changed
// between write and read: added and removed fields decode leniently (the
// new field reads as zero, the dropped one is ignored) in every codec; a
// changed field type is an error.
func TestReadingAnOlderShape(t *testing.T) {
	ctx := context.Background()
	for _, c := range allCodecs {
		t.Run(c.Name(), func(t *testing.T) {
			b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
			old := newStore[*userV1](t, b, memcache.WithCodec(c), memcache.WithoutFingerprint())
			require.NoError(t, old.Set(ctx, "u", &userV1{ID: 1, Name: "ann", Email: "ann@example.com"}))

			added, err := newStore[*userAdded](t, b, memcache.WithCodec(c), memcache.WithoutFingerprint()).Get(ctx, "u")
			require.NoError(t, err, "a field added since the write reads as zero")
			assert.Equal(t, &userAdded{ID: 1, Name: "ann", Email: "ann@example.com"}, added)

			removed, err := newStore[*userRemoved](t, b, memcache.WithCodec(c), memcache.WithoutFingerprint()).Get(ctx, "u")
			require.NoError(t, err, "a field removed since the write is ignored")
			assert.Equal(t, &userRemoved{ID: 1, Name: "ann"}, removed)

			retyped, err := newStore[*userRetyped](t, b, memcache.WithCodec(c), memcache.WithoutFingerprint()).Get(ctx, "u")
			var de *memcache.DecodeError
			require.ErrorAs(t, err, &de, "a changed field type is an error, not garbage")
			assert.Nil(t, retyped)
			assert.False(t, errors.Is(err, memcache.ErrCacheMiss))
		})
	}
}
