package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leancache/leancache/memcache"
)

func ExampleNewEmbedded() {
	ctx := context.Background()
	cache := memcache.NewEmbedded(memcache.EmbeddedConfig{MaxBytes: 8 << 20})

	err := cache.Set(ctx, &memcache.Item{Key: "greeting", Value: []byte("hello"), Expiration: 60})
	fmt.Println("set:", err)
	it, err := cache.Get(ctx, "greeting")
	fmt.Printf("get: %s %v\n", it.Value, err)

	// The same outcomes as memcached: Add of a present key is not stored,
	// a stale CAS token conflicts.
	err = cache.Add(ctx, &memcache.Item{Key: "greeting", Value: []byte("hi")})
	fmt.Println("add:", errors.Is(err, memcache.ErrNotStored))
	it.Value = []byte("hello, world")
	fmt.Println("cas:", cache.CompareAndSwap(ctx, it))
	fmt.Println("cas again:", errors.Is(cache.CompareAndSwap(ctx, it), memcache.ErrCASConflict))

	// And the same limits: the empty key is illegal, and a value over the
	// item size limit is refused before anything is stored.
	_, err = cache.Get(ctx, "")
	fmt.Println(err)
	largest := memcache.MaxValueLen(memcache.DefaultItemSizeMax, "big", 0)
	err = cache.Set(ctx, &memcache.Item{Key: "big", Value: make([]byte, largest+1)})
	fmt.Println("too large:", errors.Is(err, memcache.ErrTooLarge))

	// A done context is honoured like on a real server.
	done, cancel := context.WithTimeout(ctx, -time.Second)
	defer cancel()
	_, err = cache.Get(done, "greeting")
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// set: <nil>
	// get: hello <nil>
	// add: true
	// cas: <nil>
	// cas again: true
	// memcache: get "": malformed key: empty key
	// too large: true
	// true
}

// A Client talks to real memcached servers. This example needs a server, so
// it is compiled but not run.
func ExampleNewClient() {
	client, err := memcache.NewClient(memcache.ClientConfig{
		Servers: []string{"10.0.0.1:11211", "10.0.0.2:11211"},
		Timeout: 200 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// Values must fit the smallest item_size_max among the servers.
	limit, err := client.ItemSizeMax(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("largest value under key \"k\":", memcache.MaxValueLen(limit, "k", 0))
}
