package memcache_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/leancache/leancache/memcache"
)

// A store that shares its values with PHP services: JSON under
// php-memcached's JSON flag, keys as given (with the schema fingerprint as
// a segment after the namespace, unless WithoutFingerprint), and PHP's own
// JSON values read back.
func ExampleWithInterop() {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	type user struct {
		Name string `json:"name"`
	}
	s, err := memcache.NewStore[user](b, memcache.WithInterop(memcache.InteropPHP),
		memcache.WithNamespace("users", "v2"), memcache.WithoutFingerprint())
	if err != nil {
		panic(err)
	}
	_ = s.Set(ctx, "42#eu", user{Name: "Ada"})
	it, _ := b.Get(ctx, "users:v2:42#eu")
	fmt.Printf("flags %d, value %s\n", it.Flags, it.Value)

	// What a PHP service wrote with Memcached::SERIALIZER_JSON_ARRAY.
	_ = b.Set(ctx, &memcache.Item{Key: "users:v2:7", Flags: 6, Value: []byte(`{"name":"Grace"}`)})
	u, err := s.Get(ctx, "7")
	fmt.Println(u.Name, err)
	// Output:
	// flags 6, value {"name":"Ada"}
	// Grace <nil>
}

// GetOrLoad leaves a value it cannot read in place when another program
// wrote it (its flags lack leancache's marker), answers from the loader,
// and reports it; WithOverwriteForeign lets it overwrite.
func ExampleWithOverwriteForeign() {
	ctx := context.Background()
	load := func(context.Context) (string, error) { return "loaded", nil }
	for _, opts := range [][]memcache.Option{nil, {memcache.WithOverwriteForeign()}} {
		b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
		_ = b.Set(ctx, &memcache.Item{Key: "k", Flags: 4, Value: []byte(`s:3:"php";`)})
		var counters memcache.Counters
		opts = append(opts, memcache.WithCounters(&counters), memcache.WithErrorHandler(func(key string, err error) {
			fmt.Println("reported, foreign:", errors.Is(err, memcache.ErrForeignValue))
		}))
		s, _ := memcache.NewStore[string](b, opts...)
		v, _ := s.GetOrLoad(ctx, "k", load)
		it, _ := b.Get(ctx, "k")
		fmt.Printf("%s; kept: %d; flags now %#x\n", v, counters.ForeignKept.Load(), it.Flags)
	}
	// Output:
	// reported, foreign: true
	// loaded; kept: 1; flags now 0x4
	// reported, foreign: false
	// loaded; kept: 0; flags now 0x4c020009
}
