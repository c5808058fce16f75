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
// its key until it ends.
//
// Until the call ends, done is guarded by the owner's mutex, and val, err
// and panicked belong to the computing goroutine; after, all are read-only.
type call[K, V any] struct {
	key K
	// done is made by the first waiter, since most calls have none, and
	// closed when the call ends.
	done     chan struct{}
	val      V
	err      error
	panicked *PanicError
}

// A callOwner is the table a call belongs to.
type callOwner[K, V any] interface {
	// finish takes the owner's lock, stores the outcome of c if c is still
	// the computation of record for its key, and calls c.end.
	finish(c *call[K, V])
}

// run computes, records the outcome, and has the owner finish the call. A
// panic or runtime.Goexit in the computation goes on in the calling goroutine
// once the call is finished, so that neither is swallowed and no waiter
// hangs. The computation is passed in rather than kept in c so that it does
// not escape: a compute function that escaped would cost its caller an
// allocation on every Get, hits included.
func (c *call[K, V]) run(ctx context.Context, o callOwner[K, V], ld loader[K, V]) {
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
		o.finish(c)
		if r != nil {
			panic(r)
		}
	}()
	c.val, c.err = ld.load(ctx, c.key)
	normalReturn = true
	o.finish(c)
}

// end releases the waiters of c. The owner's mutex must be held.
func (c *call[K, V]) end() {
	if c.done != nil {
		close(c.done)
	}
}

// wait returns a channel that is closed when c ends. The owner's mutex must
// be held.
func (c *call[K, V]) wait() <-chan struct{} {
	if c.done == nil {
		c.done = make(chan struct{})
	}
	return c.done
}

// shared gives the outcome of an ended call to a caller that waited for it.
// retry means the caller gets nothing from this call and should compute for
// itself: the computing goroutine exited, or it failed and the caller cannot
// report an error, or it failed because its own context ended while the
// caller's has not.
func (c *call[K, V]) shared(ctx context.Context, canFail bool) (v V, err error, retry bool) {
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

// canFail reports whether the caller can be handed an error.
func (l loader[K, V]) canFail() bool { return l.plain == nil }
