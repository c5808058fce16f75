package memcache_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
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

var _ memcache.Leaser = (*meta.Client)(nil)

type leaseBackend interface {
	memcache.Backend
	memcache.Leaser
}

// leasers runs f against the Embedded backend and meta.Client on a real
// memcached: both must hand out tokens alike. open returns another
// backend on the same cache, as another process has: a client of its own
// (the same Embedded, which lives in one process).
func leasers(t *testing.T, f func(t *testing.T, b leaseBackend, open func() leaseBackend)) {
	t.Run("embedded", func(t *testing.T) {
		e := memcache.NewEmbedded(memcache.EmbeddedConfig{})
		f(t, e, func() leaseBackend { return e })
	})
	t.Run("meta", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		open := func() leaseBackend {
			c, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		f(t, open(), open)
	})
}

func TestLeaserTokens(t *testing.T) {
	leasers(t, func(t *testing.T, b leaseBackend, open func() leaseBackend) {
		ctx := context.Background()
		lease := memcache.LeaseOptions{LeaseTTL: 30}
		_, err := b.GetLease(ctx, "k", memcache.LeaseOptions{})
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "without LeaseTTL a miss is a miss")

		first, err := b.GetLease(ctx, "k", lease)
		require.NoError(t, err)
		second, err := b.GetLease(ctx, "k", lease)
		require.NoError(t, err)
		assert.True(t, first.Won && first.Item == nil, "the first caller wins the lease: %+v", first)
		assert.True(t, second.Pending && !second.Won && second.Item == nil, "the others wait: %+v", second)

		require.ErrorIs(t, b.ReleaseLease(ctx, "k", first.CAS+1000), memcache.ErrCASConflict)
		require.NoError(t, b.ReleaseLease(ctx, "k", first.CAS), "a failed load gives the lease up")
		again, err := b.GetLease(ctx, "k", lease)
		require.NoError(t, err)
		assert.True(t, again.Won, "and the next caller wins at once")

		require.NoError(t, b.Set(ctx, &memcache.Item{Key: "k", Value: []byte("v1"), Flags: 7, Expiration: 300}))
		hit, err := b.GetLease(ctx, "k", lease)
		require.NoError(t, err)
		require.NotNil(t, hit.Item, "the write ended the lease")
		assert.Equal(t, "v1", string(hit.Item.Value))
		assert.False(t, hit.Won || hit.Pending || hit.Stale)

		require.NoError(t, b.Invalidate(ctx, "k", 30))
		a, err := b.GetLease(ctx, "k", lease)
		require.NoError(t, err)
		c, err := b.GetLease(ctx, "k", memcache.LeaseOptions{})
		require.NoError(t, err)
		require.NotNil(t, a.Item)
		require.NotNil(t, c.Item)
		assert.Equal(t, "v1", string(a.Item.Value), "a stale value is still served")
		assert.True(t, a.Stale && a.Won, "to the one who reloads it: %+v", a)
		assert.True(t, c.Stale && c.Pending && !c.Won, "and to the others: %+v", c)
		require.ErrorIs(t, b.Invalidate(ctx, "absent", 30), memcache.ErrCacheMiss)

		require.NoError(t, b.Set(ctx, &memcache.Item{Key: "r", Value: []byte("x"), Flags: 7, Expiration: 60}))
		early := memcache.LeaseOptions{RefreshBelow: 100}
		r1, err := b.GetLease(ctx, "r", early)
		require.NoError(t, err)
		r2, err := b.GetLease(ctx, "r", early)
		require.NoError(t, err)
		assert.True(t, r1.Won && !r1.Stale, "below RefreshBelow, one caller refreshes: %+v", r1)
		assert.True(t, r2.Pending && !r2.Won, "%+v", r2)
		assert.Equal(t, "x", string(r2.Item.Value))
		assert.InDelta(t, 60, r2.TTL, 2)
		calm, err := b.GetLease(ctx, "r", memcache.LeaseOptions{RefreshBelow: 10})
		require.NoError(t, err)
		assert.True(t, calm.Pending, "the token stays handed out until a write")
	})
}

// Two stores on two clients stand for two processes: their callers share
// one load of a missing key through the lease, and Invalidate costs one
// reload while every caller is served the stale value.
func TestGetOrLoadSharesOneLoadThroughLeases(t *testing.T) {
	leasers(t, func(t *testing.T, b leaseBackend, open func() leaseBackend) {
		ctx := context.Background()
		// Each store has its own in-process flight.
		stores := []*memcache.Store[string]{newStore[string](t, b), newStore[string](t, open())}
		var loads atomic.Int32
		release := make(chan struct{})
		load := func(context.Context) (string, error) {
			loads.Add(1)
			<-release
			return "v1", nil
		}
		var wg sync.WaitGroup
		got := make(chan string, 40)
		for i := range 40 {
			wg.Go(func() {
				v, err := stores[i%2].GetOrLoad(ctx, "hot", load)
				assert.NoError(t, err)
				got <- v
			})
		}
		require.Eventually(t, func() bool { return loads.Load() > 0 }, 5*time.Second, time.Millisecond)
		close(release)
		wg.Wait()
		close(got)
		for v := range got {
			assert.Equal(t, "v1", v)
		}
		assert.Equal(t, int32(1), loads.Load(), "one load for both stores")

		require.NoError(t, stores[0].Invalidate(ctx, "hot"))
		var reloads atomic.Int32
		reloaded := make(chan struct{})
		reload := func(context.Context) (string, error) {
			reloads.Add(1)
			defer close(reloaded)
			return "v2", nil
		}
		for i := range 40 {
			v, err := stores[i%2].GetOrLoad(ctx, "hot", reload)
			require.NoError(t, err)
			assert.Contains(t, []string{"v1", "v2"}, v)
		}
		<-reloaded
		assert.Equal(t, int32(1), reloads.Load(), "one reload in all")
		require.Eventually(t, func() bool {
			v, err := stores[1].Get(ctx, "hot")
			return err == nil && v == "v2"
		}, 5*time.Second, time.Millisecond)
	})
}

// The cross-process proof: children are this test binary re-executed
// with leaseChildEnv naming the server, as internal/childproc does, each
// running leaseChildGoroutines GetOrLoad callers through meta.Client. The
// loads are counted in memcached itself, under leaseLoadsKey.
const (
	leaseChildEnv        = "LEANCACHE_LEASE_CHILD" // server address
	leaseModeEnv         = "LEANCACHE_LEASE_MODE"  // miss, stale or die
	leaseChildGoroutines = 50
	leaseLoadsKey        = "loads"
	leaseLoadTimeout     = 2 * time.Second // and so the children's lease TTL
)

func leaseStore(t *testing.T, c *meta.Client) *memcache.Store[string] {
	return newStore[string](t, c, memcache.WithNamespace("proof", "1"), memcache.WithLoadTimeout(leaseLoadTimeout))
}

// countedLoad counts itself in memcached, then takes a while, so that the
// other processes miss while it runs.
func countedLoad(c *meta.Client, v string, took time.Duration) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if _, err := c.Increment(ctx, leaseLoadsKey, 1); err != nil {
			return "", err
		}
		time.Sleep(took) // the load's work
		return v, nil
	}
}

// TestLeaseChild is the child's side; without leaseChildEnv it does
// nothing.
func TestLeaseChild(t *testing.T) {
	addr := os.Getenv(leaseChildEnv)
	if addr == "" {
		return
	}
	ctx := context.Background()
	c, err := meta.NewClient(meta.Config{Servers: []string{addr}})
	require.NoError(t, err)
	s := leaseStore(t, c)
	mine := fmt.Sprintf("v-%d", os.Getpid())
	if os.Getenv(leaseModeEnv) == "die" {
		_, _ = s.GetOrLoad(ctx, "hot", func(ctx context.Context) (string, error) {
			_, err := c.Increment(ctx, leaseLoadsKey, 1)
			require.NoError(t, err)
			fmt.Println("LOADING")
			select {} // killed here by the parent
		})
		t.Fatal("the dying winner returned")
	}
	load := countedLoad(c, mine, 300*time.Millisecond)
	var wg sync.WaitGroup
	got := make([]string, leaseChildGoroutines)
	for i := range got {
		wg.Go(func() {
			v, err := s.GetOrLoad(ctx, "hot", load)
			assert.NoError(t, err)
			got[i] = v
		})
	}
	wg.Wait()
	for _, v := range got {
		assert.NotEmpty(t, v)
		if os.Getenv(leaseModeEnv) == "stale" {
			assert.True(t, v == "old" || strings.HasPrefix(v, "v-"), "stale or reloaded, never anything else: %q", v)
		}
	}
	// A child that won the stale token reloads in the background: it
	// waits for the new value before it exits.
	require.Eventually(t, func() bool {
		v, err := s.Get(ctx, "hot")
		return err == nil && v != "old"
	}, 10*time.Second, 5*time.Millisecond)
}

// startLeaseChild starts one child in mode against srv.
func startLeaseChild(t *testing.T, srv *memcachetest.Server, mode string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestLeaseChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), leaseChildEnv+"="+srv.Addr, leaseModeEnv+"="+mode)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewReader(out)
}

// runLeaseChildren runs 4 children in mode at once and fails if any does.
func runLeaseChildren(t *testing.T, srv *memcachetest.Server, mode string) {
	t.Helper()
	type child struct {
		cmd *exec.Cmd
		out *bufio.Reader
	}
	var children []child
	for range 4 {
		cmd, out := startLeaseChild(t, srv, mode)
		children = append(children, child{cmd, out})
	}
	for _, c := range children {
		text, _ := io.ReadAll(c.out)
		require.NoError(t, c.cmd.Wait(), "child %d:\n%s", c.cmd.Process.Pid, text)
	}
}

func loadsCounted(t *testing.T, c *meta.Client) string {
	t.Helper()
	it, err := c.Get(context.Background(), leaseLoadsKey)
	require.NoError(t, err)
	return string(it.Value)
}

func TestLeasesAcrossProcesses(t *testing.T) {
	if os.Getenv(leaseChildEnv) != "" {
		return
	}
	ctx := context.Background()
	srv := memcachetest.NewServer(t)
	c, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s := leaseStore(t, c)
	resetLoads := func() {
		require.NoError(t, c.Set(ctx, &memcache.Item{Key: leaseLoadsKey, Value: []byte("0")}))
	}

	t.Run("miss", func(t *testing.T) {
		resetLoads()
		runLeaseChildren(t, srv, "miss")
		assert.Equal(t, "1", loadsCounted(t, c), "4 processes x 50 callers, one load")
	})

	t.Run("stale", func(t *testing.T) {
		resetLoads()
		require.NoError(t, s.Set(ctx, "hot", "old"))
		require.NoError(t, s.Invalidate(ctx, "hot"))
		runLeaseChildren(t, srv, "stale")
		assert.Equal(t, "1", loadsCounted(t, c), "one reload, everyone else served the stale value")
	})

	t.Run("winner dies", func(t *testing.T) {
		resetLoads()
		require.NoError(t, s.Delete(ctx, "hot"))
		cmd, out := startLeaseChild(t, srv, "die")
		line, err := out.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "LOADING\n", line)
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()

		// Without WithLoadTimeout this store waits for the lease as long
		// as it takes (DefaultLeaseTTL and a second at most).
		patient := newStore[string](t, c, memcache.WithNamespace("proof", "1"))
		v, err := patient.GetOrLoad(ctx, "hot", countedLoad(c, "after", 0))
		require.NoError(t, err)
		assert.Equal(t, "after", v, "this process loads once the dead winner's lease expired")
		assert.Equal(t, "2", loadsCounted(t, c))
	})
}

// WithRefreshAhead: a value close to its expiration is refreshed once, in
// the background, while every caller gets the current value.
func TestGetOrLoadRefreshesAhead(t *testing.T) {
	leasers(t, func(t *testing.T, b leaseBackend, open func() leaseBackend) {
		ctx := context.Background()
		opts := []memcache.Option{memcache.WithExpiration(5 * time.Second), memcache.WithRefreshAhead(10 * time.Second)}
		stores := []*memcache.Store[string]{newStore[string](t, b, opts...), newStore[string](t, open(), opts...)}
		require.NoError(t, stores[0].Set(ctx, "k", "v1"))
		var refreshes atomic.Int32
		release, done := make(chan struct{}), make(chan struct{})
		refresh := func(context.Context) (string, error) {
			refreshes.Add(1)
			<-release
			defer close(done)
			return "v2", nil
		}
		for i := range 20 {
			v, err := stores[i%2].GetOrLoad(ctx, "k", refresh)
			require.NoError(t, err)
			assert.Equal(t, "v1", v, "callers get the current value meanwhile")
		}
		close(release)
		select {
		case <-done:
		case <-time.After(10 * time.Second): // a bound against a stall, not a timing
			t.Fatal("no refresh ran")
		}
		assert.Equal(t, int32(1), refreshes.Load(), "one refresh for all callers of both stores")
		require.Eventually(t, func() bool {
			v, err := stores[1].Get(ctx, "k")
			return err == nil && v == "v2"
		}, 5*time.Second, time.Millisecond)

		calm := newStore[string](t, b, memcache.WithExpiration(time.Hour), memcache.WithRefreshAhead(10*time.Second))
		require.NoError(t, calm.Set(ctx, "far", "v1"))
		v, err := calm.GetOrLoad(ctx, "far", func(context.Context) (string, error) {
			t.Error("a value far from expiring is not refreshed")
			return "", nil
		})
		require.NoError(t, err)
		assert.Equal(t, "v1", v)
	})
}

// A winner whose load fails gives its lease up: the next caller, in any
// process, loads at once instead of after the lease's TTL (30 s here).
func TestGetOrLoadReleasesTheLeaseOfAFailedLoad(t *testing.T) {
	leasers(t, func(t *testing.T, b leaseBackend, open func() leaseBackend) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errDB := errors.New("database down")
		s, other := newStore[string](t, b), newStore[string](t, open())
		_, err := s.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "", errDB })
		require.ErrorIs(t, err, errDB)
		v, err := other.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "v", nil })
		require.NoError(t, err, "no wait for a lease nobody holds")
		assert.Equal(t, "v", v)
	})
}

// While a load holds a key's lease, the key holds a placeholder: Get and
// GetMulti read it as the miss it stands for, not as a foreign value.
func TestPlaceholderReadsAsAMiss(t *testing.T) {
	leasers(t, func(t *testing.T, b leaseBackend, _ func() leaseBackend) {
		ctx := context.Background()
		s := newStore[string](t, b)
		k, err := s.Key("k")
		require.NoError(t, err)
		l, err := b.GetLease(ctx, k, memcache.LeaseOptions{LeaseTTL: 30})
		require.NoError(t, err)
		require.True(t, l.Won)
		_, err = s.Get(ctx, "k")
		require.ErrorIs(t, err, memcache.ErrCacheMiss)
		var fe *memcache.FormatError
		assert.False(t, errors.As(err, &fe), "not a value of another codec: %v", err)
		m, err := s.GetMulti(ctx, []string{"k"})
		require.NoError(t, err)
		assert.Empty(t, m)
	})
}

// Without leases (the gomemcache Client), Invalidate is a Delete: the next
// reader loads afresh.
func TestInvalidateWithoutLeasesDeletes(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	s := newStore[string](t, c)
	require.NoError(t, s.Set(ctx, "k", "old"))
	require.NoError(t, s.Invalidate(ctx, "k"))
	_, err = s.Get(ctx, "k")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
	require.ErrorIs(t, s.Invalidate(ctx, "k"), memcache.ErrCacheMiss)
	v, err := s.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "new", nil })
	require.NoError(t, err)
	assert.Equal(t, "new", v)
}
