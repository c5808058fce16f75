package session_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/backendtest"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/session"
)

// token looks like what scs generates: 32 random bytes, base64url.
const token = "hV3pQ0xW9m2Jt7yKc4LrB8aZs1dFg6Ne5UoTiYqPwXk"

// inBubble runs f in a synctest bubble with a Store over an Embedded
// backend, both on the bubble's clock: time.Sleep moves them together, and
// at once.
func inBubble(t *testing.T, f func(t *testing.T, st *session.Store, emb *memcache.Embedded)) {
	synctest.Test(t, func(t *testing.T) {
		emb := memcache.NewEmbedded(memcache.EmbeddedConfig{})
		st, err := session.NewStore(emb)
		require.NoError(t, err)
		f(t, st, emb)
	})
}

func TestStoreCommitFindDelete(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		st, err := session.NewStore(b)
		require.NoError(t, err)
		ctx := context.Background()

		got, found, err := st.FindCtx(ctx, token)
		require.NoError(t, err)
		assert.False(t, found)
		assert.Nil(t, got)

		require.NoError(t, st.CommitCtx(ctx, token, []byte("one"), time.Now().Add(time.Hour)))
		got, found, err = st.Find(token)
		require.NoError(t, err)
		assert.True(t, found)
		assert.Equal(t, []byte("one"), got)

		require.NoError(t, st.Commit(token, []byte("two"), time.Now().Add(time.Hour)))
		got, _, err = st.Find(token)
		require.NoError(t, err)
		assert.Equal(t, []byte("two"), got)

		// The bytes are stored as they are, after the expiry header,
		// under the documented key; the token is kept only in an
		// embedded backend, for All.
		key, err := st.Key(token)
		require.NoError(t, err)
		it, err := b.Get(ctx, key)
		require.NoError(t, err)
		assert.True(t, bytes.HasSuffix(it.Value, []byte("two")), "%q", it.Value)
		assert.NotZero(t, it.Flags)
		if _, embedded := b.(*memcache.Embedded); !embedded {
			assert.NotContains(t, string(it.Value), token)
		}

		require.NoError(t, st.DeleteCtx(ctx, token))
		_, found, err = st.Find(token)
		require.NoError(t, err)
		assert.False(t, found)
		// Deleting what is not there is no error, as scs requires.
		require.NoError(t, st.Delete(token))
		require.NoError(t, st.Delete(""))
		_, found, err = st.Find("")
		require.NoError(t, err)
		assert.False(t, found)
	})
}

func TestStoreAbsoluteExpirationOnRealMemcached(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		st, err := session.NewStore(b)
		require.NoError(t, err)
		// Sent as seconds, 31 days would read as a time in 1970 and
		// expire at once; sent as a unix time it lives.
		require.NoError(t, st.Commit(token, []byte("long"), time.Now().Add(31*24*time.Hour)))
		_, found, err := st.Find(token)
		require.NoError(t, err)
		assert.True(t, found)
	})
}

func TestStoreExpiryOnRealMemcached(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	st, err := session.NewStore(c)
	require.NoError(t, err)
	require.NoError(t, st.Commit(token, []byte("short"), time.Now().Add(1500*time.Millisecond)))
	_, found, err := st.Find(token)
	require.NoError(t, err)
	require.True(t, found)
	// Gone at its expiry, checked by the Store itself, though memcached
	// keeps the item for up to two seconds more; the margin is for a
	// loaded machine.
	assert.Eventually(t, func() bool {
		_, found, err := st.Find(token)
		return err == nil && !found
	}, 3*time.Second, 50*time.Millisecond, "the session outlived its expiry")
}

func TestStoreExpiry(t *testing.T) {
	inBubble(t, func(t *testing.T, st *session.Store, _ *memcache.Embedded) {
		require.NoError(t, st.Commit(token, []byte("s"), time.Now().Add(10*time.Second+900*time.Millisecond)))
		time.Sleep(10*time.Second + 899*time.Millisecond)
		_, found, err := st.Find(token)
		require.NoError(t, err)
		assert.True(t, found)
		// Exactly: gone at its expiry, 10.9s.
		time.Sleep(time.Millisecond)
		_, found, err = st.Find(token)
		require.NoError(t, err)
		assert.False(t, found)

		// An expiry in the past, or now, deletes.
		for _, d := range []time.Duration{-time.Hour, 0} {
			require.NoError(t, st.Commit(token, []byte("s"), time.Now().Add(time.Hour)))
			require.NoError(t, st.Commit(token, []byte("s"), time.Now().Add(d)))
			_, found, err = st.Find(token)
			require.NoError(t, err)
			assert.False(t, found, "expiry %v from now", d)
		}

		// Beyond 30 days, an absolute time, still measured by the same clock.
		require.NoError(t, st.Commit(token, []byte("s"), time.Now().Add(40*24*time.Hour)))
		time.Sleep(40*24*time.Hour - time.Second)
		_, found, err = st.Find(token)
		require.NoError(t, err)
		assert.True(t, found)
		time.Sleep(time.Second)
		_, found, err = st.Find(token)
		require.NoError(t, err)
		assert.False(t, found)
	})
}

// recorder is a Backend that records the expirations it is sent.
type recorder struct {
	memcache.Backend
	sets    []int32
	deletes int
}

func (r *recorder) Set(ctx context.Context, it *memcache.Item) error {
	r.sets = append(r.sets, it.Expiration)
	return nil
}

func (r *recorder) Delete(ctx context.Context, key string) error {
	r.deletes++
	return memcache.ErrCacheMiss
}

func TestStoreExpirationRules(t *testing.T) {
	now := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	cases := []struct {
		in   time.Duration
		want int32 // 0: deleted
	}{
		// Rounded up to whole seconds, plus one for memcached's tick.
		{-time.Second, 0},
		{0, 0},
		{time.Nanosecond, 2},
		{999 * time.Millisecond, 2},
		{time.Second, 2},
		{1999 * time.Millisecond, 3},
		{time.Hour + 500*time.Millisecond, 3602},
		{30*24*time.Hour - time.Second, 2592000},
		// Beyond 30 days, an absolute unix time, rounded up the same way.
		{30 * 24 * time.Hour, int32(now.Add(30*24*time.Hour).Unix()) + 1},
		{30*24*time.Hour + 1, int32(now.Add(30*24*time.Hour).Unix()) + 2},
		{200 * 365 * 24 * time.Hour, math.MaxInt32},
	}
	for _, tc := range cases {
		t.Run(tc.in.String(), func(t *testing.T) {
			r := &recorder{}
			st, err := session.NewStore(r, session.WithClock(func() time.Time { return now }))
			require.NoError(t, err)
			require.NoError(t, st.Commit(token, []byte("s"), now.Add(tc.in)))
			if tc.want == 0 {
				assert.Empty(t, r.sets)
				assert.Equal(t, 1, r.deletes)
				return
			}
			assert.Equal(t, []int32{tc.want}, r.sets)
		})
	}
}

func TestStoreKeysForAnyToken(t *testing.T) {
	inBubble(t, func(t *testing.T, st *session.Store, emb *memcache.Embedded) {
		tokens := []string{
			token,
			"with space",
			"crlf\r\nset injected 0 0 1\r\nx",
			"hash#inside",
			strings.Repeat("long", 100),
			"\xff\xfe invalid utf-8",
			"ünïcödé",
		}
		keys := map[string]bool{}
		for i, tok := range tokens {
			key, err := st.Key(tok)
			require.NoError(t, err)
			assert.True(t, memcache.ValidKey(key), "%q", key)
			assert.True(t, strings.HasPrefix(key, "scs:session:"), key)
			assert.Len(t, key, len("scs:session:")+43, key)
			if len(tok) > 3 {
				assert.NotContains(t, key, tok)
			}
			keys[key] = true
			require.NoError(t, st.Commit(tok, []byte(fmt.Sprint(i)), time.Now().Add(time.Hour)))
		}
		assert.Len(t, keys, len(tokens), "two tokens share a key")
		for i, tok := range tokens {
			got, found, err := st.Find(tok)
			require.NoError(t, err)
			require.True(t, found, "%q", tok)
			assert.Equal(t, fmt.Sprint(i), string(got))
		}
		// The digest is SHA-256, so it can be checked from outside.
		k, err := st.Key("abc")
		require.NoError(t, err)
		assert.Equal(t, "scs:session:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", k)
		_, err = emb.Get(context.Background(), "injected")
		assert.ErrorIs(t, err, memcache.ErrCacheMiss)

		_, err = st.Key("")
		assert.ErrorIs(t, err, memcache.ErrMalformedKey)
		// Commit of an empty token is a no-op (see TestStoreCommitEmptyTokenIsNoOp).
	})
}

func TestStorePrefix(t *testing.T) {
	st, err := session.NewStore(nil, session.WithPrefix("app:v2"))
	require.NoError(t, err)
	k, err := st.Key(token)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(k, "app:v2:"), k)

	for _, bad := range []string{"", "with space", strings.Repeat("p", 250)} {
		_, err := session.NewStore(nil, session.WithPrefix(bad))
		assert.ErrorIs(t, err, memcache.ErrMalformedKey, "%q", bad)
	}
}

// leaky is a Backend whose failures carry the key in every way an error
// can: in an *OpError's Key, and in the text of its cause.
type leaky struct{ memcache.Backend }

func (leaky) fail(op, key string) error {
	return &memcache.OpError{Op: op, Key: key, Kind: memcache.ErrTooLarge,
		Err: fmt.Errorf("server said no to %s: %w", key, context.DeadlineExceeded)}
}
func (l leaky) Get(_ context.Context, key string) (*memcache.Item, error) {
	return nil, l.fail("get", key)
}
func (l leaky) Set(_ context.Context, it *memcache.Item) error { return l.fail("set", it.Key) }
func (l leaky) Delete(_ context.Context, key string) error     { return l.fail("delete", key) }

func TestStoreErrorsNeverCarryTheToken(t *testing.T) {
	st, err := session.NewStore(leaky{})
	require.NoError(t, err)
	calls := map[string]func() error{
		"find":   func() error { _, _, err := st.Find(token); return err },
		"commit": func() error { return st.Commit(token, []byte("s"), time.Now().Add(time.Hour)) },
		"delete": func() error { return st.Delete(token) },
		"commit-expired": func() error {
			return st.Commit(token, []byte("s"), time.Now().Add(-time.Hour))
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			require.Error(t, err)
			assertNoToken(t, err, token)
			var se *session.StoreError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, strings.TrimSuffix(name, "-expired"), se.Op)
			// What the backend said still counts.
			assert.ErrorIs(t, err, memcache.ErrTooLarge)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			var oe *memcache.OpError
			require.ErrorAs(t, err, &oe)
			assert.Empty(t, oe.Key)
		})
	}
}

// assertNoToken fails if tok appears anywhere in err's chain.
func assertNoToken(t *testing.T, err error, tok string) {
	t.Helper()
	for _, e := range chain(err) {
		assert.NotContains(t, e.Error(), tok)
		assert.NotContains(t, fmt.Sprintf("%+v", e), tok)
		if oe, ok := e.(*memcache.OpError); ok {
			assert.NotContains(t, oe.Key, tok)
		}
	}
}

// chain returns err and everything it wraps.
func chain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, chain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, chain(e)...)
		}
	}
	return out
}

func TestStoreErrorsFromRealBackends(t *testing.T) {
	t.Run("too large on the embedded backend", func(t *testing.T) {
		st, err := session.NewStore(nil)
		require.NoError(t, err)
		err = st.Commit(token, make([]byte, 2<<20), time.Now().Add(time.Hour))
		require.ErrorIs(t, err, memcache.ErrTooLarge)
		assertNoToken(t, err, token)
	})
	t.Run("too large on memcached", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		// A generous timeout: memcached reads and drops the whole value
		// before it answers, which a loaded machine can make slow.
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, Timeout: 10 * time.Second})
		require.NoError(t, err)
		st, err := session.NewStore(c)
		require.NoError(t, err)
		require.NoError(t, st.Commit(token, []byte("old"), time.Now().Add(time.Hour)))
		err = st.Commit(token, make([]byte, 1<<20+1), time.Now().Add(time.Hour))
		require.ErrorIs(t, err, memcache.ErrTooLarge)
		assertNoToken(t, err, token)
		_, found, err := st.Find(token)
		require.NoError(t, err)
		assert.False(t, found, "memcached drops the old session on a too-large set")
	})
	t.Run("memcached killed", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
		require.NoError(t, err)
		st, err := session.NewStore(c)
		require.NoError(t, err)
		require.NoError(t, srv.Kill())
		_, _, err = st.Find(token)
		require.Error(t, err)
		assertNoToken(t, err, token)
		assert.True(t, strings.HasPrefix(err.Error(), "session: find: memcache: get"), err.Error())
		err = st.Commit(token, []byte("s"), time.Now().Add(time.Hour))
		require.Error(t, err)
		assertNoToken(t, err, token)
	})
	t.Run("context canceled", func(t *testing.T) {
		st, err := session.NewStore(nil)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err = st.FindCtx(ctx, token)
		require.ErrorIs(t, err, context.Canceled)
		assertNoToken(t, err, token)
	})
}

func TestStoreConcurrentUse(t *testing.T) {
	st, err := session.NewStore(nil)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := fmt.Sprintf("token-%d", i)
			for j := 0; j < 100; j++ {
				assert.NoError(t, st.Commit(tok, []byte(tok), time.Now().Add(time.Hour)))
				b, found, err := st.Find(tok)
				assert.NoError(t, err)
				assert.True(t, found)
				assert.Equal(t, tok, string(b))
				assert.NoError(t, st.Delete(tok))
			}
		}()
	}
	wg.Wait()
}

// TestStoreKeyListingHoldsNoToken lists the keys of a real memcached the
// way anyone who can connect to it can, and finds the session but not its
// token.
func TestStoreKeyListingHoldsNoToken(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	st, err := session.NewStore(c)
	require.NoError(t, err)
	require.NoError(t, st.Commit(token, []byte("s"), time.Now().Add(time.Hour)))
	key, err := st.Key(token)
	require.NoError(t, err)

	conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = fmt.Fprint(conn, "lru_crawler metadump all\r\n")
	require.NoError(t, err)
	var dump strings.Builder
	sc := bufio.NewScanner(conn)
	for sc.Scan() && sc.Text() != "END" {
		dump.WriteString(sc.Text() + "\n")
	}
	require.NoError(t, sc.Err())
	assert.Contains(t, dump.String(), "key="+url.QueryEscape(key))
	assert.NotContains(t, dump.String(), token)
}
