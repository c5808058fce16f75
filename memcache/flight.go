package memcache

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// flightGroup runs one load per key at a time and shares its result with
// every caller that asks for the key meanwhile, in the manner of
// golang.org/x/sync/singleflight, with two differences a cache needs: each
// caller waits only as long as its own context allows, and the load runs on
// its own goroutine so that a caller giving up does not cancel the work the
// others wait for.
type flightGroup[T any] struct {
	mu sync.Mutex // protects m
	m  map[string]*flight[T]
}

// flight is one load in progress. val, err and panicked are written once,
// before done is closed.
type flight[T any] struct {
	done     chan struct{}
	val      T
	err      error
	panicked *loaderPanic
}

// A loaderPanic carries a panic out of a loader to every caller waiting for
// it, with the loader's stack.
type loaderPanic struct {
	value any
	stack []byte
}

func (p *loaderPanic) Error() string {
	return fmt.Sprintf("memcache: loader panicked: %v\n\n%s", p.value, p.stack)
}

// do runs load for key unless a load for key is in flight, then waits for
// it or for ctx. If load panics, do panics in every waiting caller with a
// *loaderPanic.
func (g *flightGroup[T]) do(ctx context.Context, key string, load func() (T, error)) (T, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[string]*flight[T])
	}
	f, ok := g.m[key]
	if !ok {
		f = &flight[T]{done: make(chan struct{})}
		g.m[key] = f
		go g.run(key, f, load)
	}
	g.mu.Unlock()

	select {
	case <-f.done:
		if f.panicked != nil {
			panic(f.panicked)
		}
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (g *flightGroup[T]) run(key string, f *flight[T], load func() (T, error)) {
	defer func() {
		if r := recover(); r != nil {
			f.panicked = &loaderPanic{value: r, stack: debug.Stack()}
		}
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		close(f.done)
	}()
	f.val, f.err = load()
}
