package memcache_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// Faults against real memcached processes: what each does to a Store, and
// that the application keeps working through GetOrLoad.

const faultTimeout = 200 * time.Millisecond

type faultRig struct {
	srv    *memcachetest.Server
	client *memcache.Client
	open   *memcache.Store[*page] // GetOrLoad fails open (the default)
	closed *memcache.Store[*page] // WithFailClosed
	errs   chan error
}

func newFaultRig(t *testing.T) *faultRig {
	t.Helper()
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, Timeout: faultTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	r := &faultRig{srv: srv, client: c, errs: make(chan error, 100)}
	r.open = newStore[*page](t, c, memcache.WithCodec(plainJSON{}),
		memcache.WithErrorHandler(func(_ string, err error) { r.errs <- err }))
	r.closed = newStore[*page](t, c, memcache.WithCodec(plainJSON{}), memcache.WithFailClosed())
	return r
}

func fromDB(context.Context) (*page, error) { return &page{Title: "from the database"}, nil }

// assertNoGoroutineLeak waits for the goroutine count to come back to
// before: abandoned network calls end within the client timeout.
func assertNoGoroutineLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * faultTimeout)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left behind")
}

// assertFailsSoft checks what a failing server does to each kind of call:
// a typed error that is not a miss, within the bound the caller set, and
// GetOrLoad answering from the loader (fail-open) or with the error
// (fail-closed), never with a zero value passed off as data.
func assertFailsSoft(t *testing.T, r *faultRig, bound time.Duration) {
	t.Helper()
	ctx := context.Background()

	start := time.Now()
	_, err := r.open.Get(ctx, "k")
	took := time.Since(start)
	require.Error(t, err)
	assert.NotErrorIs(t, err, memcache.ErrCacheMiss, "a dead server is not a miss")
	var opErr *memcache.OpError
	assert.ErrorAs(t, err, &opErr, "backend failures are *OpError with their cause")
	assert.Less(t, took, bound, "Get took %v", took)

	start = time.Now()
	p, err := r.open.GetOrLoad(ctx, "k", fromDB)
	require.NoError(t, err)
	assert.Equal(t, "from the database", p.Title)
	assert.Less(t, time.Since(start), bound+faultTimeout, "fail-open GetOrLoad does not wait twice")
	select {
	case reported := <-r.errs:
		assert.ErrorAs(t, reported, &opErr)
	default:
		t.Error("the absorbed failure was not reported to the error handler")
	}

	p, err = r.closed.GetOrLoad(ctx, "k", fromDB)
	require.Error(t, err)
	assert.Nil(t, p)

	// The caller's deadline bounds a call, whatever the client timeout.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = r.open.Get(cctx, "k")
	require.Error(t, err)
	assert.Less(t, time.Since(start), bound)
}

func TestFaultServerKilled(t *testing.T) {
	r := newFaultRig(t)
	ctx := context.Background()
	require.NoError(t, r.open.Set(ctx, "k", &page{Title: "cached"}))
	before := runtime.NumGoroutine()

	require.NoError(t, r.srv.Kill())
	assertFailsSoft(t, r, 2*time.Second)
	require.Error(t, r.open.Set(ctx, "k", &page{}), "a write to a dead server fails")
	assertNoGoroutineLeak(t, before)
}

func TestFaultServerHung(t *testing.T) {
	r := newFaultRig(t)
	ctx := context.Background()
	require.NoError(t, r.open.Set(ctx, "k", &page{Title: "cached"}))
	before := runtime.NumGoroutine()

	require.NoError(t, r.srv.Pause())
	// A hung server answers nothing: every call ends at the client timeout
	// (per network step) or the caller's deadline, whichever comes first.
	assertFailsSoft(t, r, 10*faultTimeout)

	require.NoError(t, r.srv.Resume())
	require.Eventually(t, func() bool {
		p, err := r.open.Get(ctx, "k")
		return err == nil && p.Title == "cached"
	}, 5*time.Second, 20*time.Millisecond, "the server serves again once resumed")
	assertNoGoroutineLeak(t, before)
}

func TestFaultServerRestartedCold(t *testing.T) {
	r := newFaultRig(t)
	ctx := context.Background()
	require.NoError(t, r.open.Set(ctx, "k", &page{Title: "cached"}))

	require.NoError(t, r.srv.Restart())
	// Pooled connections to the old process fail once; then the cold cache
	// answers with misses, and GetOrLoad refills it.
	require.Eventually(t, func() bool {
		_, err := r.open.Get(ctx, "k")
		return errors.Is(err, memcache.ErrCacheMiss)
	}, 5*time.Second, 20*time.Millisecond)
	p, err := r.open.GetOrLoad(ctx, "k", fromDB)
	require.NoError(t, err)
	assert.Equal(t, "from the database", p.Title)
	p, err = r.open.Get(ctx, "k")
	require.NoError(t, err, "GetOrLoad stored the loaded value")
	assert.Equal(t, "from the database", p.Title)
}

func TestFaultEvictedBetweenGetMultiAndUse(t *testing.T) {
	r := newFaultRig(t)
	ctx := context.Background()
	require.NoError(t, r.open.Set(ctx, "a", &page{Title: "A"}))
	require.NoError(t, r.open.Set(ctx, "b", &page{Title: "B"}))
	got, err := r.open.GetMulti(ctx, []string{"a", "b"})
	require.NoError(t, err)
	e, err := r.open.GetEntry(ctx, "a")
	require.NoError(t, err)

	// Both go, as eviction would take them.
	require.NoError(t, r.open.Delete(ctx, "a"))
	require.NoError(t, r.open.Delete(ctx, "b"))

	// What was read stays whole: decoded values are the caller's own.
	assert.Equal(t, "A", got["a"].Title)
	assert.Equal(t, "B", got["b"].Title)
	// A compare-and-swap against the evicted value does not resurrect it.
	e.Value.Title = "A2"
	require.ErrorIs(t, r.open.CompareAndSwap(ctx, e), memcache.ErrCacheMiss)
	_, err = r.open.Get(ctx, "a")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
}
