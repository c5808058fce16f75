package memcache

import (
	"context"
	"fmt"
	"time"
)

// Leaser is implemented by backends that hand out memcached's lease,
// stale and early-refresh tokens (memcache/meta's Client, with mg's N and R
// flags and md's I; the Embedded backend, by the same rules). A Store over
// a Leaser shares GetOrLoad's loads across processes and serves stale
// values while one caller reloads them (see GetOrLoad and Invalidate).
type Leaser interface {
	// GetLease reads key as Get does, with the tokens opts asks for.
	// Without LeaseTTL a miss is ErrCacheMiss; with it there is no miss,
	// only a placeholder (Lease.Item nil) that one caller Won and the
	// others see Pending, until a write to key or LeaseTTL ends it.
	GetLease(ctx context.Context, key string, opts LeaseOptions) (Lease, error)
	// Invalidate marks key's value stale instead of deleting it: it stays
	// readable for staleTTL seconds (0: its expiration is kept), readers
	// through GetLease see Stale, the first of them Won, the others
	// Pending. ErrCacheMiss when key holds nothing.
	Invalidate(ctx context.Context, key string, staleTTL int32) error
	// ReleaseLease gives up a lease won on a miss without writing: it
	// deletes the placeholder while its CAS token is still cas
	// (ErrCASConflict otherwise, ErrCacheMiss if it is gone).
	ReleaseLease(ctx context.Context, key string, cas uint64) error
}

// LeaseOptions turns an mg into a lease request; see GetLease.
type LeaseOptions struct {
	// LeaseTTL, when positive, asks memcached to create an empty
	// placeholder on a miss (mg's N flag), living LeaseTTL seconds, and to
	// hand its win token to exactly one caller across all clients. If that
	// caller dies without writing, the placeholder expires and the next
	// caller wins.
	LeaseTTL int32
	// RefreshBelow, when positive, asks memcached to hand a win token to
	// one caller once the value has less than RefreshBelow seconds to live
	// (mg's R flag), for an early refresh while everyone still reads it.
	RefreshBelow int32
}

// Lease is the outcome of GetLease.
type Lease struct {
	// Item is the value read, nil when the key holds only a lease
	// placeholder. A placeholder is an empty value with zero flags: leases
	// must not be used on keys whose real value is that (a Store's values
	// always carry flags).
	Item *Item
	// TTL is the seconds the item has left, -1 when it never expires
	// (memcached 1.6.18 also reports -1 to the winner of a new
	// placeholder, whatever its LeaseTTL).
	TTL int32
	// CAS is the token of the item or placeholder read. A winner may store
	// its value with CompareAndSwap under it, so that if its lease expired
	// and passed to another caller who stored first, the newer value
	// stays; or give the lease up with ReleaseLease.
	CAS uint64
	// Won means this caller holds the win token: it should load the value
	// and Set it (any write hands the token back). Set on a miss with
	// LeaseTTL, on a stale value, or near expiry with RefreshBelow.
	Won bool
	// Pending means another caller holds the win token: wait and read
	// again when Item is nil, else use Item.
	Pending bool
	// Stale means the value was marked stale by Invalidate: it is still
	// served, and one caller (Won) reloads it.
	Stale bool
}

var (
	_ Leaser = (*Embedded)(nil)
)

// DefaultLeaseTTL is how long a GetOrLoad lease lasts without
// WithLoadTimeout: if the process that won it dies mid-load, another one
// loads after this long.
const DefaultLeaseTTL = 30 * time.Second

// Waiting for another process's load: the first wait, and the longest
// between two reads of the lease. A waiter waits at most the lease's TTL
// plus leaseWaitSlack in all (by then the lease has passed to a live
// caller or expired), then loads on its own.
const (
	leaseBackoffMin = 2 * time.Millisecond
	leaseBackoffMax = 100 * time.Millisecond
	leaseWaitSlack  = time.Second
)

// leaser returns the backend's Leaser, if it has one and the store may
// use it: not under WithInterop, where other clients would read a lease's
// empty placeholder, or a stale mark's old value, as a value of their own.
func (s *Store[T]) leaser() (Leaser, bool) {
	if s.interop != 0 {
		return nil, false
	}
	l, ok := s.backend.(Leaser)
	return l, ok
}

// leaseTTL is the TTL of the leases GetOrLoad takes: the load's timeout
// (WithLoadTimeout), which ends the winner's load anyway, or
// DefaultLeaseTTL. memcached counts it in whole seconds (see seconds).
func (s *Store[T]) leaseTTL() time.Duration {
	if s.loadTimeout <= 0 {
		return DefaultLeaseTTL
	}
	return s.loadTimeout
}

// seconds rounds d up to whole seconds, at least one, for memcached's
// TTL fields.
func seconds(d time.Duration) int32 {
	return int32(max(1, (d+time.Second-1)/time.Second))
}

// isPlaceholder reports whether it is a lease placeholder: an empty value
// with zero flags, which no Store value is (their flags carry a marker).
func isPlaceholder(it *Item) bool { return it.Flags == 0 && len(it.Value) == 0 }

// Invalidate marks key's value stale: readers through GetOrLoad keep
// getting it while exactly one caller, in any process, reloads it (for the
// lease TTL at most: after that the stale value expires and the next
// caller loads as on a miss). Get and GetMulti read a stale value as any
// other. On a backend without leases (the gomemcache Client) it is a
// Delete, so readers load afresh; on either, ErrCacheMiss when key holds
// nothing.
func (s *Store[T]) Invalidate(ctx context.Context, key string) error {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	l, ok := s.leaser()
	if !ok {
		return s.Delete(ctx, key)
	}
	if s.direct {
		return l.Invalidate(ctx, k, seconds(s.leaseTTL()))
	}
	_, err = s.handler(ctx, &Request{Op: OpInvalidate, Keys: []string{k}, Expiration: seconds(s.leaseTTL())})
	return err
}

// getLease is l's GetLease of the memcached key k through the store's
// middleware chain (OpGetLease); a store without middleware calls l
// itself, as its Get does.
func (s *Store[T]) getLease(ctx context.Context, l Leaser, k string, opts LeaseOptions) (Lease, error) {
	if s.direct {
		return l.GetLease(ctx, k, opts)
	}
	resp, err := s.handler(ctx, &Request{Op: OpGetLease, Keys: []string{k}, Lease: opts})
	if err != nil {
		return Lease{}, err
	}
	return resp.lease(k)
}

// releaseLease is l's ReleaseLease through the middleware chain, as
// getLease.
func (s *Store[T]) releaseLease(ctx context.Context, l Leaser, k string, cas uint64) error {
	if s.direct {
		return l.ReleaseLease(ctx, k, cas)
	}
	_, err := s.handler(ctx, &Request{Op: OpReleaseLease, Keys: []string{k}, CAS: cas})
	return err
}

// firstRead is GetOrLoad's first read of key. Through a Leaser it asks for
// the stale and early-refresh tokens: when this caller wins one, the value
// is reloaded in the background while it is served. A lease placeholder
// reads as a miss.
func (s *Store[T]) firstRead(ctx context.Context, key string, load func(context.Context) (T, error)) (string, *Item, error) {
	l, ok := s.leaser()
	if !ok {
		return s.getItem(ctx, key)
	}
	k, err := s.keys.storeKey(key)
	if err != nil {
		return "", nil, err
	}
	le, err := s.getLease(ctx, l, k, LeaseOptions{RefreshBelow: s.refreshBelow()})
	switch {
	case err != nil:
		return k, nil, err
	case le.Item == nil || isPlaceholder(le.Item):
		return k, nil, ErrCacheMiss
	case le.Won:
		s.obs.record(ctx, Event{Kind: EventLeaseWon})
		s.refresh(ctx, key, load)
	}
	if le.Stale {
		s.obs.record(ctx, Event{Kind: EventServeStale})
	}
	return k, le.Item, nil
}

// refreshBelow is the RefreshBelow of GetOrLoad's reads (WithRefreshAhead),
// 0 for none.
func (s *Store[T]) refreshBelow() int32 {
	if s.refreshAhead <= 0 {
		return 0
	}
	return seconds(s.refreshAhead)
}

// refresh reloads key in the background, for a caller that won the token
// of a stale or soon-expiring value and is served that value meanwhile. It
// runs as a shared load does: without the caller's cancellation, within
// WithLoadTimeout; a failure goes to the error handler, and the value
// stays until it expires.
func (s *Store[T]) refresh(ctx context.Context, key string, load func(context.Context) (T, error)) {
	ctx = context.WithoutCancel(ctx)
	go func() {
		if s.loadTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.loadTimeout)
			defer cancel()
		}
		defer func() {
			if p := recover(); p != nil {
				s.report(ctx, key, fmt.Errorf("memcache: refresh of %s panicked: %v", quoteKey(key), p))
			}
		}()
		if _, err := s.loadAndStore(ctx, key, true, load); err != nil && !s.remembersAbsence(err) {
			s.report(ctx, key, err)
		}
	}()
}

// sharedLoad is the load GetOrLoad's callers in this process share: under
// a lease when the backend has them (see leaser) and the store is to store
// its result, else load.
func (s *Store[T]) sharedLoad(ctx context.Context, key string, store bool, found *Item, load func(context.Context) (T, error)) (T, error) {
	if l, ok := s.leaser(); ok && store {
		return s.leasedLoad(ctx, l, key, found, load)
	}
	return s.load(ctx, key, store, found, load)
}

// leasedLoad shares one load across processes: it asks for key's lease;
// the winner loads and stores; the others wait, with a backoff from
// leaseBackoffMin to leaseBackoffMax between reads, until the value is
// there or they win (the lease of a winner that died expires after its
// TTL), within their ctx and at most the lease TTL plus leaseWaitSlack,
// then load on their own.
func (s *Store[T]) leasedLoad(ctx context.Context, l Leaser, key string, found *Item, load func(context.Context) (T, error)) (T, error) {
	var zero T
	k, err := s.keys.storeKey(key)
	if err != nil {
		return zero, err
	}
	ttl := s.leaseTTL()
	opts := LeaseOptions{LeaseTTL: seconds(ttl)}
	wait, waited := leaseBackoffMin, time.Duration(0)
	for {
		le, err := s.getLease(ctx, l, k, opts)
		if err != nil {
			store, err := s.afterMiss(ctx, key, err)
			if err != nil {
				return zero, err
			}
			return s.load(ctx, key, store, nil, load)
		}
		if it := le.Item; it != nil && !isPlaceholder(it) {
			// A value, so no lease to share: decode it unless it is the
			// one the caller could not, and else load over it.
			store := true
			if found == nil || it.CAS == 0 || it.CAS != found.CAS {
				v, err := s.read(ctx, key, k, it)
				if err == nil {
					return v, nil
				}
				if store, err = s.afterMiss(ctx, key, err); err != nil {
					return zero, err
				}
			}
			if !le.Won {
				return s.loadAndStore(ctx, key, store, load)
			}
		}
		if le.Won {
			s.obs.record(ctx, Event{Kind: EventLeaseWon})
			return s.loadUnderLease(ctx, l, key, k, le.CAS, load)
		}
		if waited == 0 {
			s.obs.record(ctx, Event{Kind: EventLeaseWaited})
		}
		if waited >= ttl+leaseWaitSlack {
			return s.loadAndStore(ctx, key, true, load)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return zero, ctx.Err()
		case <-t.C:
		}
		waited += wait
		wait = min(2*wait, leaseBackoffMax)
	}
}

// loadUnderLease loads and stores key for the winner of its lease, whose
// placeholder has the CAS token cas. A load that fails (returns an error,
// panics, exits its goroutine) gives the lease up, so that the next caller
// loads at once rather than after the lease's TTL.
func (s *Store[T]) loadUnderLease(ctx context.Context, l Leaser, key, k string, cas uint64, load func(context.Context) (T, error)) (T, error) {
	loaded := false
	defer func() {
		if loaded {
			return
		}
		if err := s.releaseLease(context.WithoutCancel(ctx), l, k, cas); err != nil && !isCacheOutcome(err) {
			s.report(ctx, key, err)
		}
	}()
	return s.loadAndStore(ctx, key, true, func(ctx context.Context) (T, error) {
		v, err := load(ctx)
		loaded = err == nil
		return v, err
	})
}
