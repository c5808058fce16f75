package memcache

import (
	"context"
	"fmt"
	"strings"
	"sync"
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
	// the least recently used items. Zero means DefaultEmbeddedMaxBytes.
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
// Replace, CompareAndSwap, Delete and Touch, and a memory cap with least
// recently used eviction. It needs no server, which makes it the default for
// demos, unit tests and local development.
//
// Values are copied in and out, so callers never share memory with the
// cache. Every operation takes constant time per key and is safe for
// concurrent use. Create one with NewEmbedded; the zero value is not ready
// for use.
//
// One difference from a real server is on purpose: memcached's clock ticks
// once a second, so an item set to expire in n seconds lives between n-1
// and n seconds there, while Embedded keeps it exactly n seconds.
type Embedded struct {
	maxBytes    int64
	itemSizeMax int
	now         func() time.Time

	mu    sync.Mutex
	items map[string]*embeddedItem
	lru   embeddedItem // sentinel of the recency ring: lru.next is the newest
	used  int64        // sum of embeddedItem.size over items
	cas   uint64       // last CAS token handed out
}

// embeddedItem is one stored item and its place in the recency ring.
type embeddedItem struct {
	key        string
	value      []byte
	flags      uint32
	expires    int64 // unix nanoseconds; 0 means never
	cas        uint64
	size       int64
	prev, next *embeddedItem
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
		items:       make(map[string]*embeddedItem),
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
	e.lru.next, e.lru.prev = &e.lru, &e.lru
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
// IterableStore). It walks every item while holding the lock, in time
// proportional to the whole cache, so it is meant for tools and
// administrative tasks, not for every request. It does not count as a use of
// the items for eviction.
func (e *Embedded) Keys(prefix string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now().UnixNano()
	keys := []string{}
	for k, en := range e.items {
		if strings.HasPrefix(k, prefix) && !expired(en.expires, now) {
			keys = append(keys, k)
		}
	}
	return keys
}

// Get returns a copy of the item stored under key, or ErrCacheMiss.
func (e *Embedded) Get(ctx context.Context, key string) (*Item, error) {
	if err := checkCall(ctx, "get", key); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	en := e.lookup(key, e.now().UnixNano())
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
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now().UnixNano()
	for _, k := range keys {
		if en := e.lookup(k, now); en != nil {
			m[k] = en.item()
		}
	}
	return m, nil
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
// the CAS token.
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
	en.expires = expiresAt(expiration, now)
	if expired(en.expires, now) {
		e.remove(en)
	}
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
	if expired(expires, now) {
		// Stored and gone at once, as on the server: the call succeeds and
		// the old value is no more.
		e.cas++
		return nil
	}
	en := &embeddedItem{
		key:     item.Key,
		value:   value,
		flags:   item.Flags,
		expires: expires,
		size:    itemSize(item.Key, len(value), item.Flags),
	}
	e.cas++
	en.cas = e.cas
	e.evictFor(en.size)
	e.items[en.key] = en
	e.pushFront(en)
	e.used += en.size
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

// lookup returns the live embeddedItem for key and marks it most recently used, or
// returns nil. An expired embeddedItem is removed on the way, as memcached does
// lazily.
func (e *Embedded) lookup(key string, now int64) *embeddedItem {
	en := e.items[key]
	if en == nil {
		return nil
	}
	if expired(en.expires, now) {
		e.remove(en)
		return nil
	}
	e.unlink(en)
	e.pushFront(en)
	return en
}

// evictFor drops least recently used entries until size more bytes fit.
func (e *Embedded) evictFor(size int64) {
	for e.used+size > e.maxBytes && e.lru.prev != &e.lru {
		e.remove(e.lru.prev)
	}
}

func (e *Embedded) remove(en *embeddedItem) {
	e.unlink(en)
	delete(e.items, en.key)
	e.used -= en.size
}

func (e *Embedded) unlink(en *embeddedItem) {
	en.prev.next = en.next
	en.next.prev = en.prev
	en.prev, en.next = nil, nil
}

func (e *Embedded) pushFront(en *embeddedItem) {
	en.prev = &e.lru
	en.next = e.lru.next
	e.lru.next.prev = en
	e.lru.next = en
}

// item returns a copy of en that the caller may keep and modify.
func (en *embeddedItem) item() *Item {
	v := make([]byte, len(en.value))
	copy(v, en.value)
	return &Item{Key: en.key, Value: v, Flags: en.flags, CAS: en.cas}
}
