package session_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/backendtest"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/session"
)

// The behaviours scs v2.9.0's own test suite asks of a store (issue 21);
// examples/sessions runs that suite itself against this Store.

// TestStoreSubSecondLifetimes: scs's TestLifetime (500 ms) and
// TestIdleTimeout (200 ms) need a session to live exactly as long as its
// expiry says, though memcached counts whole seconds.
func TestStoreSubSecondLifetimes(t *testing.T) {
	inBubble(t, func(t *testing.T, st *session.Store, _ *memcache.Embedded) {
		require.NoError(t, st.Commit(token, []byte("s"), time.Now().Add(500*time.Millisecond)))
		assertFound(t, st, true, "just committed")
		time.Sleep(499 * time.Millisecond)
		assertFound(t, st, true, "1 ms before its expiry")
		time.Sleep(time.Millisecond)
		assertFound(t, st, false, "at its expiry")

		// An idle timeout of 200 ms, renewed by each request.
		require.NoError(t, st.Commit(token, []byte("s"), time.Now().Add(200*time.Millisecond)))
		time.Sleep(100 * time.Millisecond)
		require.NoError(t, st.Commit(token, []byte("s"), time.Now().Add(200*time.Millisecond)))
		time.Sleep(150 * time.Millisecond)
		assertFound(t, st, true, "renewed 150 ms ago")
		time.Sleep(50 * time.Millisecond)
		assertFound(t, st, false, "idle for 200 ms")
	})
}

// TestStoreMemcachedOutlivesExpiry: memcached's clock ticks once a second,
// so an item given n seconds lives between n-1 and n; the Store asks for
// enough that memcached never drops a session before its expiry, and
// checks the expiry itself.
func TestStoreMemcachedOutlivesExpiry(t *testing.T) {
	now := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{time.Nanosecond, 200 * time.Millisecond, time.Second, 1500 * time.Millisecond, time.Hour} {
		r := &recorder{}
		st, err := session.NewStore(r, session.WithClock(func() time.Time { return now }))
		require.NoError(t, err)
		require.NoError(t, st.Commit(token, []byte("s"), now.Add(d)))
		require.Len(t, r.sets, 1)
		assert.GreaterOrEqual(t, time.Duration(r.sets[0]-1)*time.Second, d, "memcached may drop a session of %v before its expiry", d)
		assert.Less(t, time.Duration(r.sets[0]-2)*time.Second, d, "more than a tick of slack for %v", d)
	}
}

func TestStoreCommitEmptyTokenIsNoOp(t *testing.T) {
	r := &recorder{}
	st, err := session.NewStore(r)
	require.NoError(t, err)
	// Find("") and Delete("") are no-ops; so is Commit(""), as scs expects.
	require.NoError(t, st.Commit("", []byte("s"), time.Now().Add(time.Hour)))
	require.NoError(t, st.CommitCtx(context.Background(), "", []byte("s"), time.Now().Add(time.Hour)))
	assert.Empty(t, r.sets)
	assert.Zero(t, r.deletes)
}

func TestStoreAllOnEmbedded(t *testing.T) {
	inBubble(t, func(t *testing.T, st *session.Store, emb *memcache.Embedded) {
		all, err := st.All()
		require.NoError(t, err)
		require.NotNil(t, all, "scs wants an empty map, not nil")
		assert.Empty(t, all)

		for i := range 3 {
			require.NoError(t, st.Commit(fmt.Sprint("token-", i), []byte(fmt.Sprint("data-", i)), time.Now().Add(time.Duration(i+1)*time.Hour)))
		}
		require.NoError(t, st.Commit("short", []byte("gone soon"), time.Now().Add(300*time.Millisecond)))
		// Sessions of another store on the same backend are not this one's.
		other, err := session.NewStore(emb, session.WithPrefix("other"))
		require.NoError(t, err)
		require.NoError(t, other.Commit("token-other", []byte("x"), time.Now().Add(time.Hour)))
		require.NoError(t, emb.Set(context.Background(), &memcache.Item{Key: "scs:session:not-a-session", Value: []byte("x")}))

		time.Sleep(300 * time.Millisecond)
		all, err = st.AllCtx(context.Background())
		require.NoError(t, err)
		assert.Equal(t, map[string][]byte{
			"token-0": []byte("data-0"),
			"token-1": []byte("data-1"),
			"token-2": []byte("data-2"),
		}, all)

		require.NoError(t, st.Delete("token-1"))
		time.Sleep(time.Hour)
		all, err = st.All()
		require.NoError(t, err)
		assert.Equal(t, map[string][]byte{"token-2": []byte("data-2")}, all)

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = st.AllCtx(ctx)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestStoreAllElsewhere: memcached cannot list its keys, and the Store keeps
// only digests of the tokens there, so All is a documented error, never a
// panic (scs's Iterate panics only for a store without All).
func TestStoreAllElsewhere(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		if _, ok := b.(*memcache.Embedded); ok {
			return
		}
		st, err := session.NewStore(b)
		require.NoError(t, err)
		require.NoError(t, st.Commit(token, []byte("s"), time.Now().Add(time.Hour)))
		all, err := st.All()
		assert.ErrorIs(t, err, session.ErrNotIterable)
		var se *session.StoreError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, "all", se.Op)
		assert.Nil(t, all)
		assert.NotContains(t, err.Error(), token)
	})
}

func assertFound(t *testing.T, st *session.Store, want bool, when string) {
	t.Helper()
	_, found, err := st.Find(token)
	require.NoError(t, err)
	assert.Equal(t, want, found, when)
}

// FuzzStoreRecordDecode puts arbitrary bytes and flags under a session's
// key, as anyone who can write to memcached can: Find and All must fail
// cleanly (no session), never panic, and return only bytes of the item.
func FuzzStoreRecordDecode(f *testing.F) {
	emb := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	st, err := session.NewStore(emb)
	require.NoError(f, err)
	require.NoError(f, st.Commit(token, []byte("data"), time.Now().Add(time.Hour)))
	key, err := st.Key(token)
	require.NoError(f, err)
	it, err := emb.Get(context.Background(), key)
	require.NoError(f, err)
	f.Add(it.Value, it.Flags)
	f.Add([]byte("plain"), uint32(0))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, it.Flags)
	f.Fuzz(func(t *testing.T, value []byte, flags uint32) {
		require.NoError(t, emb.Set(context.Background(), &memcache.Item{Key: key, Value: value, Flags: flags}))
		got, found, err := st.Find(token)
		require.NoError(t, err)
		if found {
			assert.True(t, bytes.HasSuffix(value, got))
		}
		all, err := st.All()
		require.NoError(t, err)
		if data, ok := all[token]; ok {
			assert.Equal(t, got, data)
		}
	})
}

// TestStoreCheckSizeIsExact: CheckSize refuses exactly what the server
// would, counting the Store's header, on the embedded backend and a real
// memcached (-I 1m), and names the value that grew, never the token.
func TestStoreCheckSizeIsExact(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		st, err := session.NewStore(b)
		require.NoError(t, err)
		fits := func(n int) bool {
			return st.CheckSize(token, make([]byte, n), "sess", codec.JSON, nil) == nil
		}
		// The largest size that fits, by bisection.
		lo, hi := 0, memcache.DefaultItemSizeMax
		for lo+1 < hi {
			if mid := (lo + hi) / 2; fits(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		exp := time.Now().Add(time.Hour)
		require.NoError(t, st.Commit(token, make([]byte, lo), exp), "CheckSize passed %d bytes the server refuses", lo)
		err = st.Commit(token, make([]byte, lo+1), exp)
		require.ErrorIs(t, err, memcache.ErrTooLarge, "CheckSize refused %d bytes the server accepts", lo+1)

		values := map[string]any{"cart": strings.Repeat("item,", 300000), "user": "alice"}
		err = st.CheckSize(token, make([]byte, lo+1), "sess", codec.JSON, values)
		var tl *memcache.TooLargeError
		require.ErrorAs(t, err, &tl)
		assert.Equal(t, "sess", tl.Key)
		assert.Contains(t, err.Error(), `["cart"]`)
		assert.NotContains(t, err.Error(), token)
	})
	small, err := session.NewStore(nil, session.WithItemSizeMax(4096))
	require.NoError(t, err)
	assert.ErrorIs(t, small.CheckSize(token, make([]byte, 4096), "s", codec.JSON, nil), memcache.ErrTooLarge)
}

// TestStoreFarExpiry: an expiry past what memcached (2038) or a Go
// timestamp in nanoseconds (2262) can hold keeps the session alive rather
// than wrapping around into the past.
func TestStoreFarExpiry(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		st, err := session.NewStore(b)
		require.NoError(t, err)
		for _, expiry := range []time.Time{
			time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
		} {
			require.NoError(t, st.Commit(token, []byte("s"), expiry))
			assertFound(t, st, true, expiry.String())
		}
	})
}

// TestEmbeddedKeys checks memcache.Embedded.Keys, which exists for All:
// live keys under the prefix only.
func TestEmbeddedKeys(t *testing.T) {
	inBubble(t, func(t *testing.T, _ *session.Store, emb *memcache.Embedded) {
		ctx := context.Background()
		assert.Equal(t, []string{}, emb.Keys(""))
		for key, exp := range map[string]int32{"p:a": 0, "p:b": 10, "p:gone": 1, "q:c": 0} {
			require.NoError(t, emb.Set(ctx, &memcache.Item{Key: key, Value: []byte("v"), Expiration: exp}))
		}
		time.Sleep(time.Second)
		keys := emb.Keys("p:")
		slices.Sort(keys)
		assert.Equal(t, []string{"p:a", "p:b"}, keys)
		assert.Len(t, emb.Keys(""), 3)
	})
}
