// Package obstest holds what the tests of the observability adapters
// share: the benchmark that sets a Store's Get with a recorder beside the
// same Get without one.
package obstest

import (
	"context"
	"math/rand/v2"
	"slices"
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
	client, addr := newClient(b)
	cases := []struct {
		name string
		opts []memcache.Option
	}{{"recorder=none", nil}}
	for _, r := range recs {
		cases = append(cases, struct {
			name string
			opts []memcache.Option
		}{"recorder=" + r.Name, []memcache.Option{memcache.WithRecorder(r.New(addr))}})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			store := newUserStore(b, client, c.opts...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := store.Get(ctx, "alice"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStoreGetInterleaved runs the same Gets as BenchmarkStoreGet,
// but takes turns (see interleave). It reports, for each recorder, the
// mean of the fastest half of its Gets ("NAME-ns/get"), and that over the
// same without a recorder ("NAME-x"). Its ns/op is the time of a round of
// all.
func BenchmarkStoreGetInterleaved(b *testing.B, recs ...Recorder) {
	client, addr := newClient(b)
	ctx := context.Background()
	names := []string{"none"}
	stores := []*memcache.Store[*User]{newUserStore(b, client)}
	for _, r := range recs {
		names = append(names, r.Name)
		stores = append(stores, newUserStore(b, client, memcache.WithRecorder(r.New(addr))))
	}
	gets := make([]func(), len(stores))
	for i, s := range stores {
		gets[i] = func() {
			if _, err := s.Get(ctx, "alice"); err != nil {
				b.Fatal(err)
			}
		}
	}
	took := interleave(b, gets)
	for i, name := range names {
		b.ReportMetric(took[i], name+"-ns/get")
		if i > 0 {
			b.ReportMetric(took[i]/took[0], name+"-x")
		}
	}
}

// BenchmarkCallInterleaved makes BenchmarkCall's recording of a Get that
// hits with each of recs, taking turns (see interleave), and reports the
// mean of the fastest half of each one's ("NAME-ns/call", the clock's two
// reads included). Its ns/op is the time of a round of all.
func BenchmarkCallInterleaved(b *testing.B, recs ...Recorder) {
	calls := make([]func(), len(recs))
	for i, r := range recs {
		calls[i] = HitCall(r.New("127.0.0.1:11211"), benchInfo, "alice")
	}
	took := interleave(b, calls)
	for i, r := range recs {
		b.ReportMetric(took[i], r.Name+"-ns/call")
	}
}

// interleave runs each of fs once per iteration of b, in an order
// shuffled each round, and returns the mean of the fastest half of each
// one's runs, in nanoseconds. Taking turns, so that a machine whose load
// changes from second to second (other work, the memcached server on the
// same cores) weighs on all of them alike; shuffled, so that none always
// follows the same other (and the work that one leaves behind, such as
// an exporter's goroutine to wake). The fastest half is what each adds on
// the calling goroutine: what is paid later and at random, a garbage
// collection of what it allocated or an exporter's work, lands in the
// slower half with the machine's other work, and shows in the
// allocations BenchmarkStoreGet reports instead (a mean of all runs moves
// by 20% and more from run to run on a loaded machine).
func interleave(b *testing.B, fs []func()) []float64 {
	took := make([][]time.Duration, len(fs))
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	shuffle := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			start := time.Now()
			fs[i]()
			took[i] = append(took[i], time.Since(start))
		}
	}
	means := make([]float64, len(fs))
	for i := range took {
		means[i] = fastHalf(took[i])
	}
	return means
}

// fastHalf returns the mean of the fastest half of ds, in nanoseconds:
// the slower half is where the machine's other work lands, at random,
// and a mean of it would move more with that than with a recorder.
func fastHalf(ds []time.Duration) float64 {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	ds = ds[:max(len(ds)/2, 1)]
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	return sum / float64(len(ds))
}

// newClient starts a memcached for b and returns a client of it, and its
// address.
func newClient(b *testing.B) (*memcache.Client, string) {
	mc := memcachetest.NewServer(b)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{mc.Addr}, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return client, mc.Addr
}

// newUserStore returns a store named "users" on client holding alice.
func newUserStore(b *testing.B, client *memcache.Client, opts ...memcache.Option) *memcache.Store[*User] {
	store, err := memcache.NewStore[*User](client, append([]memcache.Option{memcache.WithName("users")}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.Set(context.Background(), "alice", &User{Name: "Alice"}); err != nil {
		b.Fatal(err)
	}
	return store
}

// BenchmarkCall measures what rec costs a Store's Get that hits, without
// the round trip: its StartCall, the hit's Record and its EndCall. Set
// beside BenchmarkStoreGet's round trip, it is the share of a Get that
// recording takes, free of the network's noise.
func BenchmarkCall(b *testing.B, rec memcache.Recorder) {
	call := HitCall(rec, benchInfo, "alice")
	b.ReportAllocs()
	for b.Loop() {
		call()
	}
}

// benchInfo is the Store the benchmarks' recorded calls come from.
var benchInfo = memcache.StoreInfo{Name: "users", Codec: "json"}

// HitCall returns what a Store's Get of key that hits tells rec, as a
// function: its StartCall, the hit's Record and its EndCall, through the
// recorder a Store with info would tell. The adapters' allocation tests
// and BenchmarkCall share it, so that they measure the same call.
func HitCall(rec memcache.Recorder, info memcache.StoreInfo, key string) func() {
	c := memcache.Call{StoreInfo: info, Op: memcache.OpGet, Key: key, Keys: 1}
	hit := memcache.Event{Kind: memcache.EventHit, StoreInfo: info, Op: memcache.OpGet, Count: 1}
	if sr, ok := rec.(memcache.StoreRecorder); ok {
		// As a Store does: prepared once, before its first call.
		rec = sr.ForStore(info)
	}
	return func() {
		ctx := rec.StartCall(context.Background(), c)
		rec.Record(ctx, hit)
		rec.EndCall(ctx, c, 30*time.Microsecond, nil)
	}
}
