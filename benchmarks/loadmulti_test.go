package benchmarks

import (
	"context"
	"fmt"
	"testing"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/memcache/meta"
)

// BenchmarkGetOrLoadMulti prices a page of 100 products: one
// GetOrLoadMulti against 100 GetOrLoad calls in a row, side by side, on
// the embedded backend and on loopback memcached through the gomemcache
// Client and memcache/meta's Client. "hits" finds all 100 cached; "37miss"
// finds 63, and loads and stores the 37 others (fresh keys on every
// iteration), with a loader that costs nothing, so the figures are the
// cache's alone.
func BenchmarkGetOrLoadMulti(b *testing.B) {
	srv := memcachetest.NewServer(b)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, MaxIdleConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	metaClient, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = metaClient.Close() })
	ctx := context.Background()
	p := fixtures.ProductOfSize(1 << 10)
	loadOne := func(context.Context) (*fixtures.Product, error) { return p, nil }
	loadMany := func(_ context.Context, keys []string) (map[string]*fixtures.Product, error) {
		out := make(map[string]*fixtures.Product, len(keys))
		for _, k := range keys {
			out[k] = p
		}
		return out, nil
	}
	for _, be := range []struct {
		name string
		b    memcache.Backend
	}{
		{"embedded", memcache.NewEmbedded(memcache.EmbeddedConfig{})},
		{"memcached", client},
		{"meta", metaClient},
	} {
		store, err := memcache.NewStore[*fixtures.Product](be.b, memcache.WithCodec(codec.JSON), memcache.WithNamespace("bench-"+be.name, "1"))
		if err != nil {
			b.Fatal(err)
		}
		cached := make([]string, 100)
		for i := range cached {
			cached[i] = fmt.Sprintf("p%03d", i)
			if err := store.Set(ctx, cached[i], p); err != nil {
				b.Fatal(err)
			}
		}
		round := 0
		// page returns the keys of the next page: the cached ones, or 63 of
		// them and 37 never seen.
		page := func(misses bool) []string {
			if !misses {
				return cached
			}
			round++
			keys := append([]string(nil), cached[:63]...)
			for i := range 37 {
				keys = append(keys, fmt.Sprintf("new-%d-%d", round, i))
			}
			return keys
		}
		for _, c := range []struct {
			name   string
			misses bool
		}{{"hits", false}, {"37miss", true}} {
			b.Run(be.name+"/"+c.name+"/GetOrLoadMulti", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					got, err := store.GetOrLoadMulti(ctx, page(c.misses), loadMany)
					if err != nil || len(got) != 100 {
						b.Fatal(len(got), err)
					}
				}
			})
			b.Run(be.name+"/"+c.name+"/100xGetOrLoad", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					for _, k := range page(c.misses) {
						if _, err := store.GetOrLoad(ctx, k, loadOne); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
