package cacheprop

import (
	"sync"
	"sync/atomic"
)

// Lazy is a compute-once cell for a derived value. Its zero value is an empty
// cell, ready to use; a Lazy field in a struct is a cached property with or
// without a cacheprop tag, so the codecs never write it and leave it empty
// after decoding.
//
// A Lazy may be used by several goroutines at once. It must not be copied
// after first use (go vet reports copies).
type Lazy[T any] struct {
	// v holds the computed value; nil means not computed. The hit path is a
	// single load of v.
	v atomic.Pointer[T]
	// mu serialises computation so concurrent first callers run compute once.
	mu sync.Mutex
}

// Get returns the cell's value, calling compute to produce it if the cell is
// empty. Concurrent callers on an empty cell run compute once and all receive
// its result.
//
// If compute panics, the panic reaches the caller of Get and the cell stays
// empty: the next Get calls compute again. Get must not be called on the same
// cell from within compute.
func (l *Lazy[T]) Get(compute func() T) T {
	if p := l.v.Load(); p != nil {
		return *p
	}
	return l.getSlow(compute)
}

func (l *Lazy[T]) getSlow(compute func() T) T {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.v.Load(); p != nil {
		return *p
	}
	v := compute()
	l.v.Store(&v)
	return v
}

// GetErr is like Get for a computation that can fail. A non-nil error is
// returned to the caller and not cached: the cell stays empty and the next
// call computes again. Concurrent callers wait for the computation in
// progress; if it fails, each of them then tries in turn.
func (l *Lazy[T]) GetErr(compute func() (T, error)) (T, error) {
	if p := l.v.Load(); p != nil {
		return *p, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.v.Load(); p != nil {
		return *p, nil
	}
	v, err := compute()
	if err != nil {
		var zero T
		return zero, err
	}
	l.v.Store(&v)
	return v, nil
}

// Peek returns the cell's value and true if it has been computed or set, and
// the zero value and false otherwise. It never computes.
func (l *Lazy[T]) Peek() (T, bool) {
	if p := l.v.Load(); p != nil {
		return *p, true
	}
	var zero T
	return zero, false
}

// Set stores v in the cell, replacing any value it held.
func (l *Lazy[T]) Set(v T) {
	l.v.Store(&v)
}

// Reset empties the cell, so the next Get computes again. A computation in
// progress at the time of Reset still completes and stores its result.
func (l *Lazy[T]) Reset() {
	l.v.Store(nil)
}

func (*Lazy[T]) cachedProperty() {}
