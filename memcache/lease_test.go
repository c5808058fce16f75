package memcache_test

import (
	"context"
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
