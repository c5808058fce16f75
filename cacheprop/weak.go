package cacheprop

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	"github.com/leancache/leancache/internal/flight"
)

// WeakTable attaches values to objects you cannot add a field to: it maps
// pointers *K to values V while holding each key object weakly, so the table
// never keeps an object alive, and it removes an object's entry once the
// garbage collector has freed the object.
//
// Keys are compared by pointer identity: two distinct objects with equal
// contents have separate entries.
//
// A value that references its key, directly or through other objects, keeps
// the key alive, and with it the entry, for as long as the table lives: the
// table holds values strongly and Go has no ephemerons. Keep such references
// weak (weak.Pointer) or out of V.
//
// An entry is removed some time after its key is freed, when the runtime runs
// the key's cleanup (see runtime.AddCleanup); until then Len counts it. As the
// runtime documents, the cleanup of an object allocated by a package-level
// variable's initializer, or of a tiny pointer-free object (16 bytes or less)
// sharing its allocation with a live one, may never run: key such objects
// elsewhere. K must not be a zero-size type.
//
// The zero WeakTable is empty and ready to use, one pointer in size, and
// allocates nothing until a value is stored. A WeakTable may be used by
// several goroutines at once. It must not be copied after first use.
type WeakTable[K, V any] struct {
	s atomic.Pointer[weakState[K, V]]
}

// weakState is the state of a used WeakTable. Its maps are keyed by the
// key's address rather than by weak.Pointer: making a weak pointer costs
// about twenty map lookups, reading one costs little. The address alone is
// ambiguous, because a freed key's address can be reused before its cleanup
// has removed its entry, so each entry keeps the weak pointer of its key and
// counts only if that pointer still leads to the key asked for.
type weakState[K, V any] struct {
	mu    sync.Mutex // guards the fields below
	items map[uintptr]weakEntry[K, V]
	// calls are the computations in progress. The computing goroutine holds
	// the key, so an address here always belongs to a live key.
	calls map[uintptr]*flight.Call[*K, V]
	// peak is the largest len(items) since the map was last rebuilt: Go maps
	// never shrink, so after mass removals the map is copied to a smaller one.
	peak int
	self weak.Pointer[weakState[K, V]] // for cleanup arguments; set on first store
}

type weakEntry[K, V any] struct {
	key     weak.Pointer[K]
	val     V
	cleanup runtime.Cleanup // removes the entry when the key is freed
}

// weakCleanupArg is what a key's cleanup needs to find its entry. It holds the
// table state weakly too, so that a dropped table is freed at once rather than
// when the last of its keys is.
type weakCleanupArg[K, V any] struct {
	state weak.Pointer[weakState[K, V]]
	key   weak.Pointer[K]
	addr  uintptr
}

// shrinkFloor is the map size below which removals never rebuild the map:
// copying a small map saves too little to be worth it.
const shrinkFloor = 64

func (t *WeakTable[K, V]) state() *weakState[K, V] {
	for {
		if s := t.s.Load(); s != nil {
			return s
		}
		if t.s.CompareAndSwap(nil, new(weakState[K, V])) {
			return t.s.Load()
		}
	}
}

// Get returns the value stored for key and true, or the zero V and false if
// there is none.
func (t *WeakTable[K, V]) Get(key *K) (v V, ok bool) {
	s := t.s.Load()
	if s == nil || key == nil {
		return v, false
	}
	s.mu.Lock()
	e, ok := s.lookup(key)
	s.mu.Unlock()
	return e.val, ok
}

// Set stores v for key, replacing any value it had. A computation for key in
// progress in GetOrCompute still returns its result to its callers but does
// not replace v. Set panics if key is nil.
func (t *WeakTable[K, V]) Set(key *K, v V) {
	checkWeakKey(key)
	s := t.state()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.calls, addrOf(key))
	s.store(key, v)
}

// GetOrCompute returns the value stored for key, calling compute(key) to
// produce and store it if there is none. Concurrent callers for one key run
// compute once and all receive its result.
//
// If compute panics, GetOrCompute panics with the same value in the goroutine
// that called compute, and with a [*PanicError] holding that value in every
// goroutine that was waiting for it; nothing is stored. compute must not call
// methods of t for the same key. GetOrCompute panics if key is nil.
func (t *WeakTable[K, V]) GetOrCompute(key *K, compute func(*K) V) V {
	checkWeakKey(key)
	if compute == nil {
		panic("cacheprop: WeakTable: nil compute function")
	}
	s := t.state()
	addr := addrOf(key)
	s.mu.Lock()
	for {
		if e, ok := s.lookup(key); ok {
			s.mu.Unlock()
			return e.val
		}
		if c := s.calls[addr]; c != nil {
			done := c.Wait()
			s.mu.Unlock()
			<-done
			v, _, retry := c.Shared(context.Background(), false)
			if !retry {
				return v
			}
			s.mu.Lock()
			continue
		}
		c := &flight.Call[*K, V]{Key: key}
		if s.calls == nil {
			s.calls = make(map[uintptr]*flight.Call[*K, V])
		}
		s.calls[addr] = c
		s.mu.Unlock()
		c.Run(context.Background(), s, flight.Loader[*K, V]{Plain: compute})
		return c.Val
	}
}

// Finish stores the outcome of c if it succeeded and c is still the
// computation of record for its key, and ends c.
func (s *weakState[K, V]) Finish(c *flight.Call[*K, V]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer c.End()
	addr := addrOf(c.Key)
	if s.calls[addr] != c {
		return // Set or Delete overrode it
	}
	delete(s.calls, addr)
	if len(s.calls) == 0 {
		s.calls = nil
	}
	if c.Err == nil && c.Panicked == nil {
		s.store(c.Key, c.Val)
	}
}

// Delete removes the entry for key, if any. A computation for key in
// progress still returns its result to its callers but does not store it.
func (t *WeakTable[K, V]) Delete(key *K) {
	s := t.s.Load()
	if s == nil || key == nil {
		return
	}
	addr := addrOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.calls, addr)
	if e, ok := s.lookup(key); ok {
		// The key is alive (the caller holds it), so its cleanup has not
		// been queued and Stop keeps it from firing later.
		e.cleanup.Stop()
		s.remove(addr)
	}
}

// Len returns the number of entries, including those whose key has been
// freed but whose cleanup has not run yet.
func (t *WeakTable[K, V]) Len() int {
	s := t.s.Load()
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

func checkWeakKey[K any](key *K) {
	if key == nil {
		panic("cacheprop: WeakTable: nil key")
	}
	if unsafe.Sizeof(*key) == 0 {
		// Zero-size objects may all share one address, so neither a weak
		// pointer nor a cleanup can tell them apart or see them freed.
		panic("cacheprop: WeakTable: zero-size key type")
	}
}

func addrOf[K any](key *K) uintptr { return uintptr(unsafe.Pointer(key)) }

// lookup returns the entry of key, if it has one. s.mu must be held.
func (s *weakState[K, V]) lookup(key *K) (weakEntry[K, V], bool) {
	e, ok := s.items[addrOf(key)]
	if ok && e.key.Value() != key {
		// The entry belongs to a freed object whose address key now has;
		// its cleanup will remove it.
		return weakEntry[K, V]{}, false
	}
	return e, ok
}

// store sets the value for key, registering the cleanup that removes the
// entry when key is freed unless key has an entry, and so a cleanup, already.
// s.mu must be held.
func (s *weakState[K, V]) store(key *K, v V) {
	addr := addrOf(key)
	if e, ok := s.lookup(key); ok {
		e.val = v
		s.items[addr] = e
		return
	}
	if s.items == nil {
		s.items = make(map[uintptr]weakEntry[K, V])
	}
	if s.self == (weak.Pointer[weakState[K, V]]{}) {
		s.self = weak.Make(s)
	}
	// Any entry at addr is a freed object's: overwriting it is what its
	// cleanup would do, and the cleanup, seeing another key there, leaves
	// this one alone.
	wk := weak.Make(key)
	arg := weakCleanupArg[K, V]{state: s.self, key: wk, addr: addr}
	s.items[addr] = weakEntry[K, V]{key: wk, val: v, cleanup: runtime.AddCleanup(key, removeWeakEntry[K, V], arg)}
	s.peak = max(s.peak, len(s.items))
}

// remove deletes the entry at addr, rebuilding the map once it has shrunk to
// a quarter of its peak. s.mu must be held.
func (s *weakState[K, V]) remove(addr uintptr) {
	delete(s.items, addr)
	switch n := len(s.items); {
	case n == 0:
		s.items, s.peak = nil, 0
	case s.peak >= shrinkFloor && n <= s.peak/4:
		m := make(map[uintptr]weakEntry[K, V], n)
		for k, e := range s.items {
			m[k] = e
		}
		s.items, s.peak = m, n
	}
}

// removeWeakEntry is the cleanup of a key: it runs once the key is freed.
func removeWeakEntry[K, V any](arg weakCleanupArg[K, V]) {
	s := arg.state.Value()
	if s == nil {
		return // the table went first
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.items[arg.addr]; ok && e.key == arg.key {
		s.remove(arg.addr)
	}
}
