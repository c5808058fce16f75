package backendtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// caseFunc is a case of Run.
type caseFunc = func(t *testing.T, tg Target, key func(string) string)

// leaseCases are the cases of a backend with leases, stale marks and early
// refresh (a memcache.Leaser), as memcached 1.6's meta protocol has them. A
// backend without them skips these cases.
func leaseCases(run func(name string, f caseFunc)) {
	ctx := context.Background()
	leaser := func(t *testing.T, tg Target) memcache.Leaser {
		t.Helper()
		l, ok := tg.Backend.(memcache.Leaser)
		if !ok {
			t.Skipf("%T has no leases (not a memcache.Leaser)", tg.Backend)
		}
		return l
	}
	getLease := func(t *testing.T, l memcache.Leaser, key string) memcache.Lease {
		t.Helper()
		le, err := l.GetLease(ctx, key, memcache.LeaseOptions{})
		require.NoError(t, err, "GetLease(%q)", key)
		require.NotNil(t, le.Item, "GetLease(%q)", key)
		return le
	}

	// md with I on memcached 1.6.18: the value and flags stay, the TTL
	// stays (or becomes the one given), and the item gets a new CAS token,
	// so that a writer holding the old one cannot overwrite what the
	// winner of the stale token reloads. Invalidating again gives a new
	// token again and hands the win anew.
	run("invalidate keeps the value under a new CAS", func(t *testing.T, tg Target, key func(string) string) {
		l := leaser(t, tg)
		b := tg.Backend
		k := key("k")
		require.NoError(t, b.Set(ctx, &memcache.Item{Key: k, Value: []byte("v"), Flags: 7, Expiration: 60}))
		old, err := b.Get(ctx, k)
		require.NoError(t, err)

		require.NoError(t, l.Invalidate(ctx, k, 0))
		first := getLease(t, l, k)
		assert.True(t, first.Stale && first.Won && !first.Pending, "%+v", first)
		assert.NotEqual(t, old.CAS, first.CAS, "an invalidated item has a new CAS token")
		assert.True(t, first.TTL > 50 && first.TTL <= 60, "the TTL is kept: %d", first.TTL)
		// (Read only once the token is out: on memcached a plain mg of a
		// stale item wins the token too, which meta.Client gives back
		// under a new CAS token.)
		it, err := b.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, []byte("v"), it.Value)
		assert.Equal(t, uint32(7), it.Flags)
		assert.Equal(t, first.CAS, it.CAS)
		second := getLease(t, l, k)
		assert.True(t, second.Stale && second.Pending && !second.Won, "%+v", second)
		assert.Equal(t, first.CAS, second.CAS, "reading the token does not change the CAS")

		assert.ErrorIs(t, b.CompareAndSwap(ctx, &memcache.Item{Key: k, Value: []byte("late"), CAS: old.CAS}), memcache.ErrCASConflict,
			"a write under the token read before the invalidation")

		require.NoError(t, l.Invalidate(ctx, k, 30))
		third := getLease(t, l, k)
		assert.True(t, third.Stale && third.Won, "invalidated again, the win is handed anew: %+v", third)
		assert.NotEqual(t, first.CAS, third.CAS, "a new CAS token again")
		assert.True(t, third.TTL > 20 && third.TTL <= 30, "the TTL given: %d", third.TTL)

		require.NoError(t, b.CompareAndSwap(ctx, &memcache.Item{Key: k, Value: []byte("new"), CAS: third.CAS}), "the winner's write")
		after := getLease(t, l, k)
		assert.Equal(t, []byte("new"), after.Item.Value)
		assert.False(t, after.Stale || after.Won || after.Pending, "a write ends the mark: %+v", after)

		assert.ErrorIs(t, l.Invalidate(ctx, key("missing"), 0), memcache.ErrCacheMiss)
	})
}
