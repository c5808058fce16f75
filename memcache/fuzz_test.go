package memcache_test

import (
	"context"
	"errors"
	"testing"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// FuzzStoreGet feeds arbitrary flags and bytes, as a corrupt or foreign
// memcached item would hold, to a Store's read path for every codec: flags
// check, decompression and decoding. Each must answer with a value or a
// typed error, never panic.
func FuzzStoreGet(f *testing.F) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	var stores []*memcache.Store[*soakValue]
	for _, name := range []string{"json", "gob", "msgpack", "cbor"} {
		c, ok := codec.ByName(name)
		if !ok {
			f.Fatalf("codec %s is not registered", name)
		}
		s, err := memcache.NewStore[*soakValue](b, memcache.WithCodec(c), memcache.WithCompression(64))
		if err != nil {
			f.Fatal(err)
		}
		stores = append(stores, s)
		// Seeds: real values of each codec, compressed and not.
		for _, v := range []*soakValue{newSoakValue("k", 1), newSoakValue("k", 49)} {
			if err := s.Set(ctx, "k", v); err != nil {
				f.Fatal(err)
			}
			it, err := b.Get(ctx, "k")
			if err != nil {
				f.Fatal(err)
			}
			f.Add(it.Flags, it.Value)
		}
	}
	f.Add(uint32(0), []byte("plain bytes"))
	f.Add(uint32(0x4C010101), []byte{0xff, 0xff, 0xff, 0xff, 0x0f})

	f.Fuzz(func(t *testing.T, flags uint32, value []byte) {
		if err := b.Set(ctx, &memcache.Item{Key: "k", Value: value, Flags: flags}); err != nil {
			if errors.Is(err, memcache.ErrTooLarge) {
				return
			}
			t.Fatal(err)
		}
		for _, s := range stores {
			v, err := s.Get(ctx, "k")
			var fe *memcache.FormatError
			var de *memcache.DecodeError
			switch {
			case err == nil:
				if v != nil && v.HTML != "" {
					t.Fatalf("%s: decoded a cached property", s.Codec().Name())
				}
			case errors.As(err, &fe), errors.As(err, &de):
			default:
				t.Fatalf("%s: untyped error %T: %v", s.Codec().Name(), err, err)
			}
		}
	})
}
