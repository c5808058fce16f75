package memcache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// A CallOption changes one call of a Store (Set, Add, Replace, SetMulti,
// GetOrLoad, GetOrLoadMulti) from the store's configuration. The zero
// CallOption changes nothing. It is a value, not a function, so that
// passing one costs the call no allocation.
type CallOption struct {
	ttl    time.Duration
	hasTTL bool
}

// TTL sets the lifetime of the values the call writes, instead of the
// store's (WithExpiration), by memcached's rules as Expiration states them:
// zero is never, up to 30 days seconds from now rounded up, beyond an
// absolute time capped at 2038, and a negative d a value that is expired
// at once. WithTTLJitter shortens it as it does the store's. For GetOrLoad
// and GetOrLoadMulti it is the lifetime of what the load stores: the
// options of the caller that starts a shared load apply to it.
func TTL(d time.Duration) CallOption { return CallOption{ttl: d, hasTTL: true} }

// freshness is the store's lifetime settings of this file's options.
type freshness struct {
	jitter      float64       // WithTTLJitter
	negativeTTL time.Duration // WithNegativeTTL
}

// ErrInvalidOption is wrapped by NewStore's error for an option given a
// value out of its range.
var ErrInvalidOption = errors.New("memcache: invalid option")

// check refuses settings out of range, before the store exists.
func (f freshness) check() error {
	if !(f.jitter >= 0 && f.jitter <= 1) { // NaN too
		return fmt.Errorf("memcache: NewStore: WithTTLJitter(%v): the fraction must be in [0, 1]: %w", f.jitter, ErrInvalidOption)
	}
	if f.negativeTTL < 0 {
		return fmt.Errorf("memcache: NewStore: WithNegativeTTL(%v): a lifetime must not be negative (zero turns negative caching off): %w", f.negativeTTL, ErrInvalidOption)
	}
	return nil
}

// writeExpiration is the expiration field of a write with opts: the
// lifetime TTL gives or else the store's, jittered, as of the store's
// clock.
func (s *Store[T]) writeExpiration(opts []CallOption) int32 {
	d := s.expiration
	for _, o := range opts {
		if o.hasTTL {
			d = o.ttl
		}
	}
	return s.expirationAt(s.jittered(d))
}

// jittered shortens a lifetime d by a random part of up to WithTTLJitter's
// fraction of it, never to zero (which would mean never) and never longer:
// d stays an upper bound. Lifetimes of zero (never) and below (expired)
// are left alone.
func (s *Store[T]) jittered(d time.Duration) time.Duration {
	f := s.fresh.jitter
	if f == 0 || d <= 0 {
		return d
	}
	cut := time.Duration(math.Floor(rand.Float64() * f * float64(d)))
	return max(d-cut, 1)
}

// callOptionsKey is the context key of the options of a GetOrLoad call of
// the store s, which reach the write of its shared load (and of a
// background refresh) through the load's context, that keeps its first
// caller's values. The key names the store, so that a loader's own calls
// of another store do not take them for theirs; it is one pointer, so
// that making it an interface to look it up allocates nothing.
type callOptionsKey[T any] struct{ s *Store[T] }

// withCallOptions returns ctx carrying opts for the load's write. Without
// options it returns ctx itself, so that such a call allocates nothing,
// unless ctx carries a call's options for this store already (a loader
// calling its own store): those are not the options of this call.
func (s *Store[T]) withCallOptions(ctx context.Context, opts []CallOption) context.Context {
	if len(opts) == 0 && s.callOptions(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, callOptionsKey[T]{s}, opts)
}

// callOptions returns the options withCallOptions put in ctx.
func (s *Store[T]) callOptions(ctx context.Context) []CallOption {
	opts, _ := ctx.Value(callOptionsKey[T]{s}).([]CallOption)
	return opts
}
