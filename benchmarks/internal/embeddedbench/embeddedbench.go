// Package embeddedbench is the harness that measures the embedded backend
// beside the in-process caches it is compared with. It lives apart from the
// benchmarks so that the module benchmarks/otter, which alone depends on
// otter, runs the very same cases: the core module keeps its short list of
// dependencies, and the figures of both runs mean the same thing.
package embeddedbench

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/leancache/leancache/memcache"
)

// Cache is one contender: a name and its Get and Set. A Get must return
// memory the caller owns, as a memcache.Backend does, unless the name says
// otherwise.
type Cache struct {
	Name string
	Get  func(key string) ([]byte, bool)
	Set  func(key string, value []byte)
}

// New builds a contender able to hold maxBytes of items, each counted as
// its key, its value and memcached's per-item overhead.
type New func(maxBytes int64) Cache

// Embedded is the contender under test.
func Embedded(maxBytes int64) Cache {
	e := memcache.NewEmbedded(memcache.EmbeddedConfig{MaxBytes: maxBytes})
	ctx := context.Background()
	return Cache{
		Name: "Embedded",
		Get: func(key string) ([]byte, bool) {
			it, err := e.Get(ctx, key)
			if err != nil {
				return nil, false
			}
			return it.Value, true
		},
		Set: func(key string, value []byte) {
			if err := e.Set(ctx, &memcache.Item{Key: key, Value: value}); err != nil {
				panic(err)
			}
		},
	}
}

// MutexMap is the floor: a map under a sync.Mutex, copying values in and
// out as a Backend must, with no bound and no expiry.
func MutexMap(int64) Cache {
	var mu sync.Mutex
	m := map[string][]byte{}
	return Cache{
		Name: "MutexMap",
		Get: func(key string) ([]byte, bool) {
			mu.Lock()
			v, ok := m[key]
			mu.Unlock()
			if !ok {
				return nil, false
			}
			return append([]byte(nil), v...), true
		},
		Set: func(key string, value []byte) {
			v := append([]byte(nil), value...)
			mu.Lock()
			m[key] = v
			mu.Unlock()
		},
	}
}

// ValueSize is the size of the items Get and Set move: 1 KB, a typical
// encoded object.
const ValueSize = 1 << 10

// keyCount is how many distinct keys Get and Set cycle through: more than
// a CPU cache holds (10 MB of values), far less than the default cap.
const keyCount = 10_000

// Goroutines are the concurrency levels measured: one caller, and more
// callers than this machine has cores, as a server has.
var Goroutines = []int{1, 8}

func keys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = "product:" + strconv.Itoa(i)
	}
	return ks
}

// sink keeps results alive so that the compiler cannot drop the calls.
var sink atomic.Int64

// run splits b.N calls of op over g goroutines, each starting at its own
// place in the key space so that they do not walk it in step.
func run(b *testing.B, g int, ks []string, op func(key string) int) {
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / g
	for w := range g {
		n := per
		if w == 0 {
			n += b.N % g
		}
		wg.Go(func() {
			s := 0
			for i := range n {
				s += op(ks[(w*keyCount/g+i)%len(ks)])
			}
			sink.Add(int64(s))
		})
	}
	wg.Wait()
}

// GetSet runs Get and Set of 1 KB items for every contender and concurrency
// level, as sub-benchmarks Get/<goroutines>/<name> and Set/..., so that one
// run shows them side by side.
func GetSet(b *testing.B, contenders ...New) {
	ks := keys(keyCount)
	value := make([]byte, ValueSize)
	for i := range value {
		value[i] = byte(i)
	}
	const maxBytes = 256 << 20 // everything fits: these measure hits
	for _, op := range []string{"Get", "Set"} {
		for _, g := range Goroutines {
			for _, newCache := range contenders {
				c := newCache(maxBytes)
				for _, k := range ks {
					c.Set(k, value)
				}
				b.Run(op+"/"+strconv.Itoa(g)+"/"+c.Name, func(b *testing.B) {
					if op == "Get" {
						run(b, g, ks, func(k string) int {
							v, ok := c.Get(k)
							if !ok {
								b.Errorf("%s: miss on %q", c.Name, k)
							}
							return len(v)
						})
						return
					}
					run(b, g, ks, func(k string) int { c.Set(k, value); return 0 })
				})
			}
		}
	}
}

// SmallItems is how many items the memory benchmark stores.
const SmallItems = 1_000_000

// Memory stores SmallItems small items (keys of up to 15 bytes, values of
// 16) in every contender and reports the live heap they take as
// MB/1M-items: what a million sessions or flags cost. The key strings exist
// before and are kept by reference by every contender, so they are not
// counted; the copies of the values are.
func Memory(b *testing.B, contenders ...New) {
	ks := keys(SmallItems)
	value := make([]byte, 16)
	for _, newCache := range contenders {
		name := newCache(1).Name
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				before := liveHeap()
				c := newCache(1 << 30)
				for _, k := range ks {
					c.Set(k, value)
				}
				after := liveHeap()
				if _, ok := c.Get(ks[0]); !ok {
					b.Fatalf("%s evicted items: the cap is too small", name)
				}
				runtime.KeepAlive(c)
				b.ReportMetric(float64(after-before)/(1<<20)*(1e6/SmallItems), "MB/1M-items")
			}
		})
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
