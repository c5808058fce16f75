package memcache

import (
	"context"
	"errors"
	"fmt"

	"github.com/leancache/leancache/internal/flight"
)

// loadGroup is the singleflight of GetOrLoad, by the caller's key.
type loadGroup[T any] = flight.Group[string, T]

// GetOrLoad returns the value under key, or on a miss calls load, stores
// its result and returns it. Concurrent callers for one key share one load,
// however many they are and however fast load is: the shared load runs on a
// goroutine of its own and first reads the cache again, so that a caller
// that missed just before another's load stored the value gets that value
// without loading; then it calls load and stores exactly what load
// returned, under key, with the store's expiration. A miss so costs two
// reads of the cache, the price of one load per key.
//
// Every non-nil error comes with the zero value, never with data:
//
//   - load's error is returned, unwrapped, to every caller sharing the
//     load, and nothing is stored; a value load returned with it is
//     dropped.
//   - Each caller waits only as long as its own ctx allows, then returns
//     ctx.Err(). The load goes on for the other callers and the cache,
//     with a context that carries the values of the ctx of the caller that
//     started it but not its cancellation.
//   - With WithLoadTimeout(d), the load's context has a deadline d after
//     the load starts. When it passes, every caller sharing the load gets
//     an error wrapping context.DeadlineExceeded, the key is free for a
//     fresh load, and whatever the late loader returns is not stored.
//   - If load panics, every caller sharing the load panics with a
//     *cacheprop.PanicError holding the panic value and load's stack
//     (errors.Is and errors.As see through it to the value when that is an
//     error); nothing is stored, and the next call loads again.
//   - If load calls runtime.Goexit, every caller sharing the load gets an
//     error saying so, and nothing is stored.
//
// Across processes: over a backend with leases (a Leaser: memcache/meta's
// Client, the Embedded backend) the shared load first asks for key's
// lease, so that one caller among all processes loads and stores while
// the others wait for its value, reading the lease again after 2 ms,
// doubling up to 100 ms between reads, within their ctx and for the
// lease's TTL (DefaultLeaseTTL, or WithLoadTimeout's d) and a second at
// most, then load on their own; the wait counts against WithLoadTimeout. A winner that dies
// mid-load holds the lease until its TTL, then the next caller loads; one
// whose load fails gives the lease up at once. A value marked stale
// (Invalidate) or, with WithRefreshAhead, close to expiring is served
// while the one caller that wins its token reloads it in the background.
// The lease calls pass through the middleware like every backend call
// (OpGetLease, OpReleaseLease).
//
// opts apply to the value the load stores: TTL sets its lifetime instead
// of the store's. With WithNegativeTTL, a load that returns ErrNotFound
// (wrapped or not) stores a negative entry, and until it expires every
// GetOrLoad of key, in any process whose store caches absence too, returns
// an error wrapping ErrNotFound without loading; without it, load's
// ErrNotFound is returned as any other error and nothing is stored.
//
// A value that is there but will not decode (another codec, another
// schema fingerprint, corrupt bytes) counts as a miss: it is loaded and
// overwritten, and reported to the error handler (WithErrorHandler) unless
// it is a plain schema miss; but a value another program wrote is loaded
// and left in place (see WithOverwriteForeign). A malformed key is
// returned at once. A store WithInterop takes no lease on a miss: the
// lease's empty placeholder would read as a value to other clients
// (php-memcached returns it as "" with success), so its loads are shared
// within the process only.
//
// When the backend fails (down, slow, or refusing the write: a value too
// large, a server gone during the load), GetOrLoad fails open by default:
// it answers with load's value and reports the failure to the error
// handler; after a failed read it neither reads again nor writes, so as not
// to wait on a failing backend twice. WithFailClosed returns the backend's
// failure instead, with the zero value, whether the read or the write
// failed.
func (s *Store[T]) GetOrLoad(ctx context.Context, key string, load func(ctx context.Context) (T, error), opts ...CallOption) (_ T, err error) {
	ctx, cl := s.obs.begin(ctx, OpGetOrLoad, key, 1)
	defer func() { cl.end(ctx, err) }()
	ctx = s.withCallOptions(ctx, opts)
	var zero T
	k, found, err := s.firstRead(ctx, key, load)
	if err == nil {
		var v T
		if v, err = s.read(ctx, key, k, found); err == nil {
			s.obs.outcome(ctx, nil)
			return v, nil
		}
	}
	s.obs.outcome(ctx, err)
	if ctx.Err() != nil {
		return zero, err
	}
	store, err := s.afterMiss(ctx, key, err)
	if err != nil {
		return zero, err
	}
	lead := s.obs.newLoadLead()
	v, err := s.loads.Do(ctx, key, s.loadTimeout, func(ctx context.Context) (T, error) {
		lead.ran()
		defer s.loadsEnded.Add(1)
		return s.sharedLoad(ctx, key, store, found, load)
	})
	s.obs.joined(ctx, lead)
	if errors.Is(err, flight.ErrTimeout) || errors.Is(err, flight.ErrGoexit) {
		return zero, fmt.Errorf("memcache: GetOrLoad %s: %w", quoteKey(key), err)
	}
	return v, err
}

// load is the load GetOrLoad's callers for key share. It reads the cache
// again unless the backend failed the caller that started it (store is
// false): the flight forgets key when it ends, so a caller that missed
// while another's load was storing starts a load of its own, and must find
// that value instead of loading it again. found is the item that caller
// could not read, if any: found again unchanged, it is not decoded (nor
// counted, nor reported) twice.
func (s *Store[T]) load(ctx context.Context, key string, store bool, found *Item, load func(context.Context) (T, error)) (T, error) {
	var zero T
	if store {
		k, it, err := s.getItem(ctx, key)
		if err == nil && (found == nil || it.CAS == 0 || it.CAS != found.CAS) {
			var v T
			if v, err = s.read(ctx, key, k, it); err == nil {
				return v, nil
			}
		}
		if err != nil {
			if store, err = s.afterMiss(ctx, key, err); err != nil {
				return zero, err
			}
		}
	}
	return s.loadAndStore(ctx, key, store, load)
}

// loadAndStore calls load and, if store, stores its value under key.
func (s *Store[T]) loadAndStore(ctx context.Context, key string, store bool, load func(context.Context) (T, error)) (T, error) {
	var zero T
	start := s.obs.startLoad()
	v, err := load(ctx)
	s.obs.loaded(ctx, start, err)
	if err != nil {
		if store && ctx.Err() == nil && s.remembersAbsence(err) {
			if werr := s.rememberAbsence(ctx, key); werr != nil {
				if s.failClosed {
					return zero, werr
				}
				s.report(ctx, key, werr)
			}
		}
		return zero, err
	}
	if !store || ctx.Err() != nil {
		// After the load's deadline its callers have their error and the
		// key may hold a fresh load's value: a late one must not replace
		// it.
		return v, nil
	}
	if err := s.Set(ctx, key, v, s.callOptions(ctx)...); err != nil {
		if s.failClosed {
			return zero, err
		}
		s.report(ctx, key, err)
	}
	return v, nil
}

// afterMiss decides what GetOrLoad does after a read of key failed with
// err: load and store (a miss, or a value that will not decode, which the
// load overwrites), load without storing (the backend failing, when the
// store fails open), or return err.
func (s *Store[T]) afterMiss(ctx context.Context, key string, err error) (store bool, _ error) {
	var fe *FormatError
	var de *DecodeError
	switch {
	case isNegative(err):
		if answered, err := s.negativeAnswer(key); answered {
			return false, err
		}
		return true, nil
	case errors.Is(err, ErrCacheMiss):
		return true, nil
	case errors.As(err, &fe), errors.As(err, &de):
		if s.foreign(err) {
			return s.keepForeign(ctx, key, err)
		}
		s.report(ctx, key, err)
		return true, nil
	case errors.Is(err, ErrMalformedKey), s.failClosed:
		return false, err
	}
	s.report(ctx, key, err)
	return false, nil
}

// report tells the error handler of a failure GetOrLoad absorbs, and the
// recorder (or else, without a handler, the failure log).
func (s *Store[T]) report(ctx context.Context, key string, err error) {
	s.obs.failOpen(ctx, key, err, s.onError != nil)
	if s.onError != nil {
		s.onError(key, err)
	}
}
