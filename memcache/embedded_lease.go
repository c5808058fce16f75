package memcache

import (
	"context"
	"errors"
	"sync"
	"time"
)

// embeddedLeases are the lease, stale and early-refresh marks of an
// Embedded backend, with the semantics of memcached's mg N/R flags and md
// I: a win token per item, handed to one caller until the item is written
// again (a new item) or expires. A mark belongs to the item it was made on:
// an item replaced since has none.
type embeddedLeases struct {
	mu sync.Mutex // held around every lease decision, outside Embedded.mu
	// marks holds an embeddedMark by key. Reads of unmarked items look it
	// up without mu, so that they keep the read path's sharded locks.
	marks  sync.Map
	n      int // marks, under mu
	pruned int // n after the last sweep
}

// markOf returns key's mark if it is one of en.
func (ls *embeddedLeases) markOf(key string, en *embeddedItem) (embeddedMark, bool) {
	v, ok := ls.marks.Load(key)
	if !ok {
		return embeddedMark{}, false
	}
	m := v.(embeddedMark)
	return m, m.item == en
}

// embeddedMark is what a key's item carries beyond its value.
type embeddedMark struct {
	item        *embeddedItem
	won         bool // the win token is handed out
	stale       bool // Invalidate marked the item
	placeholder bool // the item is a lease placeholder
}

// GetLease reads key as Get does, with lease, stale and early refresh
// tokens, as memcache/meta's Client does on memcached. See Leaser.
func (e *Embedded) GetLease(ctx context.Context, key string, opts LeaseOptions) (Lease, error) {
	if err := checkCall(ctx, "get", key); err != nil {
		return Lease{}, err
	}
	ls := &e.leases
	var now int64
	// A plain hit, the common case, decides without mu.
	if en := e.read(key, &now); en != nil {
		if _, marked := ls.markOf(key, en); !marked {
			ttl := e.ttlOf(en)
			if opts.RefreshBelow <= 0 || ttl < 0 || ttl >= opts.RefreshBelow {
				return Lease{Item: en.item(), TTL: ttl, CAS: en.cas}, nil
			}
		}
	} else if opts.LeaseTTL <= 0 {
		return Lease{}, ErrCacheMiss
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	en := e.read(key, &now)
	if en == nil {
		if opts.LeaseTTL <= 0 {
			return Lease{}, ErrCacheMiss
		}
		err := e.store(ctx, "add", &Item{Key: key, Expiration: opts.LeaseTTL})
		if err != nil && !errors.Is(err, ErrNotStored) {
			return Lease{}, err
		}
		if en = e.read(key, &now); en == nil {
			return Lease{}, ErrCacheMiss // evicted at once: too small a cache
		}
		if err == nil {
			e.mark(key, embeddedMark{item: en, won: true, placeholder: true})
			// memcached 1.6.18 reports -1 to the winner of a placeholder.
			return Lease{TTL: -1, CAS: en.cas, Won: true}, nil
		}
	}
	m, ok := ls.markOf(key, en)
	if !ok {
		m = embeddedMark{item: en}
	}
	l := Lease{TTL: e.ttlOf(en), CAS: en.cas, Stale: m.stale}
	if m.placeholder {
		l.Pending = true
		if opts.LeaseTTL <= 0 {
			l.Item = en.item() // as memcached: an empty value, zero flags
		}
		return l, nil
	}
	l.Item = en.item()
	// As memcached: Pending whenever the token is out, whatever this
	// read asks.
	l.Pending = m.won
	if !m.won && (m.stale || opts.RefreshBelow > 0 && l.TTL >= 0 && l.TTL < opts.RefreshBelow) {
		l.Won, m.won = true, true
		e.mark(key, m)
	}
	return l, nil
}

// ttlOf is the seconds en has to live, -1 if it never expires.
func (e *Embedded) ttlOf(en *embeddedItem) int32 {
	sh := e.shard(en.key)
	sh.mu.RLock()
	expires := en.expires
	sh.mu.RUnlock()
	if expires == 0 {
		return -1
	}
	left := time.Duration(expires - e.now().UnixNano())
	return int32(max(0, left/time.Second))
}

// Invalidate marks key's value stale (md with I on memcached). See Leaser.
func (e *Embedded) Invalidate(ctx context.Context, key string, staleTTL int32) error {
	if err := checkCall(ctx, "delete", key); err != nil {
		return err
	}
	ls := &e.leases
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if staleTTL > 0 {
		if err := e.Touch(ctx, key, staleTTL); err != nil {
			return err
		}
	}
	en := e.restamp(key)
	if en == nil {
		return ErrCacheMiss
	}
	e.mark(key, embeddedMark{item: en, stale: true})
	return nil
}

// restamp gives key's item a new CAS token, as memcached's md with I does,
// so that a writer holding the token read before the invalidation cannot
// overwrite what the winner reloads. An item's CAS never changes (see
// embeddedItem), so the item is replaced by a copy sharing its value. It
// returns the new item, or nil if key holds none.
func (e *Embedded) restamp(key string) *embeddedItem {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.lookup(key, e.now().UnixNano())
	if old == nil {
		return nil
	}
	e.remove(old)
	e.cas++
	en := &embeddedItem{key: key, value: old.value, flags: old.flags, expires: old.expires, cas: e.cas}
	sh := e.shard(key)
	sh.mu.Lock()
	sh.items[key] = en
	sh.mu.Unlock()
	e.pushFront(en)
	e.used += en.size()
	e.n++
	return en
}

// ReleaseLease deletes key's lease placeholder while its CAS token is cas.
// See Leaser.
func (e *Embedded) ReleaseLease(ctx context.Context, key string, cas uint64) error {
	if err := checkCall(ctx, "delete", key); err != nil {
		return err
	}
	ls := &e.leases
	ls.mu.Lock()
	defer ls.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	en := e.lookup(key, e.now().UnixNano())
	switch {
	case en == nil:
		return ErrCacheMiss
	case en.cas != cas:
		return ErrCASConflict
	}
	e.remove(en)
	if _, ok := ls.marks.LoadAndDelete(key); ok {
		ls.n--
	}
	return nil
}

// mark records key's mark (e.leases.mu held), and sweeps the marks of
// items gone or replaced whenever the marks have doubled since the last
// sweep, so that they stay within twice the marked items.
func (e *Embedded) mark(key string, m embeddedMark) {
	ls := &e.leases
	if _, had := ls.marks.Swap(key, m); !had {
		ls.n++
	}
	if ls.n < max(64, 2*ls.pruned) {
		return
	}
	ls.marks.Range(func(k, v any) bool {
		key := k.(string)
		sh := e.shard(key)
		sh.mu.RLock()
		cur := sh.items[key]
		sh.mu.RUnlock()
		if cur != v.(embeddedMark).item {
			ls.marks.Delete(key)
			ls.n--
		}
		return true
	})
	ls.pruned = ls.n
}
