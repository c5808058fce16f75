package memcache_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// Plain reads of a value Invalidate marked stale (Get, GetMulti, Touch)
// serve it and leave the reload to GetOrLoad: on memcached the first mg of
// any kind wins a stale value's token, so a client that kept it would
// leave the value stale, reloaded by no one, until its stale TTL ran out.
func TestPlainReadsLeaveTheStaleTokenToGetOrLoad(t *testing.T) {
	leasers(t, func(t *testing.T, b leaseBackend, open func() leaseBackend) {
		ctx := context.Background()
		s := newStore[string](t, b, memcache.WithExpiration(time.Hour))
		require.NoError(t, s.Set(ctx, "k", "old"))
		require.NoError(t, s.Invalidate(ctx, "k"))

		v, err := s.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "old", v)
		m, err := s.GetMulti(ctx, []string{"k"})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"k": "old"}, m)
		require.NoError(t, s.Touch(ctx, "k", time.Hour))

		var loads atomic.Int32
		reloaded := make(chan struct{})
		v, err = newStore[string](t, open(), memcache.WithExpiration(time.Hour)).GetOrLoad(ctx, "k", func(context.Context) (string, error) {
			if loads.Add(1) == 1 {
				defer close(reloaded)
			}
			return "new", nil
		})
		require.NoError(t, err)
		assert.Equal(t, "old", v, "the stale value is served while it is reloaded")
		select {
		case <-reloaded:
		case <-time.After(10 * time.Second): // a bound against a stall, not a timing
			t.Fatal("nobody reloaded the stale value: a plain read kept its token")
		}
		require.Eventually(t, func() bool {
			v, err := s.Get(ctx, "k")
			return err == nil && v == "new"
		}, 5*time.Second, time.Millisecond)
		assert.Equal(t, int32(1), loads.Load())
	})
}
