package cacheprop_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/leancache/leancache/cacheprop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ cacheprop.Property = (*cacheprop.Memo[string, int])(nil)

// counter is a compute function that counts its calls per key.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *counter) compute(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[key]++
	return len(key)*100 + c.calls[key]
}

func (c *counter) n(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[key]
}

func TestMemoSizeIsOnePointer(t *testing.T) {
	// The doc comment promises this size; a struct with a Memo field pays
	// only this much until the Memo is used.
	assert.Equal(t, unsafe.Sizeof(uintptr(0)), unsafe.Sizeof(cacheprop.Memo[string, int]{}))
	assert.Equal(t, unsafe.Sizeof(uintptr(0)), unsafe.Sizeof(cacheprop.Memo[[64]byte, [256]byte]{}))
	assert.Equal(t, unsafe.Sizeof(uintptr(0)), unsafe.Sizeof(cacheprop.WeakTable[int, string]{}))
	if unsafe.Sizeof(uintptr(0)) == 8 {
		assert.Equal(t, uintptr(8), unsafe.Sizeof(cacheprop.Memo[string, int]{}))
	}
}

type withMemo struct {
	ID    int
	Price cacheprop.Memo[string, float64]
}

type withoutMemo struct {
	ID    int
	Price uintptr // same size as a Memo, no cell
}

var sink any

func TestMemoUnusedAllocatesNothing(t *testing.T) {
	// Allocating a struct with a Memo field costs the struct alone, and the
	// read-only methods and Reset (which the codecs call after decoding)
	// leave an unused Memo unallocated.
	with := testing.AllocsPerRun(100, func() { sink = &withMemo{ID: 1} })
	without := testing.AllocsPerRun(100, func() { sink = &withoutMemo{ID: 1} })
	assert.Equal(t, without, with)

	var m cacheprop.Memo[string, int]
	allocs := testing.AllocsPerRun(100, func() {
		m.Forget("x")
		m.Reset()
		_ = m.Len()
		_ = m.Stats()
	})
	assert.Zero(t, allocs)
}

func TestMemoHitAllocatesNothing(t *testing.T) {
	for _, opts := range []cacheprop.MemoOptions{{}, {MaxEntries: 4}, {TTL: time.Hour}, {MaxEntries: 4, TTL: time.Hour}} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			var m cacheprop.Memo[string, int]
			m.Configure(opts)
			c := &counter{}
			fetch := func(k string) (int, error) { return c.compute(k), nil }
			fetchCtx := func(_ context.Context, k string) (int, error) { return c.compute(k), nil }
			ctx := context.Background()
			m.Get("a", c.compute)
			m.Get("b", c.compute)
			allocs := testing.AllocsPerRun(1000, func() {
				m.Get("a", c.compute)
				_, _ = m.GetErr("b", fetch)
				_, _ = m.GetContext(ctx, "a", fetchCtx)
			})
			assert.Zero(t, allocs)
			assert.Equal(t, 1, c.n("a"))
			assert.Equal(t, 1, c.n("b"))
		})
	}
}

func TestMemoGet(t *testing.T) {
	var m cacheprop.Memo[string, int]
	c := &counter{}
	assert.Equal(t, 101, m.Get("a", c.compute))
	assert.Equal(t, 101, m.Get("a", c.compute))
	assert.Equal(t, 301, m.Get("abc", c.compute))
	assert.Equal(t, 1, c.n("a"))
	assert.Equal(t, 2, m.Len())
	assert.Equal(t, cacheprop.MemoStats{Hits: 1, Misses: 2}, m.Stats())
}

func TestMemoGetErrDoesNotStoreErrors(t *testing.T) {
	var m cacheprop.Memo[int, string]
	errDown := errors.New("backend down")
	var calls int
	fetch := func(k int) (string, error) {
		calls++
		if calls == 1 {
			return "", fmt.Errorf("fetch %d: %w", k, errDown)
		}
		return strconv.Itoa(k), nil
	}
	_, err := m.GetErr(7, fetch)
	require.ErrorIs(t, err, errDown)
	assert.Zero(t, m.Len())
	v, err := m.GetErr(7, fetch)
	require.NoError(t, err)
	assert.Equal(t, "7", v)
	v, err = m.GetErr(7, fetch)
	require.NoError(t, err)
	assert.Equal(t, "7", v)
	assert.Equal(t, 2, calls)
	assert.Equal(t, cacheprop.MemoStats{Hits: 1, Misses: 2}, m.Stats())
}

func TestMemoEvictsLeastRecentlyUsed(t *testing.T) {
	var m cacheprop.Memo[string, int]
	m.Configure(cacheprop.MemoOptions{MaxEntries: 2})
	c := &counter{}
	m.Get("a", c.compute)
	m.Get("b", c.compute)
	m.Get("a", c.compute) // a is now more recent than b
	m.Get("c", c.compute) // evicts b
	assert.Equal(t, 2, m.Len())
	m.Get("a", c.compute)
	m.Get("c", c.compute)
	assert.Equal(t, 1, c.n("a"))
	assert.Equal(t, 1, c.n("c"))
	m.Get("b", c.compute) // recomputed, evicts a
	assert.Equal(t, 2, c.n("b"))
	assert.Equal(t, cacheprop.MemoStats{Hits: 3, Misses: 4, Evictions: 2}, m.Stats())
}

func TestMemoConfigureEvictsToFit(t *testing.T) {
	var m cacheprop.Memo[string, int]
	c := &counter{}
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		m.Get(k, c.compute)
	}
	m.Get("a", c.compute) // no bound yet: recency is not tracked
	m.Configure(cacheprop.MemoOptions{MaxEntries: 3})
	assert.Equal(t, 3, m.Len())
	m.Get("d", c.compute)
	m.Get("e", c.compute)
	m.Get("c", c.compute)
	assert.Equal(t, []int{1, 1, 1}, []int{c.n("c"), c.n("d"), c.n("e")}, "the last stored are kept")
	assert.Equal(t, uint64(2), m.Stats().Evictions)

	// From now on recency counts: d is the least recently used.
	m.Get("e", c.compute)
	m.Get("a", c.compute)
	m.Get("d", c.compute)
	assert.Equal(t, []int{2, 2, 1}, []int{c.n("a"), c.n("d"), c.n("e")})
	m.Configure(cacheprop.MemoOptions{MaxEntries: 1})
	m.Get("d", c.compute)
	assert.Equal(t, 2, c.n("d"), "the most recently used is kept")
}

func TestMemoTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 50 * time.Millisecond
		var m cacheprop.Memo[string, int]
		m.Configure(cacheprop.MemoOptions{TTL: ttl})
		c := &counter{}
		m.Get("a", c.compute)
		m.Get("b", c.compute)
		time.Sleep(ttl - time.Nanosecond)
		assert.Equal(t, 101, m.Get("a", c.compute), "held until its TTL")
		time.Sleep(time.Nanosecond)
		assert.Equal(t, 102, m.Get("a", c.compute), "computed again at its TTL")
		assert.Equal(t, 2, c.n("a"))
		// Storing a swept b, the expired entry at the cold end.
		assert.Equal(t, 1, m.Len())

		var long cacheprop.Memo[string, int]
		long.Configure(cacheprop.MemoOptions{TTL: time.Hour})
		long.Get("x", c.compute)
		time.Sleep(2 * ttl)
		long.Get("x", c.compute)
		assert.Equal(t, 1, c.n("x"))
	})
}

// TestMemoTTLNeverLate hits one value every few milliseconds, so that the
// coarse clock of TTL hits runs and lags behind by up to its tick, and
// requires the value to be computed again exactly at the first hit at or
// after its TTL: not one hit late.
func TestMemoTTLNeverLate(t *testing.T) {
	for _, ttl := range []time.Duration{time.Second, time.Hour + 3*time.Millisecond} {
		synctest.Test(t, func(t *testing.T) {
			var m cacheprop.Memo[string, int]
			m.Configure(cacheprop.MemoOptions{TTL: ttl})
			c := &counter{}
			start := time.Now()
			m.Get("k", c.compute)
			step := 7 * time.Millisecond
			if ttl > time.Minute {
				// Sleep through most of a long TTL, then hit often.
				time.Sleep(ttl - time.Second)
			}
			for time.Since(start) < ttl+time.Second {
				want := 1
				if time.Since(start) >= ttl {
					want = 2
				}
				m.Get("k", c.compute)
				require.Equal(t, want, c.n("k"), "hit at %v of a TTL of %v", time.Since(start), ttl)
				time.Sleep(step)
			}
		})
	}
}

// TestMemoTTLAfterIdle checks a value nobody asked for through its TTL: the
// coarse clock stopped meanwhile, and the next hit must not take its last
// reading for the time.
func TestMemoTTLAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m cacheprop.Memo[string, int]
		m.Configure(cacheprop.MemoOptions{TTL: time.Second})
		c := &counter{}
		m.Get("k", c.compute)
		time.Sleep(500 * time.Millisecond)
		m.Get("k", c.compute)
		time.Sleep(600 * time.Millisecond)
		m.Get("k", c.compute)
		assert.Equal(t, 2, c.n("k"))
	})
}

// TestMemoTTLAcrossClocks runs a Memo in a testing/synctest bubble while
// TTL hits outside it keep the coarse clock running on the real clock: the
// bubble's values must still expire by the bubble's clock.
func TestMemoTTLAcrossClocks(t *testing.T) {
	var outside cacheprop.Memo[string, int]
	outside.Configure(cacheprop.MemoOptions{TTL: time.Hour})
	c := &counter{}
	outside.Get("real", c.compute)
	outside.Get("real", c.compute) // the coarse clock now runs on real time
	synctest.Test(t, func(t *testing.T) {
		var m cacheprop.Memo[string, int]
		m.Configure(cacheprop.MemoOptions{TTL: time.Second})
		m.Get("k", c.compute)
		time.Sleep(time.Second - time.Nanosecond)
		m.Get("k", c.compute)
		assert.Equal(t, 1, c.n("k"))
		time.Sleep(time.Nanosecond)
		m.Get("k", c.compute)
		assert.Equal(t, 2, c.n("k"))
	})
}

func TestMemoForgetAndReset(t *testing.T) {
	var m cacheprop.Memo[string, int]
	m.Configure(cacheprop.MemoOptions{MaxEntries: 1})
	c := &counter{}
	m.Get("a", c.compute)
	m.Forget("a")
	m.Forget("never stored")
	assert.Zero(t, m.Len())
	m.Get("a", c.compute)
	assert.Equal(t, 2, c.n("a"))

	var p cacheprop.Property = &m
	p.Reset()
	assert.Zero(t, m.Len())
	assert.Equal(t, cacheprop.MemoStats{}, m.Stats())
	m.Get("a", c.compute)
	m.Get("b", c.compute)
	assert.Equal(t, 1, m.Len(), "Reset keeps the options set by Configure")
}

func TestMemoForgetDuringCompute(t *testing.T) {
	var m cacheprop.Memo[string, int]
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan int)
	go func() {
		done <- m.Get("k", func(string) int {
			close(entered)
			<-release
			return 1
		})
	}()
	<-entered
	m.Forget("k")
	// A caller after Forget computes rather than waiting for the first.
	assert.Equal(t, 2, m.Get("k", func(string) int { return 2 }))
	close(release)
	assert.Equal(t, 1, <-done, "the first caller still gets its own result")
	assert.Equal(t, 2, m.Get("k", func(string) int { return 3 }), "but it was not stored")
}

func TestMemoIsACachedProperty(t *testing.T) {
	typ := reflect.TypeFor[withMemo]()
	f, _ := typ.FieldByName("Price")
	assert.True(t, cacheprop.IsCell(f.Type))
	assert.True(t, cacheprop.IsCached(f), "a Memo field is cached without a tag")
	assert.False(t, cacheprop.IsCell(reflect.TypeFor[cacheprop.WeakTable[int, int]]()),
		"a WeakTable is a side table, not a field to strip")
}

// TestMemoComputeOncePerKey runs many goroutines over few keys: whatever the
// interleaving, each key is computed once, because no bound or TTL removes a
// value once stored.
func TestMemoComputeOncePerKey(t *testing.T) {
	const goroutines, keys, rounds = 32, 16, 50
	var m cacheprop.Memo[int, int]
	var computes [keys]atomic.Int32
	compute := func(k int) int {
		computes[k].Add(1)
		runtime.Gosched() // widen the window in which others arrive
		return k * k
	}
	hammer(goroutines, func(g int) {
		for r := range rounds {
			k := (g + r) % keys
			if got := m.Get(k, compute); got != k*k {
				t.Errorf("Get(%d) = %d", k, got)
			}
		}
	})
	for k := range keys {
		assert.EqualValues(t, 1, computes[k].Load(), "key %d", k)
	}
	assert.Equal(t, cacheprop.MemoStats{Hits: goroutines*rounds - keys, Misses: keys}, m.Stats())
}

// TestMemoBoundedUnderContention mixes every method on a bounded, expiring
// Memo for the race detector, and checks the bound holds throughout.
func TestMemoBoundedUnderContention(t *testing.T) {
	var m cacheprop.Memo[int, int]
	m.Configure(cacheprop.MemoOptions{MaxEntries: 8, TTL: time.Millisecond})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := range 500 {
				k := (g*7 + i) % 20
				switch i % 6 {
				case 0:
					assert.Equal(t, k+1, m.Get(k, func(k int) int { return k + 1 }))
				case 1:
					v, err := m.GetErr(k, func(k int) (int, error) { return k + 1, nil })
					assert.NoError(t, err)
					assert.Equal(t, k+1, v)
				case 2:
					v, err := m.GetContext(ctx, k, func(_ context.Context, k int) (int, error) { return k + 1, nil })
					assert.NoError(t, err)
					assert.Equal(t, k+1, v)
				case 3:
					m.Forget(k)
				case 4:
					assert.LessOrEqual(t, m.Len(), 8)
					_ = m.Stats()
				case 5:
					if i%60 == 5 {
						m.Reset()
					}
				}
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, m.Len(), 8)
}

// hammer runs fn(g) for g in [0, n), each in its own goroutine, all released
// at once, and returns when all have returned.
func hammer(n int, fn func(g int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(g)
		}()
	}
	close(start)
	wg.Wait()
}

// startWaiters starts n goroutines that call get once the first caller is
// inside its computation, and returns after they have all called it and had
// time to start waiting. A goroutine that arrives after the computation ends
// computes for itself, which the callers' assertions allow for.
func startWaiters(n int, get func(i int)) *sync.WaitGroup {
	var wg sync.WaitGroup
	var started atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			get(i)
		}()
	}
	for started.Load() < int32(n) {
		runtime.Gosched()
	}
	time.Sleep(50 * time.Millisecond)
	return &wg
}

// testPanicShared checks the panic contract of a compute-once call: the
// goroutine whose computation panics gets the original value, and those that
// were waiting for it get a *PanicError holding it. get makes one call for a
// fixed key with the given computation.
func testPanicShared(t *testing.T, get func(compute func() int) int) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	leader := make(chan any)
	go func() {
		defer func() { leader <- recover() }()
		get(func() int {
			close(entered)
			<-release
			panic("boom")
		})
	}()
	<-entered
	got := make([]any, 4)
	wg := startWaiters(len(got), func(i int) {
		defer func() { got[i] = recover() }()
		get(func() int { panic("boom") })
	})
	close(release)
	assert.Equal(t, "boom", <-leader, "the computing goroutine panics with the original value")
	wg.Wait()
	shared := 0
	for _, r := range got {
		if pe, ok := r.(*cacheprop.PanicError); ok {
			shared++
			assert.Equal(t, "boom", pe.Value)
			assert.Contains(t, string(pe.Stack), "memo_test.go", "the stack is the computing goroutine's")
			assert.Contains(t, pe.Error(), "boom")
		} else {
			assert.Equal(t, "boom", r)
		}
	}
	assert.Positive(t, shared, "no waiter was waiting: the test did not exercise sharing")
}

func TestMemoPanicReachesCallerAndWaiters(t *testing.T) {
	var m cacheprop.Memo[string, int]
	testPanicShared(t, func(compute func() int) int {
		return m.Get("k", func(string) int { return compute() })
	})
	assert.Zero(t, m.Len())
	assert.Equal(t, 5, m.Get("k", func(string) int { return 5 }), "a panic is not stored")
}

func TestPanicErrorUnwraps(t *testing.T) {
	errBad := errors.New("bad")
	var err error = &cacheprop.PanicError{Value: fmt.Errorf("wrapped: %w", errBad)}
	assert.ErrorIs(t, err, errBad)
	assert.NoError(t, (&cacheprop.PanicError{Value: 42}).Unwrap())
}

func TestMemoGoexitDoesNotHangWaiters(t *testing.T) {
	var m cacheprop.Memo[string, int]
	entered, release := make(chan struct{}), make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		m.Get("k", func(string) int {
			close(entered)
			<-release
			runtime.Goexit()
			return 0
		})
	}()
	<-entered
	got := make([]int, 3)
	wg := startWaiters(len(got), func(i int) { got[i] = m.Get("k", func(string) int { return 9 }) })
	close(release)
	<-exited
	wg.Wait()
	assert.Equal(t, []int{9, 9, 9}, got)
	assert.Equal(t, 1, m.Len())
}

func TestMemoGetErrSharesErrorWithWaiters(t *testing.T) {
	var m cacheprop.Memo[string, int]
	errLeader, errOwn := errors.New("leader failed"), errors.New("own failure")
	entered, release := make(chan struct{}), make(chan struct{})
	leader := make(chan error)
	go func() {
		_, err := m.GetErr("k", func(string) (int, error) {
			close(entered)
			<-release
			return 0, errLeader
		})
		leader <- err
	}()
	<-entered
	errs := make([]error, 3)
	wg := startWaiters(len(errs), func(i int) {
		_, errs[i] = m.GetErr("k", func(string) (int, error) { return 0, errOwn })
	})
	// A Get waiter cannot be handed the error, so it computes for itself.
	plain := make(chan int)
	go func() { plain <- m.Get("k", func(string) int { return 4 }) }()
	time.Sleep(10 * time.Millisecond)
	close(release)
	require.ErrorIs(t, <-leader, errLeader)
	wg.Wait()
	assert.Equal(t, 4, <-plain)
	shared := 0
	for _, err := range errs {
		if errors.Is(err, errLeader) {
			shared++
		} else {
			assert.ErrorIs(t, err, errOwn)
		}
	}
	assert.Positive(t, shared)
}

func TestMemoGetContext(t *testing.T) {
	type ctxKey struct{}
	var m cacheprop.Memo[string, string]
	fetch := func(ctx context.Context, k string) (string, error) {
		return k + "@" + ctx.Value(ctxKey{}).(string), nil
	}
	v, err := m.GetContext(context.WithValue(context.Background(), ctxKey{}, "first"), "k", fetch)
	require.NoError(t, err)
	assert.Equal(t, "k@first", v, "the context reaches compute")
	v, err = m.GetContext(context.WithValue(context.Background(), ctxKey{}, "second"), "k", fetch)
	require.NoError(t, err)
	assert.Equal(t, "k@first", v, "the context is not part of the key")
}

func TestMemoGetContextWaiterCancelled(t *testing.T) {
	var m cacheprop.Memo[string, int]
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	go m.GetContext(context.Background(), "k", func(context.Context, string) (int, error) {
		close(entered)
		<-release
		return 1, nil
	})
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.GetContext(ctx, "k", func(context.Context, string) (int, error) {
		t.Error("a waiter computed while the first call was in progress")
		return 0, nil
	})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestMemoGetContextLeaderCancelled(t *testing.T) {
	var m cacheprop.Memo[string, int]
	entered := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	leader := make(chan error)
	go func() {
		_, err := m.GetContext(ctx, "k", func(ctx context.Context, _ string) (int, error) {
			close(entered)
			<-ctx.Done()
			return 0, ctx.Err()
		})
		leader <- err
	}()
	<-entered
	got := make([]int, 3)
	errs := make([]error, 3)
	wg := startWaiters(len(got), func(i int) {
		got[i], errs[i] = m.GetContext(context.Background(), "k", func(context.Context, string) (int, error) { return 8, nil })
	})
	cancel()
	assert.ErrorIs(t, <-leader, context.Canceled)
	wg.Wait()
	// Someone else's cancellation is not passed on to a live caller.
	assert.Equal(t, []int{8, 8, 8}, got)
	assert.Equal(t, []error{nil, nil, nil}, errs)
}

func TestMemoNaNKeyIsNeverStored(t *testing.T) {
	var m cacheprop.Memo[float64, int]
	calls := 0
	for range 3 {
		m.Get(math.NaN(), func(float64) int { calls++; return calls })
	}
	assert.Equal(t, 3, calls)
	assert.Zero(t, m.Len())
	assert.Equal(t, cacheprop.MemoStats{Misses: 3}, m.Stats())
}

func TestMemoUnhashableKeyLeavesMemoUsable(t *testing.T) {
	var m cacheprop.Memo[any, int]
	assert.Panics(t, func() { m.Get([]int{1}, func(any) int { return 1 }) })
	m.Get("stored", func(any) int { return 1 })
	assert.Panics(t, func() { m.Get([]int{1}, func(any) int { return 1 }) })
	done := make(chan int)
	go func() { done <- m.Get("ok", func(any) int { return 2 }) }()
	select {
	case v := <-done:
		assert.Equal(t, 2, v)
	case <-time.After(10 * time.Second):
		t.Fatal("the Memo stayed locked after a key's hash panicked")
	}
}

func TestMemoNilCompute(t *testing.T) {
	var m cacheprop.Memo[string, int]
	assert.PanicsWithValue(t, "cacheprop: Memo: nil compute function", func() { m.Get("k", nil) })
	assert.Equal(t, 1, m.Get("k", func(string) int { return 1 }), "the Memo is usable after the panic")
	assert.Panics(t, func() { m.Get("k", nil) }, "a nil compute panics even when the value is held")
}
