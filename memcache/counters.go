package memcache

import (
	"slices"
	"sync"
	"sync/atomic"
)

// storeCounters are the Counters a Store reports its own events to (schema
// misses, size-guard rejections, chunked reads, writes and misses, values
// over the read budget): those given to WithCounters, and those whose
// Middleware its requests have passed through, however they were attached.
// A Counters met for the first time is credited with the events the store
// counted before, so that it holds the same counts whichever way it was
// wired, even for a write refused before the store's first request.
type storeCounters struct {
	mu   sync.Mutex                  // serializes join and count
	own  Counters                    // the store's events so far
	list atomic.Pointer[[]*Counters] // read without mu on every request
}

// join adds c, crediting it with the events counted so far.
func (sc *storeCounters) join(c *Counters) {
	if l := sc.list.Load(); l != nil && slices.Contains(*l, c) {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var l []*Counters
	if p := sc.list.Load(); p != nil {
		if slices.Contains(*p, c) {
			return
		}
		l = *p
	}
	for _, f := range storeEvents {
		f(c).Add(f(&sc.own).Load())
	}
	l = append(slices.Clip(l), c)
	sc.list.Store(&l)
}

// count adds one event, the field of Counters event selects, to the store's
// own counts and to every Counters it has met.
func (sc *storeCounters) count(event func(*Counters) *atomic.Int64) { sc.add(event, 1) }

// add is count of n events at once.
func (sc *storeCounters) add(event func(*Counters) *atomic.Int64, n int64) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	event(&sc.own).Add(n)
	if l := sc.list.Load(); l != nil {
		for _, c := range *l {
			event(c).Add(n)
		}
	}
}

// The store's own events, one selector each.
var (
	schemaMisses  = func(c *Counters) *atomic.Int64 { return &c.SchemaMisses }
	rejected      = func(c *Counters) *atomic.Int64 { return &c.Rejected }
	chunkedWrites = func(c *Counters) *atomic.Int64 { return &c.ChunkedWrites }
	chunkedReads  = func(c *Counters) *atomic.Int64 { return &c.ChunkedReads }
	chunkMisses   = func(c *Counters) *atomic.Int64 { return &c.ChunkMisses }
	overBudget    = func(c *Counters) *atomic.Int64 { return &c.OverBudget }
	foreignKept   = func(c *Counters) *atomic.Int64 { return &c.ForeignKept }
	nearHits      = func(c *Counters) *atomic.Int64 { return &c.NearHits }

	storeEvents = []func(*Counters) *atomic.Int64{schemaMisses, rejected, chunkedWrites, chunkedReads, chunkMisses, overBudget, foreignKept, nearHits}
)
