package promcache_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/observability/promcache"
)

// BenchmarkStoreGet compares a Store's Get on a memcached round trip
// without a recorder and with this package's, side by side (compare with
// benchstat; the goal is within 5%).
func BenchmarkStoreGet(b *testing.B) {
	mc := memcachetest.NewServer(b)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{mc.Addr}, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	rec, err := promcache.New(prometheus.NewRegistry(), promcache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts []memcache.Option
	}{
		{"recorder=none", nil},
		{"recorder=prometheus", []memcache.Option{memcache.WithRecorder(rec)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			store, err := memcache.NewStore[*user](client, append([]memcache.Option{memcache.WithName("users")}, c.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := store.Set(ctx, "alice", &user{Name: "Alice"}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := store.Get(ctx, "alice"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
