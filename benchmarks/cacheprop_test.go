package benchmarks

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leancache/leancache/cacheprop"
)

// The cacheprop benchmarks put each cell next to the hand-written structure
// it replaces, as sub-benchmarks of one benchmark so that one run shows them
// side by side. The goals they check: a Memo hit allocates nothing and costs
// at most twice a sync.Mutex-guarded map lookup, and a hit of a Memo with a
// TTL (Memo_TTL, which reads the coarse clock) at most 1.5 times a hit of
// an unbounded one (Memo).

// memoBenchKeys is how many distinct keys the hit benchmarks cycle through:
// enough that lookups do not all hit one map slot, few enough to stay in
// cache like a per-instance memo does.
const memoBenchKeys = 256

func memoBenchKeySet() []string {
	keys := make([]string, memoBenchKeys)
	for i := range keys {
		keys[i] = "sku-" + strconv.Itoa(i)
	}
	return keys
}

func memoBenchCompute(k string) int { return len(k) }

// mutexMap is the baseline a Memo replaces: a map guarded by a mutex.
type mutexMap struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *mutexMap) get(k string) int {
	c.mu.Lock()
	v, ok := c.m[k]
	if !ok {
		v = memoBenchCompute(k)
		c.m[k] = v
	}
	c.mu.Unlock()
	return v
}

type rwMutexMap struct {
	mu sync.RWMutex
	m  map[string]int
}

func (c *rwMutexMap) get(k string) int {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok = c.m[k]; !ok {
		v = memoBenchCompute(k)
		c.m[k] = v
	}
	return v
}

// memoBenchSink keeps results alive so the compiler cannot drop the lookups.
var memoBenchSink int

// benchHits runs get over keys, round robin, for b.N iterations. Every case
// calls through a func value, so the indirection costs all of them alike.
func benchHits[T any](b *testing.B, keys []T, get func(T) int) {
	b.ReportAllocs()
	s := 0
	for i := 0; b.Loop(); i++ {
		s += get(keys[i%len(keys)])
	}
	memoBenchSink = s
}

func BenchmarkMemoHit(b *testing.B) {
	keys := memoBenchKeySet()
	memo := func(opts cacheprop.MemoOptions) func(string) int {
		m := new(cacheprop.Memo[string, int])
		m.Configure(opts)
		return func(k string) int { return m.Get(k, memoBenchCompute) }
	}
	cases := []struct {
		name string
		get  func(string) int
	}{
		{"Memo", memo(cacheprop.MemoOptions{})},
		{"Memo_bounded", memo(cacheprop.MemoOptions{MaxEntries: 2 * memoBenchKeys})},
		{"Memo_TTL", memo(cacheprop.MemoOptions{TTL: time.Hour})},
		{"MutexMap", (&mutexMap{m: map[string]int{}}).get},
		{"RWMutexMap", (&rwMutexMap{m: map[string]int{}}).get},
	}
	for _, c := range cases {
		for _, k := range keys {
			c.get(k)
		}
		b.Run(c.name, func(b *testing.B) { benchHits(b, keys, c.get) })
	}
	for _, c := range cases {
		b.Run(c.name+"_parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				s := 0
				for i := 0; pb.Next(); i++ {
					s += c.get(keys[i%memoBenchKeys])
				}
				memoBenchSink = s
			})
		})
	}
}

// BenchmarkMemoHitFewKeys is BenchmarkMemoHit for the common case of an
// instance that memoizes a handful of values, which a Memo finds by scanning
// its recency list instead of keeping a map.
func BenchmarkMemoHitFewKeys(b *testing.B) {
	keys := memoBenchKeySet()[:4]
	m := new(cacheprop.Memo[string, int])
	base := &mutexMap{m: map[string]int{}}
	for _, k := range keys {
		m.Get(k, memoBenchCompute)
		base.get(k)
	}
	b.Run("Memo", func(b *testing.B) {
		benchHits(b, keys, func(k string) int { return m.Get(k, memoBenchCompute) })
	})
	b.Run("MutexMap", func(b *testing.B) { benchHits(b, keys, base.get) })
}

// BenchmarkMemoFirstUse measures what an instance pays the first time it
// memoizes one value: allocations and bytes, Memo field against a
// mutex-guarded map field created on demand.
func BenchmarkMemoFirstUse(b *testing.B) {
	b.Run("Memo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o := new(struct {
				id   int
				memo cacheprop.Memo[string, int]
			})
			memoBenchSink = o.memo.Get("sku-1", memoBenchCompute)
		}
	})
	b.Run("MutexMap", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o := new(struct {
				id   int
				memo mutexMap
			})
			o.memo.m = map[string]int{}
			memoBenchSink = o.memo.get("sku-1")
		}
	})
}

func BenchmarkMemoizeFuncHit(b *testing.B) {
	keys := memoBenchKeySet()
	fetch := func(k string) (int, error) { return memoBenchCompute(k), nil }
	memoized := cacheprop.MemoizeFunc(fetch, cacheprop.MemoOptions{})
	base := &mutexMap{m: map[string]int{}}
	for _, k := range keys {
		_, _ = memoized(k)
		base.get(k)
	}
	b.Run("MemoizeFunc", func(b *testing.B) {
		benchHits(b, keys, func(k string) int { v, _ := memoized(k); return v })
	})
	b.Run("MutexMap", func(b *testing.B) { benchHits(b, keys, base.get) })
}

// weakBenchObject stands for an object a side table attaches values to;
// the name gives it the size of a small real one.
type weakBenchObject struct {
	id   int
	name string
}

func BenchmarkWeakTableGet(b *testing.B) {
	objs := make([]*weakBenchObject, memoBenchKeys)
	var weakTab cacheprop.WeakTable[weakBenchObject, int]
	plain := map[*weakBenchObject]int{}
	locked := &struct {
		mu sync.Mutex
		m  map[*weakBenchObject]int
	}{m: map[*weakBenchObject]int{}}
	for i := range objs {
		objs[i] = &weakBenchObject{id: i, name: "object"}
		weakTab.Set(objs[i], i)
		plain[objs[i]] = i
		locked.m[objs[i]] = i
	}
	cases := []struct {
		name string
		get  func(*weakBenchObject) int
	}{
		{"WeakTable", func(o *weakBenchObject) int { v, _ := weakTab.Get(o); return v }},
		{"MutexMap", func(o *weakBenchObject) int {
			locked.mu.Lock()
			v := locked.m[o]
			locked.mu.Unlock()
			return v
		}},
		{"PlainMap", func(o *weakBenchObject) int { return plain[o] }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchHits(b, objs, c.get) })
	}
}

func BenchmarkLazyHit(b *testing.B) {
	var lazy cacheprop.Lazy[int]
	compute := func() int { return 42 }
	lazy.Get(compute)
	once := sync.OnceValue(compute)
	once()
	// One key: the cells hold a single value.
	none := []struct{}{{}}
	b.Run("Lazy", func(b *testing.B) { benchHits(b, none, func(struct{}) int { return lazy.Get(compute) }) })
	b.Run("OnceValue", func(b *testing.B) { benchHits(b, none, func(struct{}) int { return once() }) })
}
