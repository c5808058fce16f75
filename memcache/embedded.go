package memcache

import (
	"context"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultEmbeddedMaxBytes is the embedded backend's default memory cap, the
// same as memcached's default -m 64.
const DefaultEmbeddedMaxBytes = 64 << 20

// EmbeddedConfig configures an [Embedded] backend. The zero value is a
// default memcached: 64 MiB and a 1 MiB item size limit.
type EmbeddedConfig struct {
	// MaxBytes caps the memory the items may use, counting each item as
	// its key, its value and memcached's per-item overhead (what
	// MaxValueLen leaves out of item_size_max). Storing past the cap evicts
	// the items least recently used, as far as Embedded tracks recency
	// (see there). Zero means DefaultEmbeddedMaxBytes.
	MaxBytes int64
	// ItemSizeMax is the item size limit, memcached's -I. Zero means
	// DefaultItemSizeMax. Like memcached, which refuses -I above half of -m,
	// it is lowered to MaxBytes/2 when larger.
	ItemSizeMax int
	// Now is the clock that expirations are measured by; nil means
	// time.Now. Tests set it to move time forward without sleeping.
	Now func() time.Time
}

// Embedded is an in-process Backend with memcached's semantics: the same key
// rules, item size rule, expiration rules, CAS tokens and outcomes of Add,
// Replace, CompareAndSwap, Delete and Touch, and a memory cap that evicts
// the items least recently used, roughly (see below). It needs no server, which makes it the default for
// demos, unit tests and local development.
//
// Values are copied in and out, so callers never share memory with the
// cache. Every operation takes constant time per key, amortized over the
// evictions, and is safe for concurrent use; reads, of one key or many, run
// in parallel.
// Create one with NewEmbedded; the zero value is not ready for use.
//
// Two differences from a real server are on purpose. memcached's clock ticks
// once a second, so an item set to expire in n seconds lives between n-1
// and n seconds there, while Embedded keeps it exactly n seconds. And
// recency is kept as memcached keeps it, roughly: a read only marks the item
// as used, and eviction gives a marked item at the cold end of the queue a
// second chance instead of evicting it (the CLOCK algorithm). Reads then
// write nothing shared, which is what lets them run in parallel; memcached,
// for the same reason, moves an item in its LRU at most once a minute.
type Embedded struct {
	maxBytes    int64
	itemSizeMax int
	now         func() time.Time
	seed        maphash.Seed // picks an item's shard

	// mu serializes every change: it guards the queue, used and cas, and
	// is held, with the shard's lock inside it, to change a shard's map or
	// an item's expires. Reads take only the shard's read lock.
	mu     sync.Mutex
	queue  embeddedItem // sentinel of the eviction queue: queue.next is the newest
	used   int64        // what the items count against maxBytes
	n      int          // items in the queue
	cas    uint64       // last CAS token handed out
	shards [embeddedShards]embeddedShard
}

// embeddedShards is how many locks the items are spread over: enough that
// readers on many cores seldom meet on one.
const embeddedShards = 64

// embeddedShard is one part of the index. Its padding keeps neighbouring
// locks off one cache line, where readers on different cores would contend
// for the line although not for the lock.
type embeddedShard struct {
	mu    sync.RWMutex
	items map[string]*embeddedItem
	_     [64 - 24 - 8]byte
}

// embeddedItem is one stored item and its place in the eviction queue. Key,
// value, flags and cas never change once the item is stored, so a reader
// may use them after releasing the shard's lock; a new value is a new item.
type embeddedItem struct {
	key        string
	value      []byte
	expires    int64 // unix nanoseconds; 0 means never
	cas        uint64
	prev, next *embeddedItem
	flags      uint32
	// referenced is set by reads and cleared by eviction, which spares a
	// referenced item once.
	referenced atomic.Bool
}

// Embedded implements Backend and ItemSizeMaxer.
var (
	_ Backend       = (*Embedded)(nil)
	_ ItemSizeMaxer = (*Embedded)(nil)
)

// NewEmbedded returns an empty embedded backend.
func NewEmbedded(cfg EmbeddedConfig) *Embedded {
	e := &Embedded{
		maxBytes:    cfg.MaxBytes,
		itemSizeMax: cfg.ItemSizeMax,
		now:         cfg.Now,
		seed:        maphash.MakeSeed(),
	}
	if e.maxBytes <= 0 {
		e.maxBytes = DefaultEmbeddedMaxBytes
	}
	if e.itemSizeMax <= 0 {
		e.itemSizeMax = DefaultItemSizeMax
	}
	e.itemSizeMax = int(min(int64(e.itemSizeMax), e.maxBytes/2))
	if e.now == nil {
		e.now = time.Now
	}
	for i := range e.shards {
		e.shards[i].items = make(map[string]*embeddedItem)
	}
	e.queue.next, e.queue.prev = &e.queue, &e.queue
	return e
}

// ItemSizeMax returns the item size limit in effect.
func (e *Embedded) ItemSizeMax(ctx context.Context) (int, error) {
	if err := ctxError(ctx, "itemsizemax", ""); err != nil {
		return 0, err
	}
	return e.itemSizeMax, nil
}

// Keys returns the keys of the live items that begin with prefix, in no
// particular order. A real memcached cannot list its keys, short of
// debugging commands that walk the whole cache, so only the embedded
// backend offers this; it lets session.Store enumerate its sessions (scs's
// IterableStore). It walks every item, in time proportional to the whole
// cache, so it is meant for tools and administrative tasks, not for every
// request. It does not count as a use of the items for eviction.
func (e *Embedded) Keys(prefix string) []string {
	now := e.now().UnixNano()
	keys := []string{}
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.RLock()
		for k, en := range sh.items {
			if strings.HasPrefix(k, prefix) && !expired(en.expires, now) {
				keys = append(keys, k)
			}
		}
		sh.mu.RUnlock()
	}
	return keys
}

// Get returns a copy of the item stored under key, or ErrCacheMiss.
func (e *Embedded) Get(ctx context.Context, key string) (*Item, error) {
	if err := checkCall(ctx, "get", key); err != nil {
		return nil, err
	}
	var now int64
	en := e.read(key, &now)
	if en == nil {
		return nil, ErrCacheMiss
	}
	return en.item(), nil
}

// GetMulti returns copies of the items found among keys. An illegal key
// fails the whole call, as it does on a real server.
func (e *Embedded) GetMulti(ctx context.Context, keys []string) (map[string]*Item, error) {
	if err := ctxError(ctx, "getmulti", ""); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := checkKey("getmulti", k); err != nil {
			return nil, err
		}
	}
	m := make(map[string]*Item, len(keys))
	var now int64 // one instant for the whole call, read when first needed
	for _, k := range keys {
		if en := e.read(k, &now); en != nil {
			m[k] = en.item()
		}
	}
	return m, nil
}

// read is the read path: it returns the live item under key and marks it
// referenced, or returns nil, holding only the shard's read lock. The clock
// is read into *now only when an item can expire and *now is still zero,
// so that reads of items without expiration never pay for it.
func (e *Embedded) read(key string, now *int64) *embeddedItem {
	sh := e.shard(key)
	sh.mu.RLock()
	en := sh.items[key]
	var expires int64
	if en != nil {
		expires = en.expires // Touch changes it, under the shard's lock
	}
	sh.mu.RUnlock()
	if en == nil {
		return nil
	}
	if expires != 0 {
		if *now == 0 {
			*now = e.now().UnixNano()
		}
		if expired(expires, *now) {
			e.dropExpired(en, *now)
			return nil
		}
	}
	// Load first: a store to a line other cores read is what costs.
	if !en.referenced.Load() {
		en.referenced.Store(true)
	}
	return en
}

// dropExpired removes en, which a read found expired, unless a writer has
// replaced it meanwhile; memcached too reclaims expired items lazily.
func (e *Embedded) dropExpired(en *embeddedItem, now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cur := e.shard(en.key).items[en.key]; cur == en && expired(en.expires, now) {
		e.remove(en)
	}
}

// Set stores item unconditionally. A value too large for the item size
// limit is refused with ErrTooLarge and, as memcached does, deletes the
// value previously stored under the key.
func (e *Embedded) Set(ctx context.Context, item *Item) error {
	return e.store(ctx, "set", item)
}

// Add stores item only if its key holds nothing, else returns ErrNotStored.
func (e *Embedded) Add(ctx context.Context, item *Item) error {
	return e.store(ctx, "add", item)
}

// Replace stores item only if its key holds a value, else returns
// ErrNotStored.
func (e *Embedded) Replace(ctx context.Context, item *Item) error {
	return e.store(ctx, "replace", item)
}

// CompareAndSwap stores item only if the key's CAS token still equals
// item.CAS. It returns ErrCacheMiss when the key holds nothing and
// ErrCASConflict when the token differs.
func (e *Embedded) CompareAndSwap(ctx context.Context, item *Item) error {
	return e.store(ctx, "cas", item)
}

// Delete removes key, or returns ErrCacheMiss when it holds nothing.
func (e *Embedded) Delete(ctx context.Context, key string) error {
	if err := checkCall(ctx, "delete", key); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	en := e.lookup(key, e.now().UnixNano())
	if en == nil {
		return ErrCacheMiss
	}
	e.remove(en)
	return nil
}

// Touch sets key's expiration, with the same rules as Item.Expiration, or
// returns ErrCacheMiss when the key holds nothing. Like memcached, it keeps
// the CAS token, and it counts as a use of the item.
func (e *Embedded) Touch(ctx context.Context, key string, expiration int32) error {
	if err := checkCall(ctx, "touch", key); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now().UnixNano()
	en := e.lookup(key, now)
	if en == nil {
		return ErrCacheMiss
	}
	expires := expiresAt(expiration, now)
	if expired(expires, now) {
		e.remove(en)
		return nil
	}
	sh := e.shard(key)
	sh.mu.Lock()
	en.expires = expires
	sh.mu.Unlock()
	e.unlink(en)
	e.pushFront(en)
	return nil
}

// store is Set, Add, Replace and CompareAndSwap. Its order of checks is the
// server's: the size limit first, whatever the condition, then the
// condition.
func (e *Embedded) store(ctx context.Context, op string, item *Item) error {
	if err := checkItem(ctx, op, item); err != nil {
		return err
	}
	tooLarge := len(item.Value) > MaxValueLen(e.itemSizeMax, item.Key, item.Flags)
	var value []byte
	if !tooLarge {
		// Copy before locking: a large copy should not hold up others.
		value = make([]byte, len(item.Value))
		copy(value, item.Value)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now().UnixNano()
	old := e.lookup(item.Key, now)
	if tooLarge {
		// memcached drops the stale value on a failed set only; add,
		// replace and cas keep it (measured on 1.6.18).
		if op == "set" && old != nil {
			e.remove(old)
		}
		return &OpError{Op: op, Key: item.Key, Kind: ErrTooLarge, Err: fmt.Errorf(
			"value of %d bytes; at most %d fit under this key and flags with item_size_max %d",
			len(item.Value), MaxValueLen(e.itemSizeMax, item.Key, item.Flags), e.itemSizeMax)}
	}
	switch op {
	case "add":
		if old != nil {
			return ErrNotStored
		}
	case "replace":
		if old == nil {
			return ErrNotStored
		}
	case "cas":
		if old == nil {
			return ErrCacheMiss
		}
		if old.cas != item.CAS {
			return ErrCASConflict
		}
	}
	if old != nil {
		e.remove(old)
	}
	expires := expiresAt(item.Expiration, now)
	e.cas++
	if expired(expires, now) {
		// Stored and gone at once, as on the server: the call succeeds and
		// the old value is no more.
		return nil
	}
	en := &embeddedItem{
		key:     item.Key,
		value:   value,
		flags:   item.Flags,
		expires: expires,
		cas:     e.cas,
	}
	e.evictFor(en.size())
	sh := e.shard(en.key)
	sh.mu.Lock()
	sh.items[en.key] = en
	sh.mu.Unlock()
	e.pushFront(en)
	e.used += en.size()
	e.n++
	return nil
}

// itemSize is what an item counts against MaxBytes: memcached's own
// accounting, so a cap means about what -m means.
func itemSize(key string, valueLen int, flags uint32) int64 {
	n := int64(len(key) + valueLen + itemOverhead)
	if flags != 0 {
		n += flagsOverhead
	}
	return n
}

// expiresAt turns a memcached expiration into unix nanoseconds; 0 means
// never, and a past time means already expired.
func expiresAt(exp int32, now int64) int64 {
	switch {
	case exp == 0:
		return 0
	case exp < 0:
		return now // expired: expired() treats "now" as gone
	case exp <= maxRelativeExpiration:
		return now + int64(exp)*int64(time.Second)
	default:
		return int64(exp) * int64(time.Second)
	}
}

func expired(expires, now int64) bool { return expires != 0 && now >= expires }

// shard returns the shard that holds key.
func (e *Embedded) shard(key string) *embeddedShard {
	return &e.shards[maphash.String(e.seed, key)%embeddedShards]
}

// lookup is the write path's read: it returns the live item for key or nil,
// removing an expired one on the way, as memcached does lazily. e.mu must
// be held; no writer can then change the maps, so it reads them unlocked.
func (e *Embedded) lookup(key string, now int64) *embeddedItem {
	en := e.shard(key).items[key]
	if en == nil {
		return nil
	}
	if expired(en.expires, now) {
		e.remove(en)
		return nil
	}
	return en
}

// evictFor drops items from the cold end of the queue until size more
// bytes fit. A referenced item is spared once: it loses its mark and goes
// back to the warm end. Readers may mark items again as fast as it clears
// them, so after a whole round of the queue it evicts without sparing.
// e.mu must be held.
func (e *Embedded) evictFor(size int64) {
	spare := e.n
	for e.used+size > e.maxBytes && e.queue.prev != &e.queue {
		en := e.queue.prev
		if spare > 0 && en.referenced.Swap(false) {
			spare--
			e.unlink(en)
			e.pushFront(en)
			continue
		}
		e.remove(en)
	}
}

// remove takes en out of the index and the queue. e.mu must be held.
func (e *Embedded) remove(en *embeddedItem) {
	sh := e.shard(en.key)
	sh.mu.Lock()
	delete(sh.items, en.key)
	sh.mu.Unlock()
	e.unlink(en)
	e.used -= en.size()
	e.n--
}

func (e *Embedded) unlink(en *embeddedItem) {
	en.prev.next = en.next
	en.next.prev = en.prev
	en.prev, en.next = nil, nil
}

func (e *Embedded) pushFront(en *embeddedItem) {
	en.prev = &e.queue
	en.next = e.queue.next
	e.queue.next.prev = en
	e.queue.next = en
}

// size is what en counts against MaxBytes.
func (en *embeddedItem) size() int64 { return itemSize(en.key, len(en.value), en.flags) }

// item returns a copy of en that the caller may keep and modify.
func (en *embeddedItem) item() *Item {
	v := make([]byte, len(en.value))
	copy(v, en.value)
	return &Item{Key: en.key, Value: v, Flags: en.flags, CAS: en.cas}
}
