package memcache_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// opLog is a middleware that records every operation passing through it,
// with what came back.
type opLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *opLog) middleware(next memcache.Handler) memcache.Handler {
	return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
		resp, err := next(ctx, req)
		what := string(req.Op)
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			what += " miss"
		case err != nil:
			what += " error"
		case req.Op == memcache.OpGetLease && resp.Lease.Won:
			what += " won"
		case req.Op == memcache.OpGetLease && resp.Lease.Item == nil:
			what += " placeholder"
		}
		l.mu.Lock()
		l.ops = append(l.ops, what)
		l.mu.Unlock()
		return resp, err
	}
}

func (l *opLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ops := l.ops
	l.ops = nil
	return ops
}

// On a backend with leases, GetOrLoad's reads and lease calls and
// Invalidate pass through the middleware chain like every other backend
// call: a middleware sees each, and Counters attached either way count
// their hits and misses.
func TestMiddlewareSeesTheLeasePath(t *testing.T) {
	leasers(t, func(t *testing.T, b leaseBackend, _ func() leaseBackend) {
		ctx := context.Background()
		var log opLog
		var viaOption, viaChain memcache.Counters
		s := newStore[string](t, b, memcache.WithCounters(&viaOption),
			memcache.WithMiddleware(log.middleware, viaChain.Middleware()))
		v, err := s.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "v", nil })
		require.NoError(t, err)
		assert.Equal(t, "v", v)
		// The first read, the shared load's lease (won on a placeholder),
		// and the winner's write.
		assert.Equal(t, []string{"getlease miss", "getlease won", "set"}, log.take())

		v, err = s.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "", errors.New("no load on a hit") })
		require.NoError(t, err)
		assert.Equal(t, "v", v)
		assert.Equal(t, []string{"getlease"}, log.take(), "a hit is one lease read")

		require.NoError(t, s.Invalidate(ctx, "k"))
		assert.Equal(t, []string{"invalidate"}, log.take())

		_, err = s.GetOrLoad(ctx, "gone", func(context.Context) (string, error) { return "", errors.New("database down") })
		require.Error(t, err)
		assert.Equal(t, []string{"getlease miss", "getlease won", "releaselease"}, log.take(), "a failed load gives its lease up")

		for name, c := range map[string]*memcache.Counters{"WithCounters": &viaOption, "WithMiddleware": &viaChain} {
			assert.Equal(t, int64(1), c.Hits.Load(), name)
			assert.Equal(t, int64(4), c.Misses.Load(), name)
			assert.Equal(t, int64(1), c.Writes.Load(), name)
			assert.Zero(t, c.Errors.Load(), name)
		}
	})
}

// A middleware that answers a lease read itself, without a Lease (a
// middleware written before leases existed, serving items from memory):
// the Store takes its item as a plain hit.
func TestLeaseReadAnsweredByMiddlewareWithItemsOnly(t *testing.T) {
	e := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	ctx := context.Background()
	plain := newStore[string](t, e)
	require.NoError(t, plain.Set(ctx, "k", "v"))
	k, err := plain.Key("k")
	require.NoError(t, err)
	it, err := e.Get(ctx, k)
	require.NoError(t, err)
	s := newStore[string](t, e, memcache.WithMiddleware(func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
			return &memcache.Response{Items: map[string]*memcache.Item{k: it}}, nil
		}
	}))
	v, err := s.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "", errors.New("no load on a hit") })
	require.NoError(t, err)
	assert.Equal(t, "v", v)
}

// Without middleware the lease path calls the backend itself, as Get does:
// a GetOrLoad hit costs no Request and no Response, no more than a Get hit.
func TestLeasePathWithoutMiddlewareAllocatesNoMoreThanGet(t *testing.T) {
	e := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	ctx := context.Background()
	s := newStore[string](t, e)
	require.NoError(t, s.Set(ctx, "k", "v"))
	load := func(context.Context) (string, error) { return "", errors.New("no load on a hit") }
	get := testing.AllocsPerRun(100, func() {
		if _, err := s.Get(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	})
	getOrLoad := testing.AllocsPerRun(100, func() {
		if _, err := s.GetOrLoad(ctx, "k", load); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("Get hit %.0f allocations, GetOrLoad hit %.0f", get, getOrLoad)
	assert.LessOrEqual(t, getOrLoad, get)
}

// GetOrLoadMulti's lease calls pass through the middleware chain too: a
// batch whose load fails gives each lease it won back through it.
func TestMiddlewareSeesGetOrLoadMultiLeases(t *testing.T) {
	leasers(t, func(t *testing.T, b leaseBackend, _ func() leaseBackend) {
		ctx := context.Background()
		var log opLog
		s := newStore[string](t, b, memcache.WithMiddleware(log.middleware))
		_, err := s.GetOrLoadMulti(ctx, []string{"a", "b"}, func(context.Context, []string) (map[string]string, error) {
			return nil, errors.New("database down")
		})
		require.Error(t, err)
		count := map[string]int{}
		for _, op := range log.take() {
			count[op]++
		}
		assert.Equal(t, 2, count["getlease won"], "one lease per missed key: %v", count)
		assert.Equal(t, 2, count["releaselease"], "each given back: %v", count)
	})
}
