package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leancache/leancache/memcache"
)

func ExampleStore_GetOrLoadMulti() {
	ctx := context.Background()
	store, err := memcache.NewStore[*Article](nil)
	if err != nil {
		panic(err)
	}
	if err := store.Set(ctx, "1", &Article{ID: 1, Title: "Cached"}); err != nil {
		panic(err)
	}
	// One query for all the keys that missed, as `WHERE id IN (...)`
	// would; id 3 has no row.
	load := func(ctx context.Context, ids []string) (map[string]*Article, error) {
		fmt.Println("load", ids)
		rows := map[string]*Article{}
		for _, id := range ids {
			if id != "3" {
				rows[id] = &Article{Title: "Loaded " + id}
			}
		}
		return rows, nil
	}
	got, err := store.GetOrLoadMulti(ctx, []string{"1", "2", "3", "4"}, load)
	if err != nil {
		panic(err)
	}
	for _, id := range slices.Sorted(maps.Keys(got)) {
		fmt.Println(id, got[id].Title)
	}
	// Output:
	// load [2 3 4]
	// 1 Cached
	// 2 Loaded 2
	// 4 Loaded 4
}

func ExampleTTL() {
	ctx := context.Background()
	store, err := memcache.NewStore[string](nil, memcache.WithExpiration(time.Hour))
	if err != nil {
		panic(err)
	}
	// A one-time code lives five minutes, whatever the store's default.
	if err := store.Set(ctx, "otp:ada", "492113", memcache.TTL(5*time.Minute)); err != nil {
		panic(err)
	}
	code, err := store.Get(ctx, "otp:ada")
	fmt.Println(code, err)
	// Output:
	// 492113 <nil>
}

func ExampleWithNegativeTTL() {
	ctx := context.Background()
	store, err := memcache.NewStore[*Article](nil, memcache.WithNegativeTTL(30*time.Second))
	if err != nil {
		panic(err)
	}
	queries := 0
	load := func(ctx context.Context) (*Article, error) {
		queries++
		return nil, fmt.Errorf("articles: id 404: %w", memcache.ErrNotFound)
	}
	for range 3 {
		_, err := store.GetOrLoad(ctx, "404", load)
		fmt.Println("not found:", errors.Is(err, memcache.ErrNotFound))
	}
	fmt.Println("queries:", queries)
	// Output:
	// not found: true
	// not found: true
	// not found: true
	// queries: 1
}

func ExampleWithTTLJitter() {
	// Values written together (a cache warmed at deploy) expire over the
	// last 10% of their hour instead of in the same second.
	_, err := memcache.NewStore[string](nil, memcache.WithExpiration(time.Hour), memcache.WithTTLJitter(0.1))
	fmt.Println(err)
	_, err = memcache.NewStore[string](nil, memcache.WithTTLJitter(1.5))
	fmt.Println(errors.Is(err, memcache.ErrInvalidOption))
	// Output:
	// <nil>
	// true
}
