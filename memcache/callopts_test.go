package memcache_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// expirations is a middleware that records the expiration field of every
// write, by memcached key.
type expirations struct {
	mu  sync.Mutex
	got map[string][]int32
}

func (e *expirations) middleware(next memcache.Handler) memcache.Handler {
	return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
		if req.Item != nil {
			e.mu.Lock()
			if e.got == nil {
				e.got = map[string][]int32{}
			}
			e.got[req.Item.Key] = append(e.got[req.Item.Key], req.Item.Expiration)
			e.mu.Unlock()
		}
		return next(ctx, req)
	}
}

func (e *expirations) of(key string) []int32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.got[key]
}

// TestTTLOnEveryWrite: each write call takes TTL instead of the store's
// expiration, by memcached's rules, and without it keeps the store's.
func TestTTLOnEveryWrite(t *testing.T) {
	allBackends(t, func(t *testing.T, b memcache.Backend) {
		ctx := t.Context()
		var exp expirations
		s := newStore[string](t, b, memcache.WithExpiration(time.Hour), memcache.WithMiddleware(exp.middleware))
		ttl := memcache.TTL(90 * time.Second)
		require.NoError(t, s.Set(ctx, "set", "v", ttl))
		require.NoError(t, s.Set(ctx, "default", "v"))
		require.NoError(t, s.Add(ctx, "add", "v", ttl))
		require.NoError(t, s.Replace(ctx, "add", "w", memcache.TTL(30*time.Second)))
		require.NoError(t, s.SetMulti(ctx, map[string]string{"m1": "v", "m2": "v"}, ttl))
		_, err := s.GetOrLoad(ctx, "gol", func(context.Context) (string, error) { return "v", nil }, ttl)
		require.NoError(t, err)
		_, err = s.GetOrLoadMulti(ctx, []string{"golm"}, func(_ context.Context, keys []string) (map[string]string, error) {
			return map[string]string{"golm": "v"}, nil
		}, ttl)
		require.NoError(t, err)
		require.NoError(t, s.Set(ctx, "never", "v", memcache.TTL(0)))
		before := time.Now()
		require.NoError(t, s.Set(ctx, "long", "v", memcache.TTL(40*24*time.Hour)))

		assert.Equal(t, []int32{90}, exp.of("set"))
		assert.Equal(t, []int32{3600}, exp.of("default"))
		assert.Equal(t, []int32{90, 30}, exp.of("add"))
		assert.Equal(t, []int32{90}, exp.of("m1"))
		assert.Equal(t, []int32{90}, exp.of("m2"))
		assert.Equal(t, []int32{90}, exp.of("gol"))
		assert.Equal(t, []int32{90}, exp.of("golm"))
		assert.Equal(t, []int32{0}, exp.of("never"), "zero: never expires")
		long := exp.of("long")
		require.Len(t, long, 1)
		assert.InDelta(t, before.Add(40*24*time.Hour).Unix(), long[0], 2, "beyond 30 days: an absolute time")
		for _, k := range []string{"set", "add", "m1", "gol", "golm", "never", "long"} {
			_, err := s.Get(ctx, k)
			assert.NoError(t, err, k)
		}
	})
}

// TestTTLHonoured: a value written with a TTL expires after it, one
// written without it does not (embedded, in a synctest bubble).
func TestTTLHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore[string](t, memcache.NewEmbedded(memcache.EmbeddedConfig{}), memcache.WithExpiration(time.Hour))
		require.NoError(t, s.Set(ctx, "short", "v", memcache.TTL(5*time.Second)))
		require.NoError(t, s.Set(ctx, "long", "v"))
		_, err := s.GetOrLoad(ctx, "loaded", func(context.Context) (string, error) { return "v", nil }, memcache.TTL(5*time.Second))
		require.NoError(t, err)
		time.Sleep(4 * time.Second)
		for _, k := range []string{"short", "loaded", "long"} {
			_, err := s.Get(ctx, k)
			require.NoError(t, err, k)
		}
		time.Sleep(2 * time.Second)
		for _, k := range []string{"short", "loaded"} {
			_, err := s.Get(ctx, k)
			require.ErrorIs(t, err, memcache.ErrCacheMiss, k)
		}
		_, err = s.Get(ctx, "long")
		require.NoError(t, err)
	})
}

// TestTTLHonouredOnMemcached: the same on a real server (1 s clock).
func TestTTLHonouredOnMemcached(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		if _, ok := b.(*memcache.Embedded); ok {
			return // TestTTLHonoured, in a bubble
		}
		ctx := t.Context()
		s := newStore[string](t, b)
		require.NoError(t, s.Set(ctx, "short", "v", memcache.TTL(time.Second)))
		require.NoError(t, s.Set(ctx, "long", "v"))
		require.Eventually(t, func() bool {
			_, err := s.Get(ctx, "short")
			return errors.Is(err, memcache.ErrCacheMiss)
		}, 5*time.Second, 50*time.Millisecond)
		_, err := s.Get(ctx, "long")
		require.NoError(t, err)
	})
}

// TestTTLJitterBounded: with WithTTLJitter(f) every lifetime lies in
// [(1-f)·d, d], and they spread; lifetimes that never end are left alone.
func TestTTLJitterBounded(t *testing.T) {
	allBackends(t, func(t *testing.T, b memcache.Backend) {
		ctx := t.Context()
		var exp expirations
		s := newStore[string](t, b, memcache.WithExpiration(1000*time.Second), memcache.WithTTLJitter(0.5),
			memcache.WithNegativeTTL(100*time.Second), memcache.WithMiddleware(exp.middleware))
		for range 200 {
			require.NoError(t, s.Set(ctx, "k", "v"))
			require.NoError(t, s.Set(ctx, "t", "v", memcache.TTL(10*time.Second)))
			require.NoError(t, s.Set(ctx, "never", "v", memcache.TTL(0)))
			if err := s.Delete(ctx, "gone"); !errors.Is(err, memcache.ErrCacheMiss) {
				require.NoError(t, err)
			}
			_, err := s.GetOrLoad(ctx, "gone", func(context.Context) (string, error) { return "", memcache.ErrNotFound })
			require.ErrorIs(t, err, memcache.ErrNotFound)
		}
		spread := func(key string, lo, hi int32) {
			t.Helper()
			got := exp.of(key)
			require.Len(t, got, 200)
			seen := map[int32]bool{}
			for _, e := range got {
				require.GreaterOrEqual(t, e, lo, key)
				require.LessOrEqual(t, e, hi, key)
				seen[e] = true
			}
			assert.Greater(t, int32(len(seen)), (hi-lo)/4, "%s: lifetimes spread", key)
		}
		spread("k", 500, 1000)
		spread("t", 5, 10)
		spread("gone", 50, 100)
		for _, e := range exp.of("never") {
			require.Zero(t, e, "never stays never")
		}
	})
}

func TestTTLJitterFullFractionNeverMeansNever(t *testing.T) {
	var exp expirations
	s := newStore[string](t, nil, memcache.WithTTLJitter(1), memcache.WithMiddleware(exp.middleware))
	for range 500 {
		require.NoError(t, s.Set(t.Context(), "k", "v", memcache.TTL(2*time.Second)))
	}
	for _, e := range exp.of("k") {
		require.True(t, e == 1 || e == 2, "a jittered lifetime never becomes zero (never): %d", e)
	}
}

func TestTTLJitterValidated(t *testing.T) {
	for _, f := range []float64{-0.1, 1.01, math.NaN(), math.Inf(1)} {
		_, err := memcache.NewStore[string](nil, memcache.WithTTLJitter(f))
		require.ErrorIs(t, err, memcache.ErrInvalidOption, "%v", f)
	}
	for _, f := range []float64{0, 0.25, 1} {
		_, err := memcache.NewStore[string](nil, memcache.WithTTLJitter(f))
		require.NoError(t, err, "%v", f)
	}
}

// TestGetOrLoadCallOptionsStayWithTheirStore: a loader that writes to its
// own store, or another, does not take the outer call's TTL for its own.
func TestGetOrLoadCallOptionsStayWithTheirStore(t *testing.T) {
	ctx := t.Context()
	var exp expirations
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	s := newStore[string](t, b, memcache.WithExpiration(time.Hour), memcache.WithMiddleware(exp.middleware))
	_, err := s.GetOrLoad(ctx, "outer", func(ctx context.Context) (string, error) {
		_, err := s.GetOrLoad(ctx, "inner", func(context.Context) (string, error) { return "i", nil })
		return "o", err
	}, memcache.TTL(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, []int32{60}, exp.of("outer"))
	assert.Equal(t, []int32{3600}, exp.of("inner"))
}
