package memcache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// The near cache's rules are stated in the package documentation (# Near
// cache); this file implements them.

// NearCacheConfig configures the near cache of WithNearCache. Its zero
// value is a near cache of DefaultNearCacheMaxBytes and
// DefaultNearCacheTTL.
type NearCacheConfig struct {
	// MaxBytes bounds the memory of the entries, each counted as its key,
	// its value and memcached's per-item overhead, as EmbeddedConfig's
	// MaxBytes counts items. The entries are spread over up to 16 shards
	// by key, each with its share of MaxBytes (64 KiB at least, when
	// MaxBytes allows); an item larger than its shard's share is not kept.
	// Filling past the bound drops the oldest entries, sparing once those
	// read since they were filled. Zero means DefaultNearCacheMaxBytes.
	MaxBytes int64
	// TTL is how long an entry is served after the read that filled it
	// began: the longest this process may serve a value another process
	// has replaced or deleted. Zero means DefaultNearCacheTTL; at most
	// MaxNearCacheTTL.
	TTL time.Duration
}

// The near cache's defaults and bounds.
const (
	// DefaultNearCacheMaxBytes is the near cache's memory bound when
	// NearCacheConfig.MaxBytes is zero.
	DefaultNearCacheMaxBytes = 16 << 20
	// DefaultNearCacheTTL is the entries' lifetime when
	// NearCacheConfig.TTL is zero: short enough that other processes'
	// writes show within a second, long enough that a key read thousands
	// of times a second costs one network round trip a second.
	DefaultNearCacheTTL = time.Second
	// MaxNearCacheTTL is the longest lifetime NewStore accepts: a near
	// cache is for hot keys within a short staleness bound, not a second
	// cache with its own lifetimes.
	MaxNearCacheTTL = time.Minute
)

// ErrNearCacheConfig is what NewStore's error wraps when WithNearCache's
// configuration is out of bounds (negative, or a TTL above
// MaxNearCacheTTL).
var ErrNearCacheConfig = errors.New("memcache: NewStore: invalid WithNearCache configuration")

// resolved returns c with its defaults filled in, or an error wrapping
// ErrNearCacheConfig.
func (c NearCacheConfig) resolved() (NearCacheConfig, error) {
	switch {
	case c.MaxBytes < 0:
		return c, fmt.Errorf("%w: MaxBytes %d is negative", ErrNearCacheConfig, c.MaxBytes)
	case c.TTL < 0:
		return c, fmt.Errorf("%w: TTL %v is negative", ErrNearCacheConfig, c.TTL)
	case c.TTL > MaxNearCacheTTL:
		return c, fmt.Errorf("%w: TTL %v is above MaxNearCacheTTL (%v)", ErrNearCacheConfig, c.TTL, MaxNearCacheTTL)
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultNearCacheMaxBytes
	}
	if c.TTL == 0 {
		c.TTL = DefaultNearCacheTTL
	}
	return c, nil
}

// Shards: at most nearMaxShards, fewer when MaxBytes is small, so that
// each holds at least nearMinShardBytes.
const (
	nearMaxShards     = 16
	nearMinShardBytes = 64 << 10
)

// expirySlack is how much earlier than its nominal expiry an entry ends:
// memcached's clock ticks once a second, so an item set to live n seconds
// lives between n-1 and n there.
const expirySlack = int64(time.Second)

// Known expirations of an item, in unix nanoseconds: a positive value is
// the nominal expiry; expiryUnknown says nothing is known (a plain get),
// expiryNever that the backend said it never expires.
const (
	expiryUnknown int64 = 0
	expiryNever   int64 = -1
)

// nearCache is the near cache as a Backend over inner.
type nearCache struct {
	inner    Backend
	ttl      int64 // nanoseconds
	now      func() time.Time
	prefix   string // the store's key prefix, which chunk keys may use
	shardMax int64
	seed     maphash.Seed
	shards   []nearShard
	// Where near hits are told: set by NewStore once the store exists;
	// counters nil when no Counters can see them.
	counters *storeCounters
	obs      *observer
	// share: Get and GetLease may hand out the entry's item itself, as
	// only the store reads it and its codec never keeps what it decodes
	// (set by NewStore); GetMulti, which Inspect calls too, always copies.
	share bool
}

// nearShard is one part of the near cache: its entries by key, in the
// order they were filled (queue.next is the newest), and the bytes they
// count. gen counts the invalidations of its keys; it changes under mu
// and is read without it when a read starts.
type nearShard struct {
	mu    sync.RWMutex
	gen   atomic.Uint64
	items map[string]*nearEntry
	queue nearEntry
	used  int64
	_     [64]byte // keeps neighbouring shards' locks off one cache line
}

// nearEntry is one entry: an item as the backend returned it, never
// changed once filled, or a hint (item nil), which is never served and
// only carries the expiry a local write gave the key.
type nearEntry struct {
	key      string
	item     *Item
	deadline int64 // unix ns: served while now < deadline
	expires  int64 // the item's own expiry, as the constants above
	size     int64
	// staleUntil (unix ns), on a hint: the key was invalidated here and
	// its value is marked stale in the backend, which a plain read does
	// not show, so no read fills the entry before then (or a local write).
	staleUntil int64
	prev, next *nearEntry
	// referenced is set by hits and cleared by eviction, which spares a
	// referenced entry once (CLOCK, as Embedded evicts).
	referenced atomic.Bool
}

// newNearCache returns the near cache over inner, as a Backend that
// implements the optional interfaces of inner that the Store looks for
// (see nearLeaser and nearBatcher).
func newNearCache(inner Backend, cfg NearCacheConfig, now func() time.Time, prefix string) (*nearCache, Backend) {
	n := &nearCache{inner: inner, ttl: int64(cfg.TTL), now: now, prefix: prefix, seed: maphash.MakeSeed()}
	shards := nearMaxShards
	for shards > 1 && cfg.MaxBytes/int64(shards) < nearMinShardBytes {
		shards /= 2
	}
	n.shardMax = cfg.MaxBytes / int64(shards)
	n.shards = make([]nearShard, shards)
	for i := range n.shards {
		sh := &n.shards[i]
		sh.items = make(map[string]*nearEntry)
		sh.queue.next, sh.queue.prev = &sh.queue, &sh.queue
	}
	l, leases := inner.(Leaser)
	batches := !loopsBatches(inner)
	if _, ok := inner.(MultiSetter); !ok {
		if _, ok := inner.(MultiDeleter); !ok {
			batches = false
		}
	}
	switch {
	case leases && batches:
		return n, struct {
			*nearCache
			nearLeaser
			nearBatcher
		}{n, nearLeaser{n, l}, nearBatcher{n}}
	case leases:
		return n, struct {
			*nearCache
			nearLeaser
		}{n, nearLeaser{n, l}}
	case batches:
		return n, struct {
			*nearCache
			nearBatcher
		}{n, nearBatcher{n}}
	}
	return n, n
}

// loopsBatches reports whether b's MultiSetter and MultiDeleter only loop
// over single calls (the Client's and Embedded's), which a Store does not
// send batches to.
func loopsBatches(b Backend) bool {
	switch b.(type) {
	case *Client, *Embedded:
		return true
	}
	return false
}

var (
	_ Backend       = (*nearCache)(nil)
	_ ItemSizeMaxer = (*nearCache)(nil)
)

func (n *nearCache) shard(key string) *nearShard {
	return &n.shards[maphash.String(n.seed, key)%uint64(len(n.shards))]
}

func (n *nearCache) clock() int64 { return n.now().UnixNano() }

// lookup returns the item of the live entry of key (a copy unless
// share), and the item's known expiry, or nil.
func (n *nearCache) lookup(key string, now int64, share bool) (*Item, int64) {
	sh := n.shard(key)
	sh.mu.RLock()
	e := sh.items[key]
	sh.mu.RUnlock()
	if e == nil || e.item == nil || now >= e.deadline {
		return nil, expiryUnknown
	}
	if !e.referenced.Load() {
		e.referenced.Store(true)
	}
	if share {
		return e.item, e.expires
	}
	it := *e.item
	it.Value = append([]byte(nil), e.item.Value...)
	return &it, e.expires
}

// hits tells the store's counters and recorder of count near hits.
func (n *nearCache) hits(ctx context.Context, count int) {
	if n.counters != nil {
		n.counters.add(nearHits, int64(count))
	}
	if n.obs != nil {
		n.obs.record(ctx, Event{Kind: EventNearHit, Count: count})
	}
}

// fill keeps a copy of it, read under key by a read that began at start
// when the shard's invalidation count was gen, unless the count has moved
// since, the item is a lease placeholder or too large, or its expiry
// leaves it no time.
func (n *nearCache) fill(key string, it *Item, gen uint64, start, expires int64) {
	if it == nil || isPlaceholder(it) {
		return
	}
	size := itemSize(key, len(it.Value), it.Flags)
	if size > n.shardMax {
		return
	}
	sh := n.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.gen.Load() != gen {
		return
	}
	old := sh.items[key]
	if old != nil && old.item == nil && start < old.staleUntil {
		return
	}
	if expires == expiryUnknown && old != nil && start < old.expires {
		// A hint or an ended entry that still knows the item's expiry,
		// and no write here since: the item is the one it knew of, or a
		// newer one (written elsewhere), which outlives it.
		expires = old.expires
	}
	deadline := start + n.ttl
	if expires > 0 {
		deadline = min(deadline, expires-expirySlack)
	}
	if deadline <= start {
		return
	}
	if old != nil {
		sh.remove(old)
	}
	c := *it
	c.Value = append([]byte(nil), it.Value...)
	sh.insert(n.shardMax, &nearEntry{key: key, item: &c, deadline: deadline, expires: expires, size: size})
}

// invalidate ends key's entry, with those of its chunks if it is the index
// of a chunked value, and leaves a hint of the item's expiry if positive.
func (n *nearCache) invalidate(key string, expires int64) {
	sh := n.shard(key)
	sh.mu.Lock()
	sh.gen.Add(1)
	old := sh.items[key]
	if old != nil {
		sh.remove(old)
	}
	if expires > 0 {
		if size := itemSize(key, 0, 0); size <= n.shardMax {
			sh.insert(n.shardMax, &nearEntry{key: key, expires: expires, size: size})
		}
	}
	sh.mu.Unlock()
	if old == nil || old.item == nil {
		return
	}
	// Chunks hold minChunkCapacity bytes at least: an index claiming more
	// than the near cache could hold is forged, and its chunks, if any,
	// are left to eviction rather than looked for one by one.
	if x, ok := indexOf(old.item); ok && int64(x.count)*minChunkCapacity <= n.shardMax*int64(len(n.shards)) {
		for i := range int(x.count) {
			n.invalidate(chunkKey(n.prefix, key, i, x.token), expiryUnknown)
		}
	}
}

// indexOf returns the chunk index it holds, if it is the index item of a
// chunked value (see Chunked values in the package documentation).
func indexOf(it *Item) (chunkIndex, bool) {
	f := it.Flags
	if f>>24 != flagsMarker || flagsKind(f) != kindIndex {
		return chunkIndex{}, false
	}
	body := it.Value
	if flagsVersionOf(f) == flagsV2 {
		if len(body) < trailerLen {
			return chunkIndex{}, false
		}
		body = body[:len(body)-trailerLen]
	}
	x, err := parseChunkIndex(body)
	return x, err == nil
}

// insert adds e, making room for it by dropping the oldest entries, a
// referenced one spared once. sh.mu must be held.
func (sh *nearShard) insert(limit int64, e *nearEntry) {
	spare := len(sh.items)
	for sh.used+e.size > limit && sh.queue.prev != &sh.queue {
		old := sh.queue.prev
		if spare > 0 && old.referenced.Swap(false) {
			spare--
			unlinkNear(old)
			sh.pushFront(old)
			continue
		}
		sh.remove(old)
	}
	sh.items[e.key] = e
	sh.pushFront(e)
	sh.used += e.size
}

// remove takes e out of the shard. sh.mu must be held.
func (sh *nearShard) remove(e *nearEntry) {
	delete(sh.items, e.key)
	unlinkNear(e)
	sh.used -= e.size
}

func (sh *nearShard) pushFront(e *nearEntry) {
	e.prev = &sh.queue
	e.next = sh.queue.next
	sh.queue.next.prev = e
	sh.queue.next = e
}

func unlinkNear(e *nearEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

// bytes returns what the entries and hints count against MaxBytes.
func (n *nearCache) bytes() int64 {
	var total int64
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.RLock()
		total += sh.used
		sh.mu.RUnlock()
	}
	return total
}

// expiryOf is the nominal expiry of an item written at start (unix ns)
// with the expiration field exp: positive, or expiryUnknown when it never
// expires or already has.
func expiryOf(exp int32, start int64) int64 {
	if exp <= 0 {
		return expiryUnknown
	}
	return expiresAt(exp, start)
}

// Get serves key from its entry, or reads it from the backend and keeps
// it.
func (n *nearCache) Get(ctx context.Context, key string) (*Item, error) {
	if err := ctxError(ctx, "get", key); err != nil {
		return nil, err
	}
	now := n.clock()
	if it, _ := n.lookup(key, now, n.share); it != nil {
		n.hits(ctx, 1)
		return it, nil
	}
	gen := n.shard(key).gen.Load()
	it, err := n.inner.Get(ctx, key)
	if err == nil {
		n.fill(key, it, gen, now, expiryUnknown)
	}
	return it, err
}

// GetMulti serves what it can from entries and reads the rest from the
// backend in one call, keeping what it returns.
func (n *nearCache) GetMulti(ctx context.Context, keys []string) (map[string]*Item, error) {
	if err := ctxError(ctx, "getmulti", ""); err != nil {
		return nil, err
	}
	now := n.clock()
	out := make(map[string]*Item, len(keys))
	var rest []string
	var gens []uint64
	for _, k := range keys {
		if it, _ := n.lookup(k, now, false); it != nil {
			out[k] = it
			continue
		}
		rest = append(rest, k)
		gens = append(gens, n.shard(k).gen.Load())
	}
	if len(out) > 0 {
		n.hits(ctx, len(out))
	}
	if len(rest) == 0 {
		return out, nil
	}
	items, err := n.inner.GetMulti(ctx, rest)
	for i, k := range rest {
		if it := items[k]; it != nil {
			n.fill(k, it, gens[i], now, expiryUnknown)
			out[k] = it
		}
	}
	return out, err
}

// write runs a write of item and ends its key's entry, leaving the
// expiry it gave the item when it succeeded.
func (n *nearCache) write(item *Item, call func() error) error {
	start := n.clock()
	err := call()
	if item == nil {
		return err
	}
	expires := expiryUnknown
	if err == nil {
		expires = expiryOf(item.Expiration, start)
	}
	n.invalidate(item.Key, expires)
	return err
}

// Set stores item in the backend and ends its entry.
func (n *nearCache) Set(ctx context.Context, item *Item) error {
	return n.write(item, func() error { return n.inner.Set(ctx, item) })
}

// Add stores item in the backend if its key holds nothing, and ends its
// entry.
func (n *nearCache) Add(ctx context.Context, item *Item) error {
	return n.write(item, func() error { return n.inner.Add(ctx, item) })
}

// Replace stores item in the backend if its key holds a value, and ends
// its entry.
func (n *nearCache) Replace(ctx context.Context, item *Item) error {
	return n.write(item, func() error { return n.inner.Replace(ctx, item) })
}

// CompareAndSwap stores item in the backend if its token is current, and
// ends its entry.
func (n *nearCache) CompareAndSwap(ctx context.Context, item *Item) error {
	return n.write(item, func() error { return n.inner.CompareAndSwap(ctx, item) })
}

// Delete deletes key in the backend and ends its entry.
func (n *nearCache) Delete(ctx context.Context, key string) error {
	err := n.inner.Delete(ctx, key)
	n.invalidate(key, expiryUnknown)
	return err
}

// Touch changes key's expiration in the backend and ends its entry,
// leaving the new expiry.
func (n *nearCache) Touch(ctx context.Context, key string, expiration int32) error {
	start := n.clock()
	err := n.inner.Touch(ctx, key, expiration)
	expires := expiryUnknown
	if err == nil {
		expires = expiryOf(expiration, start)
	}
	n.invalidate(key, expires)
	return err
}

// ItemSizeMax asks the backend, if it can tell.
func (n *nearCache) ItemSizeMax(ctx context.Context) (int, error) {
	m, ok := n.inner.(ItemSizeMaxer)
	if !ok {
		return 0, errNoItemSizeMax(n.inner)
	}
	return m.ItemSizeMax(ctx)
}

// nearLeaser gives a near cache over a Leaser the Leaser's methods (see
// Leases above).
type nearLeaser struct {
	n *nearCache
	l Leaser
}

// GetLease serves a read without LeaseTTL from its entry, unless the
// item's known expiry falls within RefreshBelow; it keeps a plain reply
// with the expiry it states.
func (x nearLeaser) GetLease(ctx context.Context, key string, opts LeaseOptions) (Lease, error) {
	n := x.n
	if err := ctxError(ctx, "get", key); err != nil {
		return Lease{}, err
	}
	now := n.clock()
	if opts.LeaseTTL <= 0 {
		if it, expires := n.lookup(key, now, n.share); it != nil {
			ttl := int32(-1)
			if expires > 0 {
				ttl = int32((expires - now + int64(time.Second) - 1) / int64(time.Second))
			}
			if opts.RefreshBelow <= 0 || ttl < 0 || ttl >= opts.RefreshBelow {
				n.hits(ctx, 1)
				return Lease{Item: it, TTL: ttl, CAS: it.CAS}, nil
			}
		}
	}
	gen := n.shard(key).gen.Load()
	le, err := x.l.GetLease(ctx, key, opts)
	if err == nil && le.Item != nil && !le.Won && !le.Stale {
		expires := expiryNever
		if le.TTL >= 0 {
			expires = now + int64(le.TTL)*int64(time.Second)
		}
		n.fill(key, le.Item, gen, now, expires)
	}
	return le, err
}

// Invalidate marks key stale in the backend and ends its entry. Until a
// local write, or the stale mark's lifetime (MaxNearCacheTTL if it keeps
// the item's), no read fills it again: a plain read of a stale item does
// not say it is stale, and serving it from here would keep GetOrLoad from
// the stale token that makes one caller reload it.
func (x nearLeaser) Invalidate(ctx context.Context, key string, staleTTL int32) error {
	err := x.l.Invalidate(ctx, key, staleTTL)
	x.n.invalidate(key, expiryUnknown)
	d := MaxNearCacheTTL
	if staleTTL > 0 {
		d = time.Duration(staleTTL) * time.Second
	}
	x.n.markStale(key, x.n.clock()+int64(d))
	return err
}

// markStale keeps key's entry from being filled until the unix ns until,
// or a local write (see Invalidate).
func (n *nearCache) markStale(key string, until int64) {
	size := itemSize(key, 0, 0)
	if size > n.shardMax {
		return
	}
	sh := n.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen.Add(1)
	if old := sh.items[key]; old != nil {
		sh.remove(old)
	}
	sh.insert(n.shardMax, &nearEntry{key: key, staleUntil: until, size: size})
}

// ReleaseLease gives up a lease in the backend and ends key's entry.
func (x nearLeaser) ReleaseLease(ctx context.Context, key string, cas uint64) error {
	err := x.l.ReleaseLease(ctx, key, cas)
	x.n.invalidate(key, expiryUnknown)
	return err
}

// nearBatcher gives a near cache over a backend that pipelines batches
// the MultiSetter and MultiDeleter methods, falling back to one call at a
// time for the one it lacks.
type nearBatcher struct{ n *nearCache }

// SetMulti stores items in one batch and ends their entries.
func (x nearBatcher) SetMulti(ctx context.Context, items []*Item) []error {
	n := x.n
	m, ok := n.inner.(MultiSetter)
	if !ok {
		return SetMultiLoop(ctx, n, items)
	}
	start := n.clock()
	errs := m.SetMulti(ctx, items)
	for i, it := range items {
		if it == nil {
			continue
		}
		expires := expiryUnknown
		if errs == nil || errs[i] == nil {
			expires = expiryOf(it.Expiration, start)
		}
		n.invalidate(it.Key, expires)
	}
	return errs
}

// DeleteMulti deletes keys in one batch and ends their entries.
func (x nearBatcher) DeleteMulti(ctx context.Context, keys []string) []error {
	n := x.n
	m, ok := n.inner.(MultiDeleter)
	if !ok {
		return DeleteMultiLoop(ctx, n, keys)
	}
	errs := m.DeleteMulti(ctx, keys)
	for _, k := range keys {
		n.invalidate(k, expiryUnknown)
	}
	return errs
}

// cache returns n itself, through the struct types newNearCache wraps it in.
func (n *nearCache) cache() *nearCache { return n }
