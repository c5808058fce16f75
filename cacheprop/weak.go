package cacheprop

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"
)

// WeakTable attaches values to objects you cannot add a field to: it maps
// pointers *K to values V while holding each key object weakly, so the table
// never keeps an object alive, and it removes an object's entry once the
// garbage collector has freed the object.
//
// Keys are compared by pointer identity: two distinct objects with equal
// contents have separate entries, and pointers to different fields of one
// object are different keys.
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

type weakState[K, V any] struct {
	mu    sync.Mutex // guards the fields below
	items map[weak.Pointer[K]]weakEntry[V]
	calls map[weak.Pointer[K]]*call[V] // computations in progress
	// peak is the largest len(items) since the map was last rebuilt: Go maps
	// never shrink, so after mass removals the map is copied to a smaller one.
	peak int
}

type weakEntry[V any] struct {
	val     V
	cleanup runtime.Cleanup // removes the entry when the key is freed
}

// weakCleanupArg is what a key's cleanup needs to find its entry. It holds the
// table state weakly too, so that a dropped table is freed at once rather than
// when the last of its keys is.
type weakCleanupArg[K, V any] struct {
	state weak.Pointer[weakState[K, V]]
	key   weak.Pointer[K]
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
	wk := weak.Make(key)
	s.mu.Lock()
	e, ok := s.items[wk]
	s.mu.Unlock()
	return e.val, ok
}

// Set stores v for key, replacing any value it had. A computation for key in
// progress in GetOrCompute still returns its result to its callers but does
// not replace v. Set panics if key is nil.
func (t *WeakTable[K, V]) Set(key *K, v V) {
	checkWeakKey(key)
	s := t.state()
	wk := weak.Make(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.calls, wk)
	s.store(key, wk, v)
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
	wk := weak.Make(key)
	s.mu.Lock()
	for {
		if e, ok := s.items[wk]; ok {
			s.mu.Unlock()
			return e.val
		}
		if c := s.calls[wk]; c != nil {
			s.mu.Unlock()
			<-c.done
			v, _, retry := c.shared(context.Background(), false)
			if !retry {
				return v
			}
			s.mu.Lock()
			continue
		}
		c := newCall[V]()
		if s.calls == nil {
			s.calls = make(map[weak.Pointer[K]]*call[V])
		}
		s.calls[wk] = c
		s.mu.Unlock()
		c.run(func() (V, error) { return compute(key), nil }, func(c *call[V]) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.calls[wk] != c {
				return // Set or Delete overrode it
			}
			delete(s.calls, wk)
			if c.err == nil && c.panicked == nil {
				s.store(key, wk, c.val)
			}
		})
		return c.val
	}
}

// Delete removes the entry for key, if any. A computation for key in
// progress still returns its result to its callers but does not store it.
func (t *WeakTable[K, V]) Delete(key *K) {
	s := t.s.Load()
	if s == nil || key == nil {
		return
	}
	wk := weak.Make(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.calls, wk)
	if e, ok := s.items[wk]; ok {
		// The key is alive (the caller holds it), so its cleanup has not
		// been queued and Stop keeps it from firing later.
		e.cleanup.Stop()
		s.remove(wk)
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

// store sets the value for key, registering the cleanup that removes the
// entry when key is freed unless an entry, and so a cleanup, exists already.
// s.mu must be held.
func (s *weakState[K, V]) store(key *K, wk weak.Pointer[K], v V) {
	if e, ok := s.items[wk]; ok {
		e.val = v
		s.items[wk] = e
		return
	}
	if s.items == nil {
		s.items = make(map[weak.Pointer[K]]weakEntry[V])
	}
	arg := weakCleanupArg[K, V]{state: weak.Make(s), key: wk}
	s.items[wk] = weakEntry[V]{val: v, cleanup: runtime.AddCleanup(key, removeWeakEntry[K, V], arg)}
	s.peak = max(s.peak, len(s.items))
}

// remove deletes the entry for wk, rebuilding the map once it has shrunk to
// a quarter of its peak. s.mu must be held.
func (s *weakState[K, V]) remove(wk weak.Pointer[K]) {
	delete(s.items, wk)
	switch n := len(s.items); {
	case n == 0:
		s.items, s.peak = nil, 0
	case s.peak >= shrinkFloor && n <= s.peak/4:
		m := make(map[weak.Pointer[K]]weakEntry[V], n)
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
	if _, ok := s.items[arg.key]; ok {
		s.remove(arg.key)
	}
}
