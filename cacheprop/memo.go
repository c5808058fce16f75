package cacheprop

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leancache/leancache/internal/flight"
)

// Memo is a per-instance memo table: it maps keys to values computed on
// demand, and lives in a field of the object whose results it holds, so the
// results die with the object. A package-level map keyed by the object
// instead keeps every object it has seen alive for the life of the process.
//
// The zero Memo is an empty, unbounded table, ready to use. It is one pointer
// in size, 8 bytes on 64-bit platforms, and allocates nothing until its first
// Get or [Memo.Configure], so a type with a Memo field stays cheap when
// millions of its values exist. Once used, it costs a table of 112 bytes
// plus one key and one value, a record of 24 bytes plus the key and value
// for each value held, and a map only past 8 values (figures for 64-bit
// platforms).
//
// A Memo field is a cached property with or without a cacheprop tag: the
// codecs never write it and reset it after decoding.
//
// A Memo may be used by several goroutines at once. It must not be copied
// after first use (go vet reports copies).
type Memo[K comparable, V any] struct {
	// t is nil until first use. Keeping the table behind one pointer is
	// what makes the zero Memo small and allocation-free.
	t atomic.Pointer[memoTable[K, V]]
}

// MemoOptions bounds a [Memo], or a function returned by [MemoizeFunc] or
// [MemoizeFuncContext]. The zero MemoOptions means no bound and no expiry.
type MemoOptions struct {
	// MaxEntries is the most values held at once. Storing one more evicts
	// the least recently used. Zero or negative means no bound.
	MaxEntries int
	// TTL is how long a stored value is returned before it is computed
	// again. Zero or negative means values never expire. Deadlines are
	// kept by the monotonic clock. Hits read a coarse clock, which one
	// goroutine of the package advances every 10 ms while TTL hits happen
	// (it waits, with no timer, while none do), and the exact clock only in
	// the last 100 ms of a value's life; so a TTL hit costs about what an
	// unbounded one does, and a value is never returned at or after its
	// deadline unless that goroutine is held up for more than 90 ms, as
	// only an overloaded process sees.
	TTL time.Duration
}

// normalized maps every "no limit" value to zero, so that comparing with the
// zero MemoOptions tells whether any limit is set.
func (o MemoOptions) normalized() MemoOptions {
	o.MaxEntries = max(o.MaxEntries, 0)
	o.TTL = max(o.TTL, 0)
	return o
}

// MemoStats counts what a [Memo] has done since it was created or last reset.
type MemoStats struct {
	// Hits counts calls that returned a value without computing it: a stored
	// value, or the result of a concurrent caller's computation.
	Hits uint64
	// Misses counts calls that computed, whatever the outcome. Calls that
	// received a concurrent caller's error or panic, or whose context ended
	// while they waited, count as neither hits nor misses.
	Misses uint64
	// Evictions counts values removed because of MaxEntries or TTL, not
	// those removed by Forget or Reset.
	Evictions uint64
}

// memoTable is the state of a used Memo.
type memoTable[K comparable, V any] struct {
	mu sync.Mutex // guards every field below
	// detached is set when Reset drops this table from its Memo, so that
	// Configure does not set options on a table nobody will use again.
	detached bool
	opts     MemoOptions
	// n counts the entries, all on the recency list. items indexes them
	// once there are more than smallMemo: below that a scan of the list
	// is about as fast as a map and saves the map's few hundred bytes,
	// in every instance that memoizes a value or two.
	n     int
	items map[K]*memoEntry[K, V]
	// pending and calls are the computations in progress: the first in
	// pending, any others in calls. Most Memos compute one key at a time,
	// and a map for it would cost more than the call itself.
	pending *flight.Call[K, V]
	calls   map[K]*flight.Call[K, V]
	// root is the sentinel of the recency list: root.next is the most
	// recently used entry and root.prev the least.
	root  memoEntry[K, V]
	stats MemoStats
}

type memoEntry[K comparable, V any] struct {
	prev, next *memoEntry[K, V]
	key        K
	val        V
	expires    int64 // monoNow deadline; 0 means never
}

// smallMemo is the most entries a Memo holds without a map.
const smallMemo = 8

// epoch anchors monoNow so that deadlines are plain integers read from the
// monotonic clock, unaffected by changes to the wall clock.
var epoch = time.Now()

func monoNow() int64 { return int64(time.Since(epoch)) }

// memoClock is the coarse clock of TTL hits. Reading the monotonic clock
// costs more than the rest of a hit on many machines (a system call where
// the kernel offers no fast clock source), so a hit reads memoClock.now
// instead, which a ticking goroutine keeps at most memoClockTick behind, and
// pays for the exact clock only near a deadline (see stale).
//
// The goroutine ticks only while hits use the clock: a tick with no hit
// since the last one parks it on wake, with no timer, until a hit finds the
// clock stopped and wakes it. It is started by init, outside any
// testing/synctest bubble, so that a bubble never owns it and a test's end
// never waits for it; a bubble's hits see a time of another clock, which
// stale recognizes, and use their own exact clock.
var memoClock = coarseClock{wake: make(chan struct{}, 1)}

func init() { go memoClock.run() }

const (
	// memoClockTick is how often the coarse clock advances while in use:
	// a hundred wakeups a second, cheap beside the hits they save.
	memoClockTick = 10 * time.Millisecond
	// memoClockGuard is how far ahead a deadline must be for a hit to
	// trust the coarse clock. It leaves the goroutine nine ticks of
	// scheduling delay before a value could outlive its TTL.
	memoClockGuard = 10 * memoClockTick
)

type coarseClock struct {
	now  atomic.Int64 // monoNow at the last tick; 0 while stopped
	read atomic.Bool  // a hit has read now since the last tick
	wake chan struct{}
}

// Now returns a recent monoNow: at most memoClockTick old, or more when the
// ticking goroutine is held up; or, while the clock is stopped, monoNow
// itself.
func (c *coarseClock) Now() int64 {
	if n := c.now.Load(); n != 0 {
		// Load first: only the first hit of a tick writes the shared line.
		if !c.read.Load() {
			c.read.Store(true)
		}
		return n
	}
	// Only the goroutine stores readings, so that they all come from one
	// clock: the caller may be in a testing/synctest bubble.
	c.read.Store(true)
	select {
	case c.wake <- struct{}{}:
	default: // a wakeup is pending already
	}
	return monoNow()
}

// coarseReading is monoNow as memoClock keeps it, where 0 means stopped.
// monoNow can be any value: it is far below zero in a testing/synctest
// bubble, whose clock started in 2000.
func coarseReading() int64 {
	if n := monoNow(); n != 0 {
		return n
	}
	return 1
}

// run advances c while it is read, until wake is closed.
func (c *coarseClock) run() {
	for range c.wake {
		c.now.Store(coarseReading())
		t := time.NewTicker(memoClockTick)
		for range t.C {
			if !c.read.Swap(false) {
				c.now.Store(0)
				break
			}
			c.now.Store(coarseReading())
		}
		t.Stop()
	}
}

// stale reports whether the deadline expires has passed, given coarse, a
// recent reading of memoClock, and the ttl in force. It reads the exact
// clock unless coarse settles the question: when the deadline is more than
// memoClockGuard ahead of coarse, and no further ahead than ttl allows. A
// deadline further ahead means coarse is no recent reading of the clock the
// deadline was set by (a testing/synctest bubble's clock against the real
// one, say) or the value was stored under a longer TTL; the exact clock
// decides then. The coarse clock is thus only ever trusted to say that a
// deadline is still well ahead, and a reading that lags behind by less than
// memoClockGuard cannot make a value outlive its TTL.
func stale(expires, coarse int64, ttl time.Duration) bool {
	if ahead := expires - coarse; ahead > int64(memoClockGuard) && ahead <= int64(ttl+memoClockGuard) {
		return false
	}
	return monoNow() >= expires
}

// table returns m's table, creating it on first use.
func (m *Memo[K, V]) table() *memoTable[K, V] {
	for {
		if t := m.t.Load(); t != nil {
			return t
		}
		t := new(memoTable[K, V])
		t.root.next, t.root.prev = &t.root, &t.root
		if m.t.CompareAndSwap(nil, t) {
			return t
		}
	}
}

// Configure sets the bound and expiry of m. Values already held are evicted
// at once to fit MaxEntries, least recently used first; recency is tracked
// only while a bound is set, so values stored before the first bound rank by
// when they were stored. TTL applies to values stored from now on. A
// configured Memo keeps its options through Reset.
//
// Configure allocates m's table, as first use does: a Memo that is
// configured but never used costs that allocation.
func (m *Memo[K, V]) Configure(opts MemoOptions) {
	opts = opts.normalized()
	for {
		t := m.table()
		t.mu.Lock()
		if t.detached {
			t.mu.Unlock()
			continue
		}
		t.opts = opts
		t.evictOverflow()
		t.mu.Unlock()
		return
	}
}

// Get returns the value for key, calling compute(key) to produce and store it
// if m holds none. Concurrent callers for one key run compute once and all
// receive its result. Passing a method value such as client.Lookup as compute
// memoizes that method for the lifetime of m.
//
// If compute panics, Get panics with the same value in the goroutine that
// called compute, and with a [*PanicError] holding that value in every
// goroutine that was waiting for it; nothing is stored, so the next Get for
// key computes again. If compute calls runtime.Goexit, nothing is stored and
// the waiting goroutines compute for themselves.
//
// compute may use m for other keys, but asking m for key itself from within
// compute deadlocks. A key that is not equal to itself, such as a NaN, is
// computed on every call and never stored. Get panics if compute is nil, or,
// as a map does, if key is an interface holding an incomparable value.
func (m *Memo[K, V]) Get(key K, compute func(K) V) V {
	if compute == nil {
		panic(errNilCompute)
	}
	t := m.table()
	if v, ok := t.lookup(key); ok {
		return v
	}
	v, _ := t.get(context.Background(), key, flight.Loader[K, V]{Plain: compute})
	return v
}

// GetErr is like Get for a computation that can fail. A non-nil error is
// returned with the zero value (a value compute returned with it is
// dropped) and not stored: the next call for key computes again. Callers that
// were waiting for the failed computation receive its error too, as
// singleflight's do, rather than each retrying at once.
func (m *Memo[K, V]) GetErr(key K, compute func(K) (V, error)) (V, error) {
	if compute == nil {
		panic(errNilCompute)
	}
	t := m.table()
	if v, ok := t.lookup(key); ok {
		return v, nil
	}
	return t.get(context.Background(), key, flight.Loader[K, V]{Fallible: compute})
}

// GetContext is like GetErr for a computation that takes a context. ctx is
// passed to compute and is never part of the key. A caller waiting for
// another's computation stops waiting when its own ctx is done, returning
// ctx.Err(); and if that computation fails because the other caller's context
// ended, a waiter whose ctx is still live computes for itself rather than
// receive someone else's cancellation.
func (m *Memo[K, V]) GetContext(ctx context.Context, key K, compute func(context.Context, K) (V, error)) (V, error) {
	if compute == nil {
		panic(errNilCompute)
	}
	t := m.table()
	if v, ok := t.lookup(key); ok {
		return v, nil
	}
	return t.get(ctx, key, flight.Loader[K, V]{WithCtx: compute})
}

// Forget removes the value for key. A computation for key in progress still
// returns its result to its callers but does not store it, and later callers
// compute afresh rather than wait for it.
func (m *Memo[K, V]) Forget(key K) {
	t := m.t.Load()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.find(key); e != nil {
		t.remove(e)
	}
	t.dropCall(key)
}

// Len returns the number of values m holds. It may count values whose TTL
// has passed but which have not yet been removed; those are never returned.
func (m *Memo[K, V]) Len() int {
	t := m.t.Load()
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// Stats returns m's hit, miss and eviction counts.
func (m *Memo[K, V]) Stats() MemoStats {
	t := m.t.Load()
	if t == nil {
		return MemoStats{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// Reset removes every value and zeroes the counts, keeping the options set by
// Configure; an unconfigured Memo returns to its zero, allocation-free state.
// Computations in progress return their results to their callers but do not
// store them.
func (m *Memo[K, V]) Reset() {
	t := m.t.Load()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n, t.items, t.pending, t.calls = 0, nil, nil, nil
	t.root.next, t.root.prev = &t.root, &t.root
	t.stats = MemoStats{}
	if t.opts == (MemoOptions{}) && m.t.CompareAndSwap(t, nil) {
		t.detached = true
	}
}

func (*Memo[K, V]) cachedProperty() {}

// expired reports whether the TTL of e has passed, removing e if so. t.mu
// must be held.
func (t *memoTable[K, V]) expired(e *memoEntry[K, V]) bool {
	if !stale(e.expires, memoClock.Now(), t.opts.TTL) {
		return false
	}
	t.remove(e)
	t.stats.Evictions++
	return true
}

// touch marks e most recently used. Only a bound needs recency: without
// one the list stays in insertion order, which is also expiry order, and a
// hit writes nothing but the hit count.
func (t *memoTable[K, V]) touch(e *memoEntry[K, V]) {
	if t.opts.MaxEntries > 0 && t.root.next != e {
		e.prev.next, e.next.prev = e.next, e.prev
		t.pushFront(e)
	}
}

// errNilCompute is the panic value of a Get given no compute function.
const errNilCompute = "cacheprop: Memo: nil compute function"

// lookup is the hit path: it returns the value held for key, if any. The
// lock is released by defer because hashing a key can panic (an interface
// key holding a slice), and a panic must not leave the Memo locked for good.
func (t *memoTable[K, V]) lookup(key K) (v V, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hitLocked(key)
}

// hitLocked returns the value held for key, if any, and counts the hit.
// t.mu must be held.
func (t *memoTable[K, V]) hitLocked(key K) (v V, ok bool) {
	e := t.find(key)
	if e == nil || e.expires != 0 && t.expired(e) {
		return v, false
	}
	t.touch(e)
	t.stats.Hits++
	return e.val, true
}

// get returns the value for key, computing it with ld if need be: the slow
// path, after lookup missed.
func (t *memoTable[K, V]) get(ctx context.Context, key K, ld flight.Loader[K, V]) (V, error) {
	for {
		v, c, done, how := t.claim(key)
		switch how {
		case claimHit:
			return v, nil
		case claimLead:
			c.Run(ctx, t, ld)
			return c.Val, c.Err
		case claimAlone:
			return ld.Load(ctx, key)
		}
		select {
		case <-done:
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
		v, err, retry := c.Shared(ctx, ld.CanFail())
		if !retry {
			if err == nil {
				t.countHit()
			}
			return v, err
		}
		// The computation waited for left nothing: start over.
	}
}

// A claim is what a caller of memoTable.claim is to do.
type claim uint8

const (
	claimHit   claim = iota // return the value held
	claimWait               // wait for another caller's computation
	claimLead               // run the computation registered for the caller
	claimAlone              // compute without registering: key != key
)

// claim looks key up again and decides what the caller does: return the
// value held (another caller may have stored it since lookup), wait on done
// for the computation in progress c, or run the new computation c. The lock
// is released by defer, as in lookup.
func (t *memoTable[K, V]) claim(key K) (v V, c *flight.Call[K, V], done <-chan struct{}, how claim) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.hitLocked(key); ok {
		return v, nil, nil, claimHit
	}
	if c := t.findCall(key); c != nil {
		return v, c, c.Wait(), claimWait
	}
	t.stats.Misses++
	if key != key {
		// A map can neither find nor delete such a key, such as a NaN:
		// registering it would leave a call behind on every Get.
		return v, nil, nil, claimAlone
	}
	c = &flight.Call[K, V]{Key: key}
	t.addCall(c)
	return v, c, nil, claimLead
}

func (t *memoTable[K, V]) countHit() {
	t.mu.Lock()
	t.stats.Hits++
	t.mu.Unlock()
}

// findCall returns the computation in progress for key, if any. t.mu must be
// held.
func (t *memoTable[K, V]) findCall(key K) *flight.Call[K, V] {
	if c := t.pending; c != nil && c.Key == key {
		return c
	}
	return t.calls[key]
}

// addCall records c as the computation in progress for its key. t.mu must
// be held.
func (t *memoTable[K, V]) addCall(c *flight.Call[K, V]) {
	if t.pending == nil {
		t.pending = c
		return
	}
	if t.calls == nil {
		t.calls = make(map[K]*flight.Call[K, V])
	}
	t.calls[c.Key] = c
}

// dropCall forgets the computation in progress for key. t.mu must be held.
func (t *memoTable[K, V]) dropCall(key K) {
	if c := t.pending; c != nil && c.Key == key {
		t.pending = nil
		return
	}
	delete(t.calls, key)
	if len(t.calls) == 0 {
		// Most Memos are idle most of the time: an empty map still costs
		// its buckets, for every instance.
		t.calls = nil
	}
}

// Finish stores the outcome of c if it succeeded and c is still the
// computation of record for its key, and ends c.
func (t *memoTable[K, V]) Finish(c *flight.Call[K, V]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer c.End()
	if t.findCall(c.Key) != c {
		return // Forget or Reset disowned it
	}
	t.dropCall(c.Key)
	if c.Err != nil || c.Panicked != nil {
		return
	}
	key := c.Key
	if old := t.find(key); old != nil {
		t.remove(old)
	}
	e := &memoEntry[K, V]{key: key, val: c.Val}
	if t.opts.TTL > 0 {
		e.expires = monoNow() + int64(t.opts.TTL)
	}
	t.pushFront(e)
	t.n++
	switch {
	case t.items != nil:
		t.items[key] = e
	case t.n > smallMemo:
		t.items = make(map[K]*memoEntry[K, V], t.n)
		for e := t.root.next; e != &t.root; e = e.next {
			t.items[e.key] = e
		}
	}
	t.evictOverflow()
}

// evictOverflow removes least recently used entries beyond MaxEntries, and
// expired ones at the cold end of the list, so that entries nobody asks for
// again do not outlive their TTL for long. t.mu must be held.
func (t *memoTable[K, V]) evictOverflow() {
	for t.opts.MaxEntries > 0 && t.n > t.opts.MaxEntries {
		t.remove(t.root.prev)
		t.stats.Evictions++
	}
	if t.opts.TTL <= 0 {
		return
	}
	now := monoNow()
	for e := t.root.prev; e != &t.root && e.expires != 0 && now >= e.expires; e = t.root.prev {
		t.remove(e)
		t.stats.Evictions++
	}
}

// find returns the entry for key, if any. t.mu must be held.
func (t *memoTable[K, V]) find(key K) *memoEntry[K, V] {
	if t.items != nil {
		return t.items[key]
	}
	// Most recently used first: the key asked for is most often near the
	// front.
	for e := t.root.next; e != &t.root; e = e.next {
		if e.key == key {
			return e
		}
	}
	return nil
}

func (t *memoTable[K, V]) pushFront(e *memoEntry[K, V]) {
	e.prev, e.next = &t.root, t.root.next
	e.prev.next, e.next.prev = e, e
}

func (t *memoTable[K, V]) remove(e *memoEntry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	t.n--
	if t.items != nil {
		delete(t.items, e.key)
	}
}
