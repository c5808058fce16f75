package benchmarks

import (
	"context"
	"testing"

	"github.com/leancache/leancache/benchmarks/internal/nearbench"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// BenchmarkNearCache sets a near-cache hit beside a Store Get of the same
// value over loopback memcached (the goal: at least 20x faster),
// for a small flag in msgpack and the 1 KB product in JSON. The near
// cache's TTL is its maximum, so that every Get measured is a hit; with a
// 1 s TTL a key read thousands of times a second pays one round trip a
// second. The two take turns (nearbench.Interleave): read the metric
// memcached/near, not ns/op.
//
// Its twin with otter beside it is in the module benchmarks/otter
// (BenchmarkNearHit), which alone depends on otter.
func BenchmarkNearCache(b *testing.B) {
	srv := memcachetest.NewServer(b)
	nearVsMemcached(b, srv.Addr, nearbench.Flags)
	nearVsMemcached(b, srv.Addr, nearbench.Products)
}

func nearVsMemcached[T any](b *testing.B, addr string, c nearbench.Case[T]) {
	ctx := context.Background()
	open := func(opts ...memcache.Option) *memcache.Store[T] {
		client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{addr}, MaxIdleConns: 8})
		if err != nil {
			b.Fatal(err)
		}
		s, err := memcache.NewStore[T](client, append(opts, memcache.WithCodec(c.Codec))...)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Set(ctx, c.Name, c.Value); err != nil {
			b.Fatal(err)
		}
		return s
	}
	memcached, near := open(), open(memcache.WithNearCache(memcache.NearCacheConfig{TTL: memcache.MaxNearCacheTTL}))
	get := func(s *memcache.Store[T]) func(int) error {
		return func(int) error { _, err := s.Get(ctx, c.Name); return err }
	}
	b.Run(c.Name, func(b *testing.B) {
		nearbench.Interleave(b, 1, nearbench.Contender{Name: "near", Get: get(near)}, nearbench.Contender{Name: "memcached", Get: get(memcached)})
	})
}
