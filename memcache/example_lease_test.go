package memcache_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/leancache/leancache/memcache"
)

// A middleware sees every backend call of a store, the lease calls of
// GetOrLoad included: on a backend with leases (the embedded one here,
// memcache/meta's Client on memcached) a miss is a lease read that misses,
// then the shared load's lease read, which wins the key's lease, then the
// winner's write; a hit is one lease read.
func ExampleMiddleware() {
	ctx := context.Background()
	logOps := func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
			resp, err := next(ctx, req)
			switch {
			case errors.Is(err, memcache.ErrCacheMiss):
				fmt.Println(req.Op, "miss")
			case req.Op == memcache.OpGetLease && resp.Lease.Won:
				fmt.Println(req.Op, "won")
			default:
				fmt.Println(req.Op)
			}
			return resp, err
		}
	}
	store, err := memcache.NewStore[string](memcache.NewEmbedded(memcache.EmbeddedConfig{}), memcache.WithMiddleware(logOps))
	if err != nil {
		panic(err)
	}
	load := func(context.Context) (string, error) { return "loaded", nil }
	for range 2 {
		v, err := store.GetOrLoad(ctx, "k", load)
		fmt.Println(v, err)
	}
	// Output:
	// getlease miss
	// getlease won
	// set
	// loaded <nil>
	// getlease
	// loaded <nil>
}
