package meta_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/memcache/meta"
)

// selfValue is a value that names its key and checks itself: "key|n|pad|crc"
// where crc is the CRC-32 of all that precedes it.
func selfValue(key string, n, size int) []byte {
	v := fmt.Appendf(nil, "%s|%d|", key, n)
	v = append(v, bytes.Repeat([]byte{'p'}, size)...)
	v = append(v, '|')
	return strconv.AppendUint(v, uint64(crc32.ChecksumIEEE(v)), 16)
}

// checkValue returns "" for a whole value of key, else what is wrong.
func checkValue(key string, v []byte) string {
	if !bytes.HasPrefix(v, []byte(key+"|")) {
		return "wrong key"
	}
	i := bytes.LastIndexByte(v, '|')
	crc, err := strconv.ParseUint(string(v[i+1:]), 16, 32)
	if err != nil || uint32(crc) != crc32.ChecksumIEEE(v[:i+1]) {
		return "torn"
	}
	return ""
}

// tally counts what the callers of a fault test saw.
type tally struct {
	ok, failed, bad atomic.Int64
	mu              sync.Mutex
	firstBad        []string
}

func (t *tally) check(key string, v []byte) {
	if why := checkValue(key, v); why != "" {
		t.bad.Add(1)
		t.mu.Lock()
		if len(t.firstBad) < 5 {
			t.firstBad = append(t.firstBad, fmt.Sprintf("%s: %q: %.80q", why, key, v))
		}
		t.mu.Unlock()
		return
	}
	t.ok.Add(1)
}

// randomContext returns a context that ends at once, soon (often in the
// middle of a reply), or never.
func randomContext(r *rand.Rand) (context.Context, context.CancelFunc) {
	switch r.IntN(4) {
	case 0:
		return context.WithTimeout(context.Background(), time.Duration(r.IntN(300))*time.Microsecond)
	case 1:
		ctx, cancel := context.WithCancel(context.Background())
		if r.IntN(2) == 0 {
			cancel()
		}
		return ctx, cancel
	}
	return context.Background(), func() {}
}

// faultRounds pauses, resumes, kills and restarts each of the three
// servers in turn, and restarts another under the callers' feet, letting
// the callers get through some calls (after) between two faults.
func faultRounds(t *testing.T, srvs []*memcachetest.Server, after func(calls int64)) {
	t.Helper()
	after(300)
	for round := range 3 {
		s := srvs[round]
		require.NoError(t, s.Pause())
		after(100)
		require.NoError(t, s.Resume())
		after(100)
		require.NoError(t, s.Kill())
		after(100)
		require.NoError(t, s.Restart())
		after(200)
		require.NoError(t, srvs[(round+1)%3].Restart()) // under the callers' feet
		after(200)
	}
}

// goroutinesBeside counts the goroutines other than the watchers of the
// idle connections of cs (one per open connection, see Client).
func goroutinesBeside(cs ...*meta.Client) int {
	n := runtime.NumGoroutine()
	for _, c := range cs {
		for _, st := range c.PoolStats() {
			n -= st.Idle
		}
	}
	return n
}

// settle gives goroutines on their way out (the watchers of connections
// closed last, background refreshes) a moment to end, never a leak: it
// returns once count is down to want, or after a bound.
func settle(want int, count func() int) {
	for start := time.Now(); count() > want && time.Since(start) < 5*time.Second; {
		runtime.Gosched()
	}
}

// TestEveryValueIsItsKeys stores self-checking values on three servers and
// reads and writes them from several goroutines, single and pipelined, with
// callers cancelling at random (often mid-reply), while the servers are
// killed, paused, resumed and restarted: not one value read may belong to
// another key or be torn.
func TestEveryValueIsItsKeys(t *testing.T) {
	t.Parallel()
	srvs, addrs := servers(t, 3)
	c := newMeta(t, meta.Config{Servers: addrs, Timeout: 300 * time.Millisecond, MaxConnsPerServer: 8, MaxIdleConns: 4})
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = fmt.Sprintf("chaos/%d", i)
	}
	var (
		tl    tally
		ops   atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
		mu    sync.Mutex
		moved = sync.NewCond(&mu)
	)
	for g := range 6 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for n := 0; !stop.Load(); n++ {
				ctx, cancel := randomContext(r)
				k := keys[r.IntN(len(keys))]
				switch r.IntN(4) {
				case 0:
					c.Set(ctx, &memcache.Item{Key: k, Value: selfValue(k, n, r.IntN(64<<10))})
				case 1:
					var items []*memcache.Item
					for range 8 {
						k := keys[r.IntN(len(keys))]
						items = append(items, &memcache.Item{Key: k, Value: selfValue(k, n, r.IntN(8<<10))})
					}
					c.SetMulti(ctx, items)
				case 2:
					if it, err := c.Get(ctx, k); err == nil {
						tl.check(k, it.Value)
						assert.Equal(t, k, it.Key)
					} else if !errors.Is(err, memcache.ErrCacheMiss) {
						tl.failed.Add(1)
					}
				case 3:
					ks := make([]string, 20)
					for i := range ks {
						ks[i] = keys[r.IntN(len(keys))]
					}
					m, err := c.GetMulti(ctx, ks)
					if err != nil {
						tl.failed.Add(1)
					}
					for mk, it := range m {
						tl.check(mk, it.Value)
						assert.Equal(t, mk, it.Key)
					}
				}
				cancel()
				ops.Add(1)
				mu.Lock()
				moved.Broadcast()
				mu.Unlock()
			}
		})
	}
	// after waits for the callers to get through n more calls: each fault
	// meets calls in flight and calls that start under it.
	after := func(n int64) {
		mu.Lock()
		defer mu.Unlock()
		for target := ops.Load() + n; ops.Load() < target; {
			moved.Wait()
		}
	}
	faultRounds(t, srvs, after)
	stop.Store(true)
	wg.Wait()

	t.Logf("%d calls: %d values checked, %d calls failed", ops.Load(), tl.ok.Load(), tl.failed.Load())
	assert.Zero(t, tl.bad.Load(), "wrong-key or torn values: %q", tl.firstBad)
	assert.Greater(t, tl.ok.Load(), int64(100), "the test must read values")
	assert.Greater(t, tl.failed.Load(), int64(0), "the faults must be felt")
	for addr, st := range c.PoolStats() {
		assert.Zero(t, st.InUse, addr)
		assert.LessOrEqual(t, st.Idle, 4, addr)
	}
}

// TestCancelledCallsLeaveNothingBehind makes 10,000 calls whose contexts
// end before or during the reply: afterwards the goroutine count is where it
// was, and the pool never held more than its limits.
func TestCancelledCallsLeaveNothingBehind(t *testing.T) {
	_, addrs := servers(t, 1)
	const maxConns, maxIdle = 4, 2
	c := newMeta(t, meta.Config{Servers: addrs, MaxConnsPerServer: maxConns, MaxIdleConns: maxIdle})
	var keys []string
	for i := range 10 {
		k := fmt.Sprintf("cancel/%d", i)
		keys = append(keys, k)
		require.NoError(t, c.Set(context.Background(), &memcache.Item{Key: k, Value: selfValue(k, i, 200<<10)}))
	}
	_, err := c.GetMulti(context.Background(), keys) // warm the pool
	require.NoError(t, err)
	others := func() int { return goroutinesBeside(c) }
	before := others()

	var tl tally
	var cancelled, overLimit atomic.Int64
	var wg sync.WaitGroup
	const callers, calls = 8, 10_000
	for g := range callers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range calls / callers {
				ctx, cancel := context.WithCancel(context.Background())
				if i%2 == 0 {
					// Ends at a random point of the call, from another
					// goroutine, as a client hanging up does.
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(r.IntN(400))*time.Microsecond)
				} else {
					cancel()
				}
				k := keys[r.IntN(len(keys))]
				var err error
				if r.IntN(2) == 0 {
					var it *memcache.Item
					if it, err = c.Get(ctx, k); err == nil {
						tl.check(k, it.Value)
					}
				} else {
					var m map[string]*memcache.Item
					m, err = c.GetMulti(ctx, keys[:3])
					for mk, it := range m {
						tl.check(mk, it.Value)
					}
				}
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					cancelled.Add(1)
				}
				cancel()
				if st := c.PoolStats()[addrs[0]]; st.InUse > maxConns || st.Idle > maxIdle {
					overLimit.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d calls: %d cancelled, %d values checked", calls, cancelled.Load(), tl.ok.Load())
	assert.Zero(t, tl.bad.Load(), "%q", tl.firstBad)
	assert.Greater(t, cancelled.Load(), int64(calls/2), "most calls must end by their context")
	assert.Zero(t, overLimit.Load(), "the pool went over its limits")
	settle(before, others)
	assert.Equal(t, before, others(), "goroutines left behind")
	st := c.PoolStats()[addrs[0]]
	assert.Zero(t, st.InUse)
	assert.LessOrEqual(t, st.Idle, maxIdle)
	// Closing the idle connections ends their watchers too.
	require.NoError(t, c.Close())
	settle(before, runtime.NumGoroutine)
	assert.Equal(t, before, runtime.NumGoroutine(), "watchers of closed connections left behind")
	// The pool still works.
	it, err := c.Get(context.Background(), keys[0])
	require.NoError(t, err)
	assert.Empty(t, checkValue(keys[0], it.Value))
}

// TestLeasePathEveryValueIsItsKeys is TestEveryValueIsItsKeys through a
// Store's lease path: GetOrLoad with leases and early refresh (every value
// is within WithRefreshAhead of its expiration, so reads keep winning
// background refreshes), Invalidate (stale values served while one caller
// reloads), Get, GetMulti, Set and Delete, from several goroutines of two
// clients that cancel at
// random, while the servers are killed, paused, resumed and restarted: not
// one value read may belong to another key or be torn, and afterwards no
// goroutine is left behind, background refreshes included.
func TestLeasePathEveryValueIsItsKeys(t *testing.T) {
	// Not parallel: it counts the goroutines of the process.
	srvs, addrs := servers(t, 3)
	// Two clients, as two processes have, so that callers of one wait for
	// the other's leases.
	var clients []*meta.Client
	var stores []*memcache.Store[string]
	var absorbed atomic.Int64
	var events eventCounts
	for range 2 {
		c := newMeta(t, meta.Config{Servers: addrs, Timeout: 300 * time.Millisecond, MaxConnsPerServer: 8, MaxIdleConns: 4})
		store, err := memcache.NewStore[string](c, memcache.WithNamespace("chaos", "v1"),
			memcache.WithExpiration(time.Minute), memcache.WithRefreshAhead(time.Hour), memcache.WithLoadTimeout(2*time.Second),
			memcache.WithErrorHandler(func(string, error) { absorbed.Add(1) }), memcache.WithRecorder(&events))
		require.NoError(t, err)
		clients, stores = append(clients, c), append(stores, store)
	}
	// Few keys, so that callers of both clients miss one key at once.
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("lease-chaos/%d", i)
	}
	var loads atomic.Int64
	loader := func(k string, size int) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			return string(selfValue(k, int(loads.Add(1)), size)), nil
		}
	}
	before := goroutinesBeside(clients...)
	var (
		tl    tally
		ops   atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
		mu    sync.Mutex
		moved = sync.NewCond(&mu)
	)
	for g := range 6 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			store := stores[g%2]
			for n := 0; !stop.Load(); n++ {
				ctx, cancel := randomContext(r)
				k := keys[r.IntN(len(keys))]
				switch op := r.IntN(8); {
				case op < 4:
					if v, err := store.GetOrLoad(ctx, k, loader(k, r.IntN(16<<10))); err == nil {
						tl.check(k, []byte(v))
					} else {
						tl.failed.Add(1)
					}
				case op == 4:
					store.Invalidate(ctx, k)
				case op == 5:
					if v, err := store.Get(ctx, k); err == nil {
						tl.check(k, []byte(v))
					} else if !errors.Is(err, memcache.ErrCacheMiss) {
						tl.failed.Add(1)
					}
				case op == 6 && n%2 == 0:
					store.Set(ctx, k, string(selfValue(k, n, r.IntN(16<<10))))
				case op == 6:
					store.Delete(ctx, k) // the next readers miss: one of them loads under the lease

				default:
					ks := make([]string, 8)
					for i := range ks {
						ks[i] = keys[r.IntN(len(keys))]
					}
					m, err := store.GetMulti(ctx, ks)
					if err != nil {
						tl.failed.Add(1)
					}
					for mk, v := range m {
						tl.check(mk, []byte(v))
					}
				}
				cancel()
				ops.Add(1)
				mu.Lock()
				moved.Broadcast()
				mu.Unlock()
			}
		})
	}
	faultRounds(t, srvs, func(n int64) {
		mu.Lock()
		defer mu.Unlock()
		for target := ops.Load() + n; ops.Load() < target; {
			moved.Wait()
		}
	})
	stop.Store(true)
	wg.Wait()

	t.Logf("%d calls: %d values checked, %d calls failed, %d loads, %d failures absorbed; leases won %d, waited %d, stale served %d",
		ops.Load(), tl.ok.Load(), tl.failed.Load(), loads.Load(), absorbed.Load(),
		events.n[memcache.EventLeaseWon].Load(), events.n[memcache.EventLeaseWaited].Load(), events.n[memcache.EventServeStale].Load())
	assert.Zero(t, tl.bad.Load(), "wrong-key or torn values: %q", tl.firstBad)
	for _, k := range []memcache.EventKind{memcache.EventLeaseWon, memcache.EventLeaseWaited, memcache.EventServeStale} {
		assert.Positive(t, events.n[k].Load(), "the lease path must be taken: %s", k)
	}
	assert.Greater(t, tl.ok.Load(), int64(100), "the test must read values")
	assert.Greater(t, tl.failed.Load()+absorbed.Load(), int64(0), "the faults must be felt")
	// Background refreshes end within WithLoadTimeout and the client's
	// Timeout.
	inUse := func() (n int) {
		for _, c := range clients {
			for _, st := range c.PoolStats() {
				n += st.InUse
			}
		}
		return n
	}
	settle(0, inUse)
	others := func() int { return goroutinesBeside(clients...) }
	settle(before, others)
	assert.LessOrEqual(t, others(), before, "goroutines left behind")
	for _, c := range clients {
		for addr, st := range c.PoolStats() {
			assert.Zero(t, st.InUse, addr)
			assert.LessOrEqual(t, st.Idle, 4, addr)
		}
	}
}

// eventCounts is a memcache.Recorder that counts events by kind.
type eventCounts struct {
	n [32]atomic.Int64
}

func (e *eventCounts) StartCall(ctx context.Context, _ memcache.Call) context.Context { return ctx }

func (e *eventCounts) Record(_ context.Context, ev memcache.Event) {
	if int(ev.Kind) < len(e.n) {
		e.n[ev.Kind].Add(1)
	}
}

func (e *eventCounts) EndCall(context.Context, memcache.Call, time.Duration, error) {}
