package memcache_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/internal/flight"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// TestGetOrLoadFastLoaderLoadsOnce: 100 callers released at once, an
// instant loader, real memcached. A caller whose read missed just before
// another's load stored the value, and whose flight starts after that load
// ended, must find the value rather than load it again.
func TestGetOrLoadFastLoaderLoadsOnce(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s := newStore[*page](t, c, memcache.WithCodec(plainJSON{}))
	for round := range 5 { // a fresh key each round: five chances to load twice
		key := "fast-" + string(rune('a'+round))
		var loads atomic.Int32
		load := func(context.Context) (*page, error) {
			loads.Add(1)
			return &page{Title: "loaded"}, nil
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				<-start
				p, err := s.GetOrLoad(context.Background(), key, load)
				if assert.NoError(t, err) {
					assert.Equal(t, "loaded", p.Title)
				}
			})
		}
		close(start)
		wg.Wait()
		require.EqualValues(t, 1, loads.Load(), "round %d: one load per key however many callers", round)
	}
}

func TestGetOrLoadErrorComesWithTheZeroValue(t *testing.T) {
	s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}))
	boom := errors.New("boom")
	p, err := s.GetOrLoad(t.Context(), "k", func(context.Context) (*page, error) {
		return &page{Title: "half-built"}, boom
	})
	require.ErrorIs(t, err, boom, "the loader's error, unwrapped")
	assert.Nil(t, p, "a value returned with an error is dropped")
	_, err = s.Get(t.Context(), "k")
	require.ErrorIs(t, err, memcache.ErrCacheMiss, "nothing stored")
}

// TestGetOrLoadFailClosedWriteFailureComesWithTheZeroValue: the write of
// the loaded value fails, refused as too large or because the server died
// during the load. Fail closed returns the failure and no value; fail open
// answers with the value and reports the failure.
func TestGetOrLoadFailClosedWriteFailureComesWithTheZeroValue(t *testing.T) {
	t.Run("too large", func(t *testing.T) {
		var reported []error
		open := newStore[[]byte](t, nil, memcache.WithCodec(rawBytes{}), memcache.WithItemSizeMax(1024),
			memcache.WithErrorHandler(func(_ string, err error) { reported = append(reported, err) }))
		closed := newStore[[]byte](t, nil, memcache.WithCodec(rawBytes{}), memcache.WithItemSizeMax(1024), memcache.WithFailClosed())
		big := func(context.Context) ([]byte, error) { return bytes.Repeat([]byte("x"), 4096), nil }

		v, err := closed.GetOrLoad(t.Context(), "k", big)
		require.ErrorIs(t, err, memcache.ErrTooLarge)
		assert.True(t, v == nil, "fail closed: the failure and no value, not %d bytes", len(v))

		v, err = open.GetOrLoad(t.Context(), "k", big)
		require.NoError(t, err)
		assert.Len(t, v, 4096, "fail open: the loaded value")
		require.Len(t, reported, 1)
		assert.ErrorIs(t, reported[0], memcache.ErrTooLarge)
	})
	t.Run("server died during the load", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, Timeout: faultTimeout})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		closed := newStore[*page](t, c, memcache.WithCodec(plainJSON{}), memcache.WithFailClosed())
		p, err := closed.GetOrLoad(t.Context(), "k", func(context.Context) (*page, error) {
			srv.Kill()
			return &page{Title: "from db"}, nil
		})
		require.Error(t, err)
		assert.Nil(t, p, "fail closed: the failure and no value")
	})
}

func TestGetOrLoadGoexitIsAnError(t *testing.T) {
	s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}))
	p, err := s.GetOrLoad(t.Context(), "k", func(context.Context) (*page, error) {
		runtime.Goexit()
		return &page{}, nil
	})
	require.ErrorIs(t, err, flight.ErrGoexit)
	assert.Contains(t, err.Error(), `memcache: GetOrLoad "k"`)
	assert.Nil(t, p)
	// Nothing stored, and the key is free.
	p, err = s.GetOrLoad(t.Context(), "k", func(context.Context) (*page, error) { return &page{Title: "ok"}, nil })
	require.NoError(t, err)
	assert.Equal(t, "ok", p.Title)
}

// TestGetOrLoadPanicIsAPanicError: every caller sharing a panicking load
// panics with a *cacheprop.PanicError that unwraps to the panic value.
func TestGetOrLoadPanicIsAPanicError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}))
		errBug := errors.New("loader bug")
		release := make(chan struct{})
		load := func(context.Context) (*page, error) {
			<-release
			panic(errBug)
		}
		got := make([]any, 3)
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() {
				defer func() { got[i] = recover() }()
				_, _ = s.GetOrLoad(context.Background(), "k", load)
			})
		}
		synctest.Wait() // all three share the one load, blocked
		close(release)
		wg.Wait()
		for i, r := range got {
			pe, ok := r.(*cacheprop.PanicError)
			require.True(t, ok, "caller %d panicked with %T %v", i, r, r)
			assert.Equal(t, errBug, pe.Value)
			assert.ErrorIs(t, pe, errBug, "errors.Is sees through the panic")
			assert.Contains(t, string(pe.Stack), "load_test.go", "the stack is the loader's")
		}
		_, err := s.Get(context.Background(), "k")
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "a panic stores nothing")
	})
}

// TestGetOrLoadTimeoutFreesAHungKey: a loader that ignores its context and
// never returns holds its key only until WithLoadTimeout's deadline; then
// its callers get an error, later callers load afresh, and the hung
// loader's late value is not stored.
func TestGetOrLoadTimeoutFreesAHungKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = 5 * time.Second
		s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}), memcache.WithLoadTimeout(d))
		release := make(chan struct{})
		deadlines := make(chan time.Time, 1) // the loader outlives its callers
		hung := func(ctx context.Context) (*page, error) {
			dl, _ := ctx.Deadline()
			deadlines <- dl
			<-release // ignores ctx
			return &page{Title: "late"}, nil
		}
		start := time.Now()
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				p, err := s.GetOrLoad(context.Background(), "k", hung)
				errs[i] = err
				assert.Nil(t, p)
			})
		}
		synctest.Wait() // both share the hung load
		// A caller whose own context ends first stops waiting then.
		short, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := s.GetOrLoad(short, "k", func(context.Context) (*page, error) {
			t.Error("joined the load in progress: its own loader must not run")
			return nil, nil
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "the caller's own context bounds its wait")

		wg.Wait()
		assert.Equal(t, d, time.Since(start), "the load's timeout ends it")
		assert.Equal(t, start.Add(d), <-deadlines, "the loader's context has the deadline")
		for _, err := range errs {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Contains(t, err.Error(), `memcache: GetOrLoad "k": load timed out after 5s`)
		}

		p, err := s.GetOrLoad(context.Background(), "k", func(context.Context) (*page, error) {
			return &page{Title: "fresh"}, nil
		})
		require.NoError(t, err, "a later caller loads afresh")
		assert.Equal(t, "fresh", p.Title)

		close(release)
		synctest.Wait() // the hung loader returns, late
		p, err = s.Get(context.Background(), "k")
		require.NoError(t, err)
		assert.Equal(t, "fresh", p.Title, "a load that outlived its timeout stores nothing")
	})
}

// TestGetOrLoadReadsAgainWithoutReportingTwice: the load's second read
// finds the value the caller could not read unchanged, and neither decodes
// nor reports it again; the load overwrites it.
func TestGetOrLoadReadsAgainWithoutReportingTwice(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		ctx := t.Context()
		other := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}))
		require.NoError(t, other.Set(ctx, "k", []byte("another codec's bytes")))
		var reported []error
		s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}),
			memcache.WithErrorHandler(func(_ string, err error) { reported = append(reported, err) }))
		loads := 0
		load := func(context.Context) (*page, error) { loads++; return &page{Title: "loaded"}, nil }
		p, err := s.GetOrLoad(ctx, "k", load)
		require.NoError(t, err)
		assert.Equal(t, "loaded", p.Title)
		assert.Equal(t, 1, loads)
		require.Len(t, reported, 1, "reported once, not once per read")
		var fe *memcache.FormatError
		assert.ErrorAs(t, reported[0], &fe)
		p, err = s.Get(ctx, "k")
		require.NoError(t, err, "overwritten")
		assert.Equal(t, "loaded", p.Title)
	})
}
