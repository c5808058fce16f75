package memcache_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/memcache/meta"
)

// Faults against real memcached processes: what each does to a Store, and
// that the application keeps working through GetOrLoad.

const faultTimeout = 200 * time.Millisecond

type faultRig struct {
	srv     *memcachetest.Server
	backend memcache.Backend
	leases  bool                   // backend is a Leaser: GetOrLoad takes the lease path
	open    *memcache.Store[*page] // GetOrLoad fails open (the default)
	closed  *memcache.Store[*page] // WithFailClosed
	errs    chan error
}

// eachFaultRig runs f with a rig on each kind of client: the gomemcache
// Client, and memcache/meta's Client, a Leaser, whose stores take
// GetOrLoad's lease path (leases, and with every value near its
// expiration, early refresh) and mark values stale with Invalidate.
func eachFaultRig(t *testing.T, f func(t *testing.T, r *faultRig)) {
	t.Run("client", func(t *testing.T) {
		f(t, newFaultRig(t, func(addr string) (memcache.Backend, error) {
			return memcache.NewClient(memcache.ClientConfig{Servers: []string{addr}, Timeout: faultTimeout})
		}))
	})
	t.Run("meta", func(t *testing.T) {
		f(t, newFaultRig(t, func(addr string) (memcache.Backend, error) {
			return meta.NewClient(meta.Config{Servers: []string{addr}, Timeout: faultTimeout})
		}, memcache.WithExpiration(time.Minute), memcache.WithRefreshAhead(time.Hour), memcache.WithLoadTimeout(time.Second)))
	})
}

func newFaultRig(t *testing.T, open func(addr string) (memcache.Backend, error), opts ...memcache.Option) *faultRig {
	t.Helper()
	srv := memcachetest.NewServer(t)
	b, err := open(srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.(io.Closer).Close() })
	_, leases := b.(memcache.Leaser)
	r := &faultRig{srv: srv, backend: b, leases: leases, errs: make(chan error, 100)}
	opts = append(opts, memcache.WithCodec(plainJSON{}))
	r.open = newStore[*page](t, b, append(opts, memcache.WithErrorHandler(func(_ string, err error) {
		select {
		case r.errs <- err:
		default: // background refreshes may report more than a test reads
		}
	}))...)
	r.closed = newStore[*page](t, b, append(opts, memcache.WithFailClosed())...)
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

	// Marking stale (a Delete without leases) fails as plainly. (Another
	// key: a hung server carries out the request once it is resumed.)
	start = time.Now()
	err = r.open.Invalidate(ctx, "other")
	require.Error(t, err)
	assert.NotErrorIs(t, err, memcache.ErrCacheMiss, "a dead server is not a miss")
	assert.ErrorAs(t, err, &opErr)
	assert.Less(t, time.Since(start), bound, "Invalidate took %v", time.Since(start))
}

func TestFaultServerKilled(t *testing.T) {
	eachFaultRig(t, func(t *testing.T, r *faultRig) {
		ctx := context.Background()
		require.NoError(t, r.open.Set(ctx, "k", &page{Title: "cached"}))
		before := runtime.NumGoroutine()

		require.NoError(t, r.srv.Kill())
		assertFailsSoft(t, r, 2*time.Second)
		require.Error(t, r.open.Set(ctx, "k", &page{}), "a write to a dead server fails")
		assertNoGoroutineLeak(t, before)
	})
}

func TestFaultServerHung(t *testing.T) {
	eachFaultRig(t, func(t *testing.T, r *faultRig) {
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
	})
}

func TestFaultServerRestartedCold(t *testing.T) {
	eachFaultRig(t, func(t *testing.T, r *faultRig) {
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
	})
}

func TestFaultEvictedBetweenGetMultiAndUse(t *testing.T) {
	eachFaultRig(t, func(t *testing.T, r *faultRig) {
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
	})
}

// waitSignal is a memcache.Recorder that signals each lease wait.
type waitSignal chan struct{}

func (w waitSignal) StartCall(ctx context.Context, _ memcache.Call) context.Context { return ctx }

func (w waitSignal) Record(_ context.Context, e memcache.Event) {
	if e.Kind == memcache.EventLeaseWaited {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func (w waitSignal) EndCall(context.Context, memcache.Call, time.Duration, error) {}

// A fault while one process holds a key's lease and another waits for it:
// the server killed, hung or restarted cold. Each caller still answers with
// a value of the key (its own load's, failing open, or the winner's), none
// waits past its bound, and nothing is left running.
func TestFaultDuringLeasedLoad(t *testing.T) {
	for _, fault := range []string{"kill", "pause", "restart"} {
		t.Run(fault, func(t *testing.T) {
			srv := memcachetest.NewServer(t)
			var stores []*memcache.Store[*page]
			waits := make(waitSignal, 1)
			for range 2 { // two clients, as two processes have
				c, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}, Timeout: faultTimeout})
				require.NoError(t, err)
				t.Cleanup(func() { _ = c.Close() })
				stores = append(stores, newStore[*page](t, c, memcache.WithCodec(plainJSON{}),
					memcache.WithLoadTimeout(2*time.Second), memcache.WithRecorder(waits)))
			}
			ctx := context.Background()
			before := runtime.NumGoroutine()

			loading, release := make(chan struct{}), make(chan struct{})
			type answer struct {
				p   *page
				err error
			}
			winner := make(chan answer, 1)
			go func() {
				p, err := stores[0].GetOrLoad(ctx, "k", func(context.Context) (*page, error) {
					close(loading)
					<-release
					return &page{Title: "the winner's load"}, nil
				})
				winner <- answer{p, err}
			}()
			<-loading
			waiter := make(chan answer, 1)
			go func() {
				p, err := stores[1].GetOrLoad(ctx, "k", fromDB)
				waiter <- answer{p, err}
			}()
			<-waits // the waiter found the lease taken

			start := time.Now()
			switch fault {
			case "kill":
				require.NoError(t, srv.Kill())
			case "pause":
				require.NoError(t, srv.Pause())
			case "restart":
				require.NoError(t, srv.Restart())
			}
			w := <-waiter
			require.NoError(t, w.err)
			assert.Equal(t, "from the database", w.p.Title, "the waiter loads on its own")
			assert.Less(t, time.Since(start), 2*time.Second, "the waiter waits no longer than its poll and a timeout")
			close(release)
			a := <-winner
			require.NoError(t, a.err, "the winner fails open")
			assert.Equal(t, "the winner's load", a.p.Title)

			if fault == "pause" {
				require.NoError(t, srv.Resume())
			}
			if fault != "kill" {
				require.Eventually(t, func() bool {
					p, err := stores[1].GetOrLoad(ctx, "k", fromDB)
					return err == nil && p.Title != ""
				}, 5*time.Second, 20*time.Millisecond, "the key is served again")
			}
			assertNoGoroutineLeak(t, before+2) // one watcher per client connection
		})
	}
}

// A caller waiting for another process's lease that cancels returns at
// once with its context's error; the winner's load goes on and stores, and
// the next caller reads it.
func TestFaultLeaseWaiterCancels(t *testing.T) {
	srv := memcachetest.NewServer(t)
	var stores []*memcache.Store[*page]
	waits := make(waitSignal, 1)
	for range 2 {
		c, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}, Timeout: faultTimeout})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		stores = append(stores, newStore[*page](t, c, memcache.WithCodec(plainJSON{}), memcache.WithRecorder(waits)))
	}
	bg := context.Background()
	loading, release, stored := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := stores[0].GetOrLoad(bg, "k", func(context.Context) (*page, error) {
			close(loading)
			<-release
			return &page{Title: "the winner's load"}, nil
		})
		stored <- err
	}()
	<-loading
	ctx, cancel := context.WithCancel(bg)
	go func() {
		<-waits
		cancel()
	}()
	start := time.Now()
	p, err := stores[1].GetOrLoad(ctx, "k", fromDB)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, p, "no value with an error")
	assert.Less(t, time.Since(start), 2*time.Second)
	close(release)
	require.NoError(t, <-stored)
	p, err = stores[1].GetOrLoad(bg, "k", fromDB)
	require.NoError(t, err)
	assert.Equal(t, "the winner's load", p.Title)
}
