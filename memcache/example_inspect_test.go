package memcache_test

import (
	"context"
	"fmt"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// Recipe is cached with its rendering, a cached property.
type Recipe struct {
	ID    int
	Title string
	Steps []string
	HTML  string `cacheprop:"cached"`
}

// Inspect tells what a Store wrote under a key, from the key and the
// store's options alone: it needs neither the Go type nor the codec, and
// changes nothing in the cache.
func ExampleInspect() {
	ctx := context.Background()
	backend := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	opts := []memcache.Option{memcache.WithNamespace("recipes", "v2"), memcache.WithCodec(codec.CBOR)}
	store, err := memcache.NewStore[*Recipe](backend, opts...)
	if err != nil {
		panic(err)
	}
	// HTML is a cached property: it is not written, so not shown.
	if err := store.Set(ctx, "a1", &Recipe{ID: 1, Title: "Tea", Steps: []string{"boil", "steep"}, HTML: "<ol>...</ol>"}); err != nil {
		panic(err)
	}

	in, err := memcache.Inspect(ctx, backend, "a1", memcache.WithNamespace("recipes", "v2"))
	if err != nil {
		panic(err)
	}
	fp, _ := store.Fingerprint()
	fmt.Println("memcached key:", in.StoreKey)
	fmt.Printf("flags: %#08x, format %d, %s, codec %s, compression %s\n", in.Flags, in.Version, in.Kind, in.Codec, in.Compression)
	fmt.Println("the store's fingerprint:", in.HasFingerprint && in.Fingerprint == fp)
	fmt.Printf("size: %d bytes, limit %d\n", in.Size, in.Limit)
	fmt.Printf("%s\n", in.JSON)

	// A value some other program wrote.
	if err := backend.Set(ctx, &memcache.Item{Key: "recipes:v2:a2", Value: []byte("legacy bytes")}); err != nil {
		panic(err)
	}
	in, err = memcache.Inspect(ctx, backend, "a2", memcache.WithNamespace("recipes", "v2"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("foreign: %v, written %s: %q\n", in.Foreign, in.Written, in.Value)
	// Output:
	// memcached key: recipes:v2:a1
	// flags: 0x4c02000c, format 2, value, codec cbor, compression none
	// the store's fingerprint: true
	// size: 45 bytes, limit 1048500
	// {
	//   "ID": 1,
	//   "Steps": [
	//     "boil",
	//     "steep"
	//   ],
	//   "Title": "Tea"
	// }
	// foreign: true, written by something other than a leancache store: "legacy bytes"
}
