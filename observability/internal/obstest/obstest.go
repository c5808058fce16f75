// Package obstest holds what the tests of the observability adapters
// share: the benchmark that sets a Store's Get with a recorder beside the
// same Get without one.
package obstest

import (
	"context"
	"testing"
	"time"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// User is the value the benchmark stores.
type User struct {
	Name string `json:"name"`
}

// A Recorder is a recorder for BenchmarkStoreGet: its name, and how to
// make it for a server's address.
type Recorder struct {
	Name string
	New  func(addr string) memcache.Recorder
}

// BenchmarkStoreGet runs a Store's Get of one small value on a real
// memcached round trip as sub-benchmarks side by side: recorder=none, then
// recorder=NAME for each of recs (compare them with benchstat).
func BenchmarkStoreGet(b *testing.B, recs ...Recorder) {
	mc := memcachetest.NewServer(b)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{mc.Addr}, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		opts []memcache.Option
	}{{"recorder=none", nil}}
	for _, r := range recs {
		cases = append(cases, struct {
			name string
			opts []memcache.Option
		}{"recorder=" + r.Name, []memcache.Option{memcache.WithRecorder(r.New(mc.Addr))}})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			store, err := memcache.NewStore[*User](client, append([]memcache.Option{memcache.WithName("users")}, c.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := store.Set(ctx, "alice", &User{Name: "Alice"}); err != nil {
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

// BenchmarkCall measures what rec costs a Store's Get that hits, without
// the round trip: its StartCall, the hit's Record and its EndCall. Set
// beside BenchmarkStoreGet's round trip, it is the share of a Get that
// recording takes, free of the network's noise.
func BenchmarkCall(b *testing.B, rec memcache.Recorder) {
	info := memcache.StoreInfo{Name: "users", Codec: "json"}
	c := memcache.Call{StoreInfo: info, Op: memcache.OpGet, Key: "alice", Keys: 1}
	hit := memcache.Event{Kind: memcache.EventHit, StoreInfo: info, Op: memcache.OpGet, Count: 1}
	if sr, ok := rec.(memcache.StoreRecorder); ok {
		// As a Store does: prepared once, before its first call.
		rec = sr.ForStore(info)
	}
	b.ReportAllocs()
	for b.Loop() {
		ctx := rec.StartCall(context.Background(), c)
		rec.Record(ctx, hit)
		rec.EndCall(ctx, c, 30*time.Microsecond, nil)
	}
}
