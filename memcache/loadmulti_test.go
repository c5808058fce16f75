package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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
	"github.com/leancache/leancache/memcache/meta"
)

// allBackends runs f against the embedded backend, a real memcached
// through the gomemcache Client (no leases, no pipelined writes) and
// through memcache/meta's Client (leases, pipelined writes).
func allBackends(t *testing.T, f func(t *testing.T, b memcache.Backend)) {
	backends(t, f)
	t.Run("meta", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		c, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		f(t, c)
	})
}

// batchLoader loads "v:"+key for every key it is asked for but those in
// absent, and records its calls.
type batchLoader struct {
	mu     sync.Mutex
	calls  [][]string
	absent map[string]bool
}

func (l *batchLoader) load(_ context.Context, keys []string) (map[string]string, error) {
	l.mu.Lock()
	l.calls = append(l.calls, slices.Clone(keys))
	l.mu.Unlock()
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if !l.absent[k] {
			out[k] = "v:" + k
		}
	}
	return out, nil
}

func (l *batchLoader) Calls() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// TestGetOrLoadMulti100Keys37Miss: of 100 keys, 63 are cached; one call
// of load gets exactly the 37 others, in the order of keys; all 100 are
// returned, and the 37 are stored.
func TestGetOrLoadMulti100Keys37Miss(t *testing.T) {
	allBackends(t, func(t *testing.T, b memcache.Backend) {
		ctx := t.Context()
		s := newStore[string](t, b)
		keys := make([]string, 100)
		for i := range keys {
			keys[i] = fmt.Sprintf("k%03d", i)
		}
		rand.New(rand.NewPCG(3, 7)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		var missing []string
		for i, k := range keys {
			if i%8 == 0 || i%5 == 1 || len(missing) < 37 && i >= 90 {
				missing = append(missing, k)
				continue
			}
			require.NoError(t, s.Set(ctx, k, "v:"+k))
		}
		require.Len(t, missing, 37)
		var l batchLoader
		got, err := s.GetOrLoadMulti(ctx, keys, l.load)
		require.NoError(t, err)
		require.Equal(t, [][]string{missing}, l.Calls(), "one call of load with exactly the keys that missed, in order")
		require.Len(t, got, 100)
		for _, k := range keys {
			assert.Equal(t, "v:"+k, got[k])
		}
		for _, k := range missing {
			v, err := s.Get(ctx, k)
			require.NoError(t, err, "what load returned is stored")
			assert.Equal(t, "v:"+k, v)
		}
		got, err = s.GetOrLoadMulti(ctx, append(keys, keys[:10]...), l.load)
		require.NoError(t, err)
		assert.Len(t, got, 100)
		assert.Len(t, l.Calls(), 1, "all hits: no load")
	})
}

// TestGetOrLoadMultiOneMultiGet: a batch of hits and misses costs one
// multi-get, one load and the writes of the misses, no more.
func TestGetOrLoadMultiOneMultiGet(t *testing.T) {
	allBackends(t, func(t *testing.T, b memcache.Backend) {
		var ops sync.Map // Op -> *atomic.Int32
		count := func(next memcache.Handler) memcache.Handler {
			return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
				n, _ := ops.LoadOrStore(req.Op, new(atomic.Int32))
				n.(*atomic.Int32).Add(1)
				return next(ctx, req)
			}
		}
		s := newStore[string](t, b, memcache.WithMiddleware(count))
		ctx := t.Context()
		require.NoError(t, s.Set(ctx, "a", "A"))
		ops.Clear()
		var l batchLoader
		got, err := s.GetOrLoadMulti(ctx, []string{"a", "b", "c"}, l.load)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"a": "A", "b": "v:b", "c": "v:c"}, got)
		n, _ := ops.Load(memcache.OpGetMulti)
		require.NotNil(t, n)
		assert.EqualValues(t, 1, n.(*atomic.Int32).Load(), "one multi-get")
		_, gets := ops.Load(memcache.OpGet)
		assert.False(t, gets, "no single gets")
		sets, _ := ops.Load(memcache.OpSet)
		assert.EqualValues(t, 2, sets.(*atomic.Int32).Load(), "the two misses written")
	})
}

// TestGetOrLoadMultiAbsentKeys: a key load does not return is absent from
// the result, not an error; without negative caching it is loaded again
// next time, with it it is not, and GetOrLoad answers ErrNotFound for it.
func TestGetOrLoadMultiAbsentKeys(t *testing.T) {
	allBackends(t, func(t *testing.T, b memcache.Backend) {
		ctx := t.Context()
		keys := []string{"x", "gone", "y"}
		plain := newStore[string](t, b, memcache.WithNamespace("plain", "1"))
		l := batchLoader{absent: map[string]bool{"gone": true}}
		got, err := plain.GetOrLoadMulti(ctx, keys, l.load)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"x": "v:x", "y": "v:y"}, got)
		_, err = plain.GetOrLoadMulti(ctx, keys, l.load)
		require.NoError(t, err)
		assert.Equal(t, [][]string{keys, {"gone"}}, l.Calls(), "no negative caching: loaded again")
		_, err = plain.Get(ctx, "gone")
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "nothing stored without WithNegativeTTL")
		require.NotErrorIs(t, err, memcache.ErrNotFound)

		neg := newStore[string](t, b, memcache.WithNamespace("neg", "1"), memcache.WithNegativeTTL(time.Minute))
		l = batchLoader{absent: map[string]bool{"gone": true}}
		got, err = neg.GetOrLoadMulti(ctx, keys, l.load)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"x": "v:x", "y": "v:y"}, got)
		got, err = neg.GetOrLoadMulti(ctx, keys, l.load)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"x": "v:x", "y": "v:y"}, got)
		assert.Equal(t, [][]string{keys}, l.Calls(), "the absence is remembered")
		_, err = neg.GetOrLoad(ctx, "gone", func(context.Context) (string, error) {
			t.Error("GetOrLoad loaded a key with a live negative entry")
			return "", nil
		})
		require.ErrorIs(t, err, memcache.ErrNotFound)
	})
}

// TestGetOrLoadMultiLoadError: load's error reaches every key it was
// asked for, in a *MultiError, with the values of the hits; nothing is
// stored.
func TestGetOrLoadMultiLoadError(t *testing.T) {
	allBackends(t, func(t *testing.T, b memcache.Backend) {
		ctx := t.Context()
		s := newStore[string](t, b)
		require.NoError(t, s.Set(ctx, "hit", "H"))
		boom := errors.New("boom")
		got, err := s.GetOrLoadMulti(ctx, []string{"hit", "m1", "m2"}, func(context.Context, []string) (map[string]string, error) {
			return map[string]string{"m1": "should be dropped"}, boom
		})
		require.ErrorIs(t, err, boom)
		var me *memcache.MultiError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, []string{"m1", "m2"}, me.Keys())
		assert.Equal(t, map[string]string{"hit": "H"}, got)
		_, err = s.Get(ctx, "m1")
		require.ErrorIs(t, err, memcache.ErrCacheMiss)
	})
}

// TestGetOrLoadMultiMalformedKey: a malformed key is refused before any
// load.
func TestGetOrLoadMultiMalformedKey(t *testing.T) {
	s := newStore[string](t, nil)
	_, err := s.GetOrLoadMulti(t.Context(), []string{"ok", ""}, func(context.Context, []string) (map[string]string, error) {
		t.Error("loaded despite a malformed key")
		return nil, nil
	})
	require.ErrorIs(t, err, memcache.ErrMalformedKey)
	got, err := s.GetOrLoadMulti(t.Context(), nil, func(context.Context, []string) (map[string]string, error) {
		t.Error("loaded no keys")
		return nil, nil
	})
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestGetOrLoadMultiSharesInFlightKeys: a key in flight for GetOrLoad is
// waited for, not passed to load; two concurrent batches share their
// common keys: every key is loaded once.
func TestGetOrLoadMultiSharesInFlightKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore[string](t, memcache.NewEmbedded(memcache.EmbeddedConfig{}))
		release := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			v, err := s.GetOrLoad(ctx, "a", func(context.Context) (string, error) { <-release; return "from GetOrLoad", nil })
			assert.NoError(t, err)
			assert.Equal(t, "from GetOrLoad", v)
		})
		synctest.Wait()
		var mu sync.Mutex
		loaded := map[string]int{}
		load := func(_ context.Context, keys []string) (map[string]string, error) {
			mu.Lock()
			for _, k := range keys {
				loaded[k]++
			}
			mu.Unlock()
			<-release
			out := map[string]string{}
			for _, k := range keys {
				out[k] = "v:" + k
			}
			return out, nil
		}
		results := make([]map[string]string, 2)
		wg.Go(func() {
			var err error
			results[0], err = s.GetOrLoadMulti(ctx, []string{"a", "b", "c"}, load)
			assert.NoError(t, err)
		})
		synctest.Wait()
		wg.Go(func() {
			var err error
			results[1], err = s.GetOrLoadMulti(ctx, []string{"c", "d", "a"}, load)
			assert.NoError(t, err)
		})
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.Equal(t, map[string]int{"b": 1, "c": 1, "d": 1}, loaded, "each key loaded once; a shared by GetOrLoad")
		assert.Equal(t, map[string]string{"a": "from GetOrLoad", "b": "v:b", "c": "v:c"}, results[0])
		assert.Equal(t, map[string]string{"a": "from GetOrLoad", "c": "v:c", "d": "v:d"}, results[1])
	})
}

// TestGetOrLoadMultiShareWithGetOrLoadOfAnAbsentKey: a GetOrLoad caller
// waiting for a key of a batch that load did not return gets ErrNotFound.
func TestGetOrLoadMultiShareWithGetOrLoadOfAnAbsentKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore[string](t, memcache.NewEmbedded(memcache.EmbeddedConfig{}))
		release := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			_, err := s.GetOrLoadMulti(ctx, []string{"gone"}, func(context.Context, []string) (map[string]string, error) {
				<-release
				return nil, nil
			})
			assert.NoError(t, err)
		})
		synctest.Wait()
		var err error
		wg.Go(func() {
			_, err = s.GetOrLoad(ctx, "gone", func(context.Context) (string, error) {
				t.Error("GetOrLoad loaded a key in flight")
				return "", nil
			})
		})
		synctest.Wait()
		close(release)
		wg.Wait()
		require.ErrorIs(t, err, memcache.ErrNotFound)
	})
}

// TestGetOrLoadMultiAcrossProcesses: a key whose lease another process
// holds is waited for, and its value taken, not loaded; the rest are
// loaded in one call.
func TestGetOrLoadMultiAcrossProcesses(t *testing.T) {
	srv := memcachetest.NewServer(t)
	open := func() *memcache.Store[string] {
		c, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return newStore[string](t, c)
	}
	p1, p2 := open(), open()
	ctx := t.Context()
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		v, err := p1.GetOrLoad(ctx, "x", func(context.Context) (string, error) {
			close(started)
			<-release
			return "from p1", nil
		})
		assert.NoError(t, err)
		assert.Equal(t, "from p1", v)
	})
	<-started // p1 holds x's lease
	var l batchLoader
	var got map[string]string
	var err error
	wg.Go(func() { got, err = p2.GetOrLoadMulti(ctx, []string{"x", "y"}, l.load) })
	require.Eventually(t, func() bool { return len(l.Calls()) == 1 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"y"}}, l.Calls(), "x is p1's to load")
	assert.Equal(t, map[string]string{"x": "from p1", "y": "v:y"}, got)
}

// TestGetOrLoadMultiFailsOpen: with memcached down the keys are loaded
// and returned, the failure reported once; WithFailClosed returns it.
func TestGetOrLoadMultiFailsOpen(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	require.NoError(t, srv.Kill())
	var reported atomic.Int32
	s := newStore[string](t, c, memcache.WithErrorHandler(func(string, error) { reported.Add(1) }))
	var l batchLoader
	got, err := s.GetOrLoadMulti(t.Context(), []string{"a", "b"}, l.load)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "v:a", "b": "v:b"}, got)
	assert.EqualValues(t, 1, reported.Load())
	assert.Equal(t, [][]string{{"a", "b"}}, l.Calls())

	closed := newStore[string](t, c, memcache.WithFailClosed())
	_, err = closed.GetOrLoadMulti(t.Context(), []string{"a", "b"}, l.load)
	require.Error(t, err)
	assert.Len(t, l.Calls(), 1, "fail closed: no load")
}

// TestGetOrLoadMultiTTL: the TTL of a call is the lifetime of what its load
// stores.
func TestGetOrLoadMultiTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore[string](t, memcache.NewEmbedded(memcache.EmbeddedConfig{}), memcache.WithExpiration(time.Hour))
		var l batchLoader
		_, err := s.GetOrLoadMulti(ctx, []string{"a", "b"}, l.load, memcache.TTL(10*time.Second))
		require.NoError(t, err)
		time.Sleep(9 * time.Second)
		got, err := s.GetMulti(ctx, []string{"a", "b"})
		require.NoError(t, err)
		assert.Len(t, got, 2)
		time.Sleep(2 * time.Second)
		got, err = s.GetMulti(ctx, []string{"a", "b"})
		require.NoError(t, err)
		assert.Empty(t, got, "expired after the call's TTL, not the store's hour")
	})
}

// noLeases hides the Embedded backend's leases, as the gomemcache Client
// has none.
type noLeases struct{ memcache.Backend }

// TestGetOrLoadMultiReadsAgainAfterALoadEnded: a key that another caller's
// load stored between this call's multi-get and its claim is read again,
// not loaded twice; a batch with no load ending meanwhile reads once.
func TestGetOrLoadMultiReadsAgainAfterALoadEnded(t *testing.T) {
	ctx := t.Context()
	var s *memcache.Store[string]
	var multiGets atomic.Int32
	var otherLoads atomic.Int32
	race := func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
			resp, err := next(ctx, req)
			if req.Op == memcache.OpGetMulti && multiGets.Add(1) == 1 {
				// Between the first read, which missed "a", and the
				// claim: another caller loads and stores it.
				_, gerr := s.GetOrLoad(ctx, "a", func(context.Context) (string, error) {
					otherLoads.Add(1)
					return "by the other caller", nil
				})
				require.NoError(t, gerr)
			}
			return resp, err
		}
	}
	s = newStore[string](t, noLeases{memcache.NewEmbedded(memcache.EmbeddedConfig{})}, memcache.WithMiddleware(race))
	var l batchLoader
	got, err := s.GetOrLoadMulti(ctx, []string{"a", "b"}, l.load)
	require.NoError(t, err)
	assert.EqualValues(t, 1, otherLoads.Load())
	assert.Equal(t, [][]string{{"b"}}, l.Calls(), "a was read again, not loaded")
	assert.Equal(t, map[string]string{"a": "by the other caller", "b": "v:b"}, got)
	assert.EqualValues(t, 2, multiGets.Load(), "the read again")

	_, err = s.GetOrLoadMulti(ctx, []string{"c", "d"}, l.load)
	require.NoError(t, err)
	assert.EqualValues(t, 3, multiGets.Load(), "no load ended meanwhile: one multi-get")
}

// TestGetOrLoadMultiPanicGivesTheLeasesUp: a load that panics panics the
// caller with a *cacheprop.PanicError and gives its leases up, so that
// the next call loads at once instead of waiting out the lease.
func TestGetOrLoadMultiPanicGivesTheLeasesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore[string](t, memcache.NewEmbedded(memcache.EmbeddedConfig{}))
		func() {
			defer func() {
				var pe *cacheprop.PanicError
				err, _ := recover().(error)
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "db gone", pe.Value)
			}()
			_, _ = s.GetOrLoadMulti(ctx, []string{"a", "b"}, func(context.Context, []string) (map[string]string, error) { panic("db gone") })
			t.Error("GetOrLoadMulti returned after its load panicked")
		}()
		start := time.Now()
		var l batchLoader
		got, err := s.GetOrLoadMulti(ctx, []string{"a", "b"}, l.load)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"a": "v:a", "b": "v:b"}, got)
		assert.Equal(t, [][]string{{"a", "b"}}, l.Calls())
		assert.Zero(t, time.Since(start), "no wait for a dead lease")
	})
}

// TestGetOrLoadMultiLoadTimeout: WithLoadTimeout bounds the batch: a load
// that hangs ends its keys with ErrTimeout, and the keys are free again.
func TestGetOrLoadMultiLoadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore[string](t, memcache.NewEmbedded(memcache.EmbeddedConfig{}), memcache.WithLoadTimeout(2*time.Second))
		hang := make(chan struct{})
		defer close(hang)
		_, err := s.GetOrLoadMulti(ctx, []string{"a", "b"}, func(context.Context, []string) (map[string]string, error) {
			<-hang
			return nil, nil
		})
		require.ErrorIs(t, err, flight.ErrTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var me *memcache.MultiError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, []string{"a", "b"}, me.Keys())
		var l batchLoader
		got, err := s.GetOrLoadMulti(ctx, []string{"a", "b"}, l.load)
		require.NoError(t, err)
		assert.Len(t, got, 2)
	})
}

// TestGetOrLoadMultiConcurrentCallersLoadEachKeyOnce: 20 callers of
// overlapping batches, released at once, an instant loader: every key is
// loaded once in all, however the batches interleave.
func TestGetOrLoadMultiConcurrentCallersLoadEachKeyOnce(t *testing.T) {
	allBackends(t, func(t *testing.T, b memcache.Backend) {
		s := newStore[string](t, b)
		var mu sync.Mutex
		loads := map[string]int{}
		load := func(_ context.Context, keys []string) (map[string]string, error) {
			mu.Lock()
			defer mu.Unlock()
			out := map[string]string{}
			for _, k := range keys {
				loads[k]++
				out[k] = "v:" + k
			}
			return out, nil
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for c := range 20 {
			wg.Go(func() {
				keys := make([]string, 50)
				for i := range keys {
					keys[i] = fmt.Sprintf("k%d", (c*5+i)%100)
				}
				<-start
				got, err := s.GetOrLoadMulti(context.Background(), keys, load)
				if assert.NoError(t, err) {
					assert.Len(t, got, 50)
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Len(t, loads, 100)
		for k, n := range loads {
			assert.Equal(t, 1, n, k)
		}
	})
}
