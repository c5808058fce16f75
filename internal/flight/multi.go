package flight

import (
	"context"
	"runtime/debug"
	"time"
)

// DoMulti is Do for many keys at once, for a cache that loads a batch in
// one call (memcache's Store.GetOrLoadMulti). Each key already in flight,
// by Do or by another DoMulti, is shared as Do shares it; the others are
// claimed together, at once, and loaded by exactly one call of load with
// exactly those keys, in the order given, on a goroutine of its own. load
// returns one value and one error per key it was given (a nil error slice
// means no errors); a value with an error is dropped, as in Do. A key that
// appears twice is claimed once.
//
// It returns one value and one error per key of keys, each as Do would:
// ctx bounds the wait (ctx.Err() for every key not done by then), timeout
// bounds the batch it starts as a whole, and a panic of load panics every
// caller sharing one of its keys with a [*PanicError]; runtime.Goexit in
// load ends its keys with [ErrGoexit]. With no key to claim, load is not
// called.
func (g *Group[K, V]) DoMulti(ctx context.Context, keys []K, timeout time.Duration, load func(ctx context.Context, keys []K) ([]V, []error)) ([]V, []error) {
	calls := make([]*groupCall[K, V], len(keys))
	dones := make([]<-chan struct{}, len(keys))
	var claimed []*groupCall[K, V]
	var claimedKeys []K
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[K]*groupCall[K, V])
	}
	for i, key := range keys {
		c := g.m[key]
		if c == nil || c.hasExpired() {
			c = &groupCall[K, V]{Call: Call[K, V]{Key: key}, timeout: timeout}
			g.m[key] = c
			claimed, claimedKeys = append(claimed, c), append(claimedKeys, key)
		}
		calls[i], dones[i] = c, c.Wait()
	}
	if len(claimed) > 0 {
		loadCtx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
		if timeout > 0 {
			loadCtx, cancel = context.WithTimeout(loadCtx, timeout)
			for _, c := range claimed {
				c.expired = loadCtx.Done()
			}
		}
		go func() {
			defer cancel()
			g.runBatch(loadCtx, claimed, claimedKeys, load)
		}()
	}
	g.mu.Unlock()

	vals, errs := make([]V, len(keys)), make([]error, len(keys))
	for i, c := range calls {
		vals[i], errs[i] = c.wait(ctx, dones[i])
	}
	return vals, errs
}

// runBatch runs load for the claimed calls and finishes them: with their
// values and errors, or, if load panics or exits its goroutine, with that,
// so that no waiter hangs and no panic is lost.
func (g *Group[K, V]) runBatch(ctx context.Context, calls []*groupCall[K, V], keys []K, load func(context.Context, []K) ([]V, []error)) {
	normalReturn := false
	defer func() {
		if !normalReturn {
			// As in Call.run: recover returns nil only for runtime.Goexit.
			r := recover()
			var p *PanicError
			if r != nil {
				p = &PanicError{Value: r, Stack: debug.Stack()}
			}
			for _, c := range calls {
				if p == nil {
					c.Err = ErrGoexit
				} else {
					c.Panicked = p
				}
			}
		}
		o := (*groupOwner[K, V])(g)
		for _, c := range calls {
			o.Finish(&c.Call)
		}
	}()
	vals, errs := load(ctx, keys)
	for i, c := range calls {
		if i < len(errs) && errs[i] != nil {
			c.Err = errs[i]
			continue
		}
		if i < len(vals) {
			c.Val = vals[i]
		}
	}
	normalReturn = true
}
