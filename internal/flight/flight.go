// Package flight runs one computation per key at a time and shares its
// outcome with every caller that asks for the key meanwhile: the
// singleflight behind cacheprop's Memo, WeakTable and MemoizeFunc and
// memcache's Store.GetOrLoad, so that all of them keep one contract.
//
// # The contract
//
//   - One computation per key at a time. A caller that asks for a key while
//     its computation runs waits for it instead of starting another. A
//     table that stores outcomes must look the key up again when it claims
//     it (Memo's claim, WeakTable's loop, GetOrLoad's second read inside
//     the shared load): a call forgets its key when it ends, and a caller
//     that missed just before another's computation stored its value must
//     get that value, not compute it again.
//   - The zero value with every error: a computation that returns a value
//     together with an error hands out the zero value and the error, never
//     the value ([Loader.Load] drops it).
//   - Panics are passed on, never swallowed and never hanging a waiter. A
//     computation run in its caller's goroutine ([Call.Run]) panics there
//     with the original value, so the trace leads into it; every goroutine
//     that waited for it panics with a [*PanicError] holding the value and
//     the computing goroutine's stack, which unwraps to the value when the
//     value is an error. A detached computation ([Group]) has no caller
//     goroutine of its own: every caller panics with the *PanicError.
//   - runtime.Goexit is handled: the call ends without an outcome. Waiters
//     of a Call compute for themselves ([Call.Shared] says retry); callers
//     of a Group get [ErrGoexit], since computing again in a detached
//     goroutine would exit again.
//   - Each caller waits only as long as its own context allows. A Call runs
//     in its first caller's goroutine with that caller's context: if it
//     fails because that context ended, a waiter whose own context is live
//     computes for itself rather than receive someone else's cancellation
//     ([Call.Shared]). A Group's load runs detached, with its first
//     caller's values but not its cancellation, so a caller that gives up
//     leaves it running for the others; and it can be bounded
//     ([Group.Do]'s timeout): its context gets the deadline, and when the
//     deadline passes the call ends for its key with an error wrapping
//     [ErrTimeout] and context.DeadlineExceeded, so that later callers
//     start afresh even if the load never returns.
package flight

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// A PanicError is the value a goroutine panics with when the computation it
// waited for panicked (cacheprop exports it as cacheprop.PanicError).
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

// ErrGoexit is the outcome of a computation whose goroutine called
// runtime.Goexit: it has no value.
var ErrGoexit = errors.New("the computation called runtime.Goexit")

// ErrTimeout is wrapped, with context.DeadlineExceeded, by the error
// [Group.Do] returns when a load's timeout passes.
var ErrTimeout = errors.New("load timed out")

// A Call is one computation in progress, shared by every caller that asks
// for its key until it ends. Its owner (a table, or a [Group]) keeps its
// calls by key under a mutex of its own.
//
// Until the call ends, done is guarded by the owner's mutex, and Val, Err
// and Panicked belong to the computing goroutine; after, all are read-only.
type Call[K, V any] struct {
	Key K
	// done is made by the first waiter, since most calls have none, and
	// closed when the call ends.
	done     chan struct{}
	Val      V
	Err      error
	Panicked *PanicError
}

// An Owner is the table a call belongs to.
type Owner[K, V any] interface {
	// Finish takes the owner's lock, stores the outcome of c if c is still
	// the computation of record for its key, and calls c.End.
	Finish(c *Call[K, V])
}

// Run computes in the calling goroutine, records the outcome, and has the
// owner finish the call. A panic or runtime.Goexit in the computation goes
// on in the calling goroutine once the call is finished, so that neither is
// swallowed and no waiter hangs. The computation is passed in rather than
// kept in c so that it does not escape: a compute function that escaped
// would cost its caller an allocation on every Get, hits included.
func (c *Call[K, V]) Run(ctx context.Context, o Owner[K, V], ld Loader[K, V]) {
	c.run(ctx, o, ld, true)
}

// run is Run; repanic says whether a panic goes on in the calling goroutine
// (Run) or ends with the call (a Group's detached goroutine, where a panic
// nobody can recover would crash the process).
func (c *Call[K, V]) run(ctx context.Context, o Owner[K, V], ld Loader[K, V], repanic bool) {
	normalReturn := false
	defer func() {
		if normalReturn {
			return
		}
		// recover returns nil only for runtime.Goexit: since Go 1.21,
		// panic(nil) panics with a *runtime.PanicNilError.
		r := recover()
		if r == nil {
			c.Err = ErrGoexit
		} else {
			c.Panicked = &PanicError{Value: r, Stack: debug.Stack()}
		}
		o.Finish(c)
		if r != nil && repanic {
			panic(r)
		}
	}()
	c.Val, c.Err = ld.Load(ctx, c.Key)
	normalReturn = true
	o.Finish(c)
}

// End releases the waiters of c. The owner's mutex must be held.
func (c *Call[K, V]) End() {
	if c.done != nil {
		close(c.done)
	}
}

// Wait returns a channel that is closed when c ends. The owner's mutex must
// be held.
func (c *Call[K, V]) Wait() <-chan struct{} {
	if c.done == nil {
		c.done = make(chan struct{})
	}
	return c.done
}

// Shared gives the outcome of an ended call to a caller that waited for it.
// retry means the caller gets nothing from this call and should compute for
// itself: the computing goroutine exited, or it failed and the caller cannot
// report an error, or it failed because its own context ended while the
// caller's has not.
func (c *Call[K, V]) Shared(ctx context.Context, canFail bool) (v V, err error, retry bool) {
	switch {
	case c.Panicked != nil:
		panic(c.Panicked)
	case c.Err == nil:
		return c.Val, nil, false
	case c.Err == ErrGoexit, !canFail:
		return v, nil, true
	case ctx.Err() == nil && (errors.Is(c.Err, context.Canceled) || errors.Is(c.Err, context.DeadlineExceeded)):
		return v, nil, true
	}
	return v, c.Err, false
}

// A Loader is the compute function of one call, in whichever of the three
// forms the caller passed; exactly one field is set. Passing it by value
// rather than as an adapting closure keeps the hit path free of allocation.
type Loader[K, V any] struct {
	Plain    func(K) V
	Fallible func(K) (V, error)
	WithCtx  func(context.Context, K) (V, error)
}

// Load calls the compute function that is set. A value returned with an
// error is dropped: the zero value with every error.
func (l Loader[K, V]) Load(ctx context.Context, key K) (v V, err error) {
	switch {
	case l.Plain != nil:
		return l.Plain(key), nil
	case l.Fallible != nil:
		v, err = l.Fallible(key)
	default:
		v, err = l.WithCtx(ctx, key)
	}
	if err != nil {
		var zero V
		return zero, err
	}
	return v, nil
}

// CanFail reports whether the caller can be handed an error.
func (l Loader[K, V]) CanFail() bool { return l.Plain == nil }

// A Group runs one load per key at a time, each on a goroutine of its own,
// detached from its callers: a caller that gives up does not cancel the
// work the others wait for, and the load's context carries the starting
// caller's values but not its cancellation. It stores nothing: a load that
// fills a cache stores its value itself, and reads the cache again first
// (see the package's contract).
//
// The zero Group is ready to use. A Group must not be copied after first
// use.
type Group[K comparable, V any] struct {
	mu sync.Mutex // protects m
	m  map[K]*groupCall[K, V]
}

// A groupCall is a Call of a Group with the deadline of its load.
type groupCall[K, V any] struct {
	Call[K, V]
	// expired is closed when the load's timeout passes, nil without one.
	expired <-chan struct{}
	timeout time.Duration
}

// Do returns the outcome of load for key: of a load in progress for key if
// there is one, else of a new one it starts. It returns when the load ends,
// when ctx is done (with ctx.Err()), or, if timeout is positive, when the
// load's timeout passes: then the load's context is done too, the call ends
// for key, and Do returns an error wrapping [ErrTimeout] and
// context.DeadlineExceeded, so that later callers start a new load even if
// this one never returns (its goroutine lives until it does). A later
// caller's timeout applies only to a load it starts. Every error comes with
// the zero value. If load panics, Do panics with a [*PanicError] in every
// caller; if it calls runtime.Goexit, Do returns [ErrGoexit].
func (g *Group[K, V]) Do(ctx context.Context, key K, timeout time.Duration, load func(context.Context) (V, error)) (V, error) {
	g.mu.Lock()
	c := g.m[key]
	if c == nil || c.hasExpired() {
		c = g.start(ctx, key, timeout, load)
	}
	done := c.Wait()
	g.mu.Unlock()
	return c.wait(ctx, done)
}

// wait returns the outcome of c for a caller whose ctx bounds the wait, as
// Do states it; done is c.Wait(), taken under the group's mutex.
func (c *groupCall[K, V]) wait(ctx context.Context, done <-chan struct{}) (V, error) {
	var zero V
	select {
	case <-done:
	case <-c.expired:
		select {
		case <-done: // it ended as the deadline passed: take its outcome
		default:
			return zero, fmt.Errorf("%w after %v: %w", ErrTimeout, c.timeout, context.DeadlineExceeded)
		}
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	switch {
	case c.Panicked != nil:
		panic(c.Panicked)
	case c.Err != nil && c.hasExpired() && errors.Is(c.Err, context.DeadlineExceeded):
		// A load that heeds its context ends at the timeout too: say so
		// as when it does not.
		return zero, fmt.Errorf("%w after %v: %w", ErrTimeout, c.timeout, c.Err)
	}
	return c.Val, c.Err
}

// start registers and starts a load for key. g.mu must be held.
func (g *Group[K, V]) start(ctx context.Context, key K, timeout time.Duration, load func(context.Context) (V, error)) *groupCall[K, V] {
	c := &groupCall[K, V]{Call: Call[K, V]{Key: key}, timeout: timeout}
	loadCtx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
	if timeout > 0 {
		loadCtx, cancel = context.WithTimeout(loadCtx, timeout)
		c.expired = loadCtx.Done()
	}
	if g.m == nil {
		g.m = make(map[K]*groupCall[K, V])
	}
	g.m[key] = c
	go func() {
		defer cancel()
		c.run(loadCtx, (*groupOwner[K, V])(g), Loader[K, V]{WithCtx: func(ctx context.Context, _ K) (V, error) { return load(ctx) }}, false)
	}()
	return c
}

// hasExpired reports whether the timeout of c has passed: then c has ended
// for its key, whether or not its load heeds its context, and the next
// caller replaces it with a new load.
func (c *groupCall[K, V]) hasExpired() bool {
	select {
	case <-c.expired:
		return true
	default:
		return false
	}
}

// groupOwner is a Group as the Owner of its calls; a type of its own keeps
// Finish out of Group's method set.
type groupOwner[K comparable, V any] Group[K, V]

func (o *groupOwner[K, V]) Finish(c *Call[K, V]) {
	g := (*Group[K, V])(o)
	g.mu.Lock()
	defer g.mu.Unlock()
	if gc := g.m[c.Key]; gc != nil && &gc.Call == c {
		delete(g.m, c.Key) // not replaced after its timeout
	}
	c.End()
}
