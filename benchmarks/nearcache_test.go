package benchmarks

import (
	"context"
	"testing"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// BenchmarkNearCache sets a near-cache hit beside a Store Get of the same
// value over loopback memcached (the goal: at least 20x faster),
// one caller and as many as the machine runs in parallel. The near cache's
// TTL is its maximum, so that every Get measured is a hit; with a 1 s TTL
// a key read thousands of times a second pays one round trip a second.
//
// Its twin with otter beside it is in the module benchmarks/otter
// (BenchmarkNearHit), which alone depends on otter.
func BenchmarkNearCache(b *testing.B) {
	srv := memcachetest.NewServer(b)
	ctx := context.Background()
	p := fixtures.ProductOfSize(1 << 10)
	open := func(opts ...memcache.Option) *memcache.Store[*fixtures.Product] {
		client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, MaxIdleConns: 8})
		if err != nil {
			b.Fatal(err)
		}
		s, err := memcache.NewStore[*fixtures.Product](client, append(opts, memcache.WithCodec(codec.JSON))...)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Set(ctx, "bench-near", p); err != nil {
			b.Fatal(err)
		}
		return s
	}
	stores := []struct {
		name  string
		store *memcache.Store[*fixtures.Product]
	}{
		{"memcached", open()},
		{"near", open(memcache.WithNearCache(memcache.NearCacheConfig{TTL: memcache.MaxNearCacheTTL}))},
	}
	for _, s := range stores {
		b.Run("get/1KB/"+s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.store.Get(ctx, "bench-near"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, s := range stores {
		b.Run("get-parallel/1KB/"+s.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.store.Get(ctx, "bench-near"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
