package cacheprop

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// A PanicError is the value with which [Memo.Get], [Memo.GetErr],
// [Memo.GetContext] and [WeakTable.GetOrCompute] panic in a goroutine that was
// waiting for a computation started by another goroutine, when that
// computation panicked. The goroutine that ran the computation panics with the
// original value instead, so its own trace leads into the computation.
type PanicError struct {
	// Value is the value the computation panicked with.
	Value any
	// Stack is the trace of the goroutine that ran the computation, taken
	// when it panicked: the waiter's own trace would not show the cause.
	Stack []byte
}

// Error reports the panic value and the stack of the computation.
func (p *PanicError) Error() string {
	return fmt.Sprintf("cacheprop: computation panicked: %v\n\n%s", p.Value, p.Stack)
}

// Unwrap returns the panic value if it is an error, so errors.Is and
// errors.As see through the panic.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// errGoexit is the outcome of a computation whose goroutine called
// runtime.Goexit: it has no value, and its waiters compute for themselves.
var errGoexit = errors.New("cacheprop: computation called runtime.Goexit")

// A call is one computation in progress, shared by every caller that asks for
// its key until it ends. done is closed when it ends; val, err and panicked are
// written once before that and only read after it.
type call[V any] struct {
	done     chan struct{}
	val      V
	err      error
	panicked *PanicError
}

func newCall[V any]() *call[V] {
	return &call[V]{done: make(chan struct{})}
}

// run calls fn and records its outcome, calls finish so the owner can store
// or drop the result, then releases the waiters. A panic or runtime.Goexit in
// fn goes on in the calling goroutine once the waiters are released, so that
// neither is swallowed and no waiter hangs.
func (c *call[V]) run(fn func() (V, error), finish func(*call[V])) {
	normalReturn := false
	defer func() {
		if normalReturn {
			return
		}
		// recover returns nil only for runtime.Goexit: since Go 1.21,
		// panic(nil) panics with a *runtime.PanicNilError.
		r := recover()
		if r == nil {
			c.err = errGoexit
		} else {
			c.panicked = &PanicError{Value: r, Stack: debug.Stack()}
		}
		finish(c)
		close(c.done)
		if r != nil {
			panic(r)
		}
	}()
	c.val, c.err = fn()
	normalReturn = true
	finish(c)
	close(c.done)
}

// await waits for c to end or ctx to be done, whichever comes first.
func (c *call[V]) await(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shared gives the outcome of an ended call to a caller that waited for it.
// retry means the caller gets nothing from this call and should compute for
// itself: the computing goroutine exited, or it failed and the caller cannot
// report an error, or it failed because its own context ended while the
// caller's has not.
func (c *call[V]) shared(ctx context.Context, canFail bool) (v V, err error, retry bool) {
	switch {
	case c.panicked != nil:
		panic(c.panicked)
	case c.err == nil:
		return c.val, nil, false
	case c.err == errGoexit, !canFail:
		return v, nil, true
	case ctx.Err() == nil && (errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded)):
		return v, nil, true
	}
	return v, c.err, false
}

// A loader is the compute function of one Get call, in whichever of the three
// forms the caller passed; exactly one field is set. Passing it by value
// rather than as an adapting closure keeps the hit path free of allocation.
type loader[K, V any] struct {
	plain    func(K) V
	fallible func(K) (V, error)
	withCtx  func(context.Context, K) (V, error)
}

func (l loader[K, V]) load(ctx context.Context, key K) (V, error) {
	switch {
	case l.plain != nil:
		return l.plain(key), nil
	case l.fallible != nil:
		return l.fallible(key)
	}
	return l.withCtx(ctx, key)
}

// missing reports whether the caller passed a nil function.
func (l loader[K, V]) missing() bool {
	return l.plain == nil && l.fallible == nil && l.withCtx == nil
}

// canFail reports whether the caller can be handed an error.
func (l loader[K, V]) canFail() bool { return l.plain == nil }
