package memcache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/leancache/leancache/memcache"
)

// A near cache in front of a shared backend: hot keys are served from the
// process, at most TTL behind what other processes write, and at once up
// to date with this store's own writes.
func ExampleWithNearCache() {
	ctx := context.Background()
	shared := memcache.NewEmbedded(memcache.EmbeddedConfig{}) // memcached, in a real deployment
	counters := new(memcache.Counters)
	store, err := memcache.NewStore[*Article](shared,
		memcache.WithNearCache(memcache.NearCacheConfig{MaxBytes: 32 << 20, TTL: 500 * time.Millisecond}),
		memcache.WithCounters(counters))
	if err != nil {
		panic(err)
	}
	if err := store.Set(ctx, "1", &Article{ID: 1, Title: "Hello"}); err != nil {
		panic(err)
	}
	for range 3 {
		a, err := store.Get(ctx, "1") // the first from the backend, then from the near cache
		if err != nil {
			panic(err)
		}
		a.Title += "!" // each Get decodes a value of its own
	}
	if err := store.Set(ctx, "1", &Article{ID: 1, Title: "Hello again"}); err != nil {
		panic(err)
	}
	a, err := store.Get(ctx, "1") // the store's own write ended the entry
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Title)
	fmt.Println("hits:", counters.Hits.Load(), "near hits:", counters.NearHits.Load())

	_, err = memcache.NewStore[*Article](shared, memcache.WithNearCache(memcache.NearCacheConfig{TTL: time.Hour}))
	fmt.Println(err)
	// Output:
	// Hello again
	// hits: 4 near hits: 2
	// memcache: NewStore: invalid WithNearCache configuration: TTL 1h0m0s is above MaxNearCacheTTL (1m0s)
}
