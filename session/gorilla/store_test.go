package gorilla_test

import (
	"context"
	"encoding/gob"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/backendtest"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/session"
	"github.com/leancache/leancache/session/gorilla"
)

// The behaviours gorilla/sessions v1.4.0's own store tests check
// (store_test.go, sessions_test.go: GH-8, GH-2, delete with MaxAge -1 and
// 0, flashes, a session saved without New), and what a server-side store
// adds: values in memcached, cached properties stripped, MaxAge as the
// session's lifetime, tampered and unknown cookies. Each runs against the
// embedded backend and a real memcached.

var hashKey = []byte("0123456789abcdef0123456789abcdef")

// secret marks cached data: found in memcached, a cached property leaked.
const secret = "cached-permission-billing.export"

// user is a domain object with a cached property.
type user struct {
	Name        string
	Permissions cacheprop.Lazy[[]string]
}

// flashMessage is gorilla's custom flash type of TestFlashes.
type flashMessage struct {
	Type    int
	Message string
}

func init() {
	gob.Register(flashMessage{})
}

// env is a Store over one backend, with the session.Store under it.
type env struct {
	store   *gorilla.Store
	backend memcache.Backend
	st      *session.Store
}

func newEnv(t *testing.T, b memcache.Backend, c codec.Codec) env {
	t.Helper()
	st, err := session.NewStore(b, session.WithPrefix("gorilla-test"))
	require.NoError(t, err)
	sc, err := session.NewCodec(c, session.TypeOf[*user]("user"), session.TypeOf[flashMessage]("flash-message"))
	require.NoError(t, err)
	s, err := gorilla.NewStore(st, sc, hashKey)
	require.NoError(t, err)
	return env{store: s, backend: b, st: st}
}

func request(cookies ...string) *http.Request {
	r := httptest.NewRequest("GET", "http://www.example.com/", nil)
	for _, c := range cookies {
		r.Header.Add("Cookie", c)
	}
	return r
}

// save saves sess and returns its Set-Cookie header.
func save(t *testing.T, s *gorilla.Store, r *http.Request, sess *sessions.Session) string {
	t.Helper()
	w := httptest.NewRecorder()
	require.NoError(t, s.Save(r, w, sess))
	cookies := w.Header().Values("Set-Cookie")
	require.Len(t, cookies, 1)
	return cookies[0]
}

// stored saves a new session called name with the given values and
// MaxAge (0: the store's), and returns it and its Set-Cookie header.
func stored(t *testing.T, e env, name string, maxAge int, values map[any]any) (*sessions.Session, string) {
	t.Helper()
	sess, err := e.store.New(request(), name)
	require.NoError(t, err)
	if maxAge != 0 {
		sess.Options.MaxAge = maxAge
	}
	for k, v := range values {
		sess.Values[k] = v
	}
	return sess, save(t, e.store, request(), sess)
}

// cookiePair is the name=value part of a Set-Cookie header.
func cookiePair(setCookie string) string {
	pair, _, _ := strings.Cut(setCookie, ";")
	return pair
}

func TestSaveLoadWithEveryCodec(t *testing.T) {
	for _, name := range codec.Names() {
		c, _ := codec.ByName(name)
		t.Run(name, func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
				e := newEnv(t, b, c)
				sess, err := e.store.Get(request(), "session")
				require.NoError(t, err)
				assert.True(t, sess.IsNew)
				u := &user{Name: "alice"}
				u.Permissions.Set([]string{secret})
				sess.Values["user"] = u
				sess.Values["n"] = 42
				sess.Values["name"] = "alice"
				setCookie := save(t, e.store, request(), sess)
				assert.Contains(t, setCookie, "Max-Age=2592000")
				assert.Contains(t, setCookie, "HttpOnly")
				require.NotEmpty(t, sess.ID)
				assert.NotContains(t, setCookie, sess.ID, "the cookie holds the signed ID, not the ID")

				// In memcached: the values, without the cached property,
				// under a key that does not hold the ID.
				key, err := e.st.Key(sess.ID)
				require.NoError(t, err)
				assert.NotContains(t, key, sess.ID)
				it, err := b.Get(context.Background(), key)
				require.NoError(t, err)
				assert.Contains(t, string(it.Value), "alice")
				assert.NotContains(t, string(it.Value), secret)

				got, err := e.store.Get(request(cookiePair(setCookie)), "session")
				require.NoError(t, err)
				assert.False(t, got.IsNew)
				assert.Equal(t, sess.ID, got.ID)
				gu := got.Values["user"].(*user)
				assert.Equal(t, "alice", gu.Name)
				_, cached := gu.Permissions.Peek()
				assert.False(t, cached, "the cached property came back")
				assert.Equal(t, 42, got.Values["n"])
				assert.Equal(t, "alice", got.Values["name"])
			})
		})
	}
}

// TestOptionsAreCopied is gorilla's GH-8: a session keeps the options it
// was created with.
func TestOptionsAreCopied(t *testing.T) {
	e := newEnv(t, nil, codec.Gob)
	e.store.Options.Path = "/"
	sess, err := e.store.New(request(), "hello")
	require.NoError(t, err)
	e.store.Options.Path = "/foo"
	assert.Equal(t, "/", sess.Options.Path)
}

// TestSaveWithoutNew is gorilla's TestCookieStoreMapPanic: a session made
// with sessions.NewSession saves without a panic.
func TestSaveWithoutNew(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		e := newEnv(t, b, codec.Gob)
		sess := sessions.NewSession(e.store, "hello")
		sess.Values["data"] = "hello-world"
		sess.Options = e.store.Options
		save(t, e.store, request(), sess)
		sess.Options = nil // the store's defaults
		save(t, e.store, request(), sess)
	})
}

func TestMaxAgeOnEmbedded(t *testing.T) {
	// In a bubble, time moves only when every goroutine waits: the
	// embedded backend, the session.Store and the cookie's signed
	// timestamp all read the bubble's clock.
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, memcache.NewEmbedded(memcache.EmbeddedConfig{}), codec.JSON)
		_, setCookie := stored(t, e, "s", 90, map[any]any{"k": "v"})
		assert.Contains(t, setCookie, "Max-Age=90")

		time.Sleep(89 * time.Second)
		got, err := e.store.New(request(cookiePair(setCookie)), "s")
		require.NoError(t, err)
		assert.Equal(t, "v", got.Values["k"])

		time.Sleep(time.Second)
		got, err = e.store.New(request(cookiePair(setCookie)), "s")
		assert.ErrorIs(t, err, gorilla.ErrUnknownSession)
		assert.True(t, got.IsNew)
		assert.Empty(t, got.ID, "a new session must get a new ID")
		assert.Empty(t, got.Values)

		// The store's MaxAge also bounds the signed cookie itself.
		e.store.MaxAge(10)
		_, setCookie = stored(t, e, "s", 0, nil)
		time.Sleep(11 * time.Second)
		_, err = e.store.New(request(cookiePair(setCookie)), "s")
		assert.ErrorIs(t, err, gorilla.ErrInvalidCookie)
	})
}

func TestMaxAgeOnMemcached(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	e := newEnv(t, c, codec.JSON)
	_, setCookie := stored(t, e, "s", 1, map[any]any{"k": "v"})
	got, err := e.store.New(request(cookiePair(setCookie)), "s")
	require.NoError(t, err)
	assert.Equal(t, "v", got.Values["k"])
	// Gone at its MaxAge; the margin is for a loaded machine.
	assert.Eventually(t, func() bool {
		_, err := e.store.New(request(cookiePair(setCookie)), "s")
		return errors.Is(err, gorilla.ErrUnknownSession)
	}, 4*time.Second, 50*time.Millisecond)
}

// TestDeleteViaMaxAge is gorilla's TestGH8FilesystemStoreDelete (MaxAge
// -1) and Delete2 (MaxAge 0): the session leaves memcached and the cookie
// is expired.
func TestDeleteViaMaxAge(t *testing.T) {
	for _, maxAge := range []int{-1, 0} {
		backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
			e := newEnv(t, b, codec.Gob)
			sess, setCookie := stored(t, e, "hello", 0, map[any]any{"k": "v"})
			_, found, err := e.st.Find(sess.ID)
			require.NoError(t, err)
			require.True(t, found)

			sess.Options.MaxAge = maxAge
			deleted := save(t, e.store, request(), sess)
			assert.Contains(t, deleted, "Max-Age=0", "MaxAge %d", maxAge)
			assert.True(t, strings.HasPrefix(deleted, "hello=;"), deleted)
			_, found, err = e.st.Find(sess.ID)
			require.NoError(t, err)
			assert.False(t, found, "MaxAge %d left the session in memcached", maxAge)

			got, err := e.store.New(request(cookiePair(setCookie)), "hello")
			assert.ErrorIs(t, err, gorilla.ErrUnknownSession)
			assert.True(t, got.IsNew)
		})
	}
}

func TestTamperedOrUnknownCookie(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		e := newEnv(t, b, codec.Gob)
		sess, setCookie := stored(t, e, "s", 0, map[any]any{"role": "viewer"})
		value := strings.TrimPrefix(cookiePair(setCookie), "s=")

		flipped := []byte(value)
		flipped[len(flipped)/2] ^= 1
		other, err := gorilla.NewStore(nil, nil, []byte("another key, another server...."))
		require.NoError(t, err)
		sess2, err := other.New(request(), "s")
		require.NoError(t, err)
		foreign := strings.TrimPrefix(cookiePair(save(t, other, request(), sess2)), "s=")

		for name, v := range map[string]string{
			"one bit flipped":  string(flipped),
			"cut short":        value[:len(value)-3],
			"garbage":          "!!!not-base64!!!",
			"huge":             strings.Repeat("A", 64<<10),
			"another key":      foreign,
			"unsigned session": sess.ID,
		} {
			got, err := e.store.New(request("s="+v), "s")
			require.ErrorIs(t, err, gorilla.ErrInvalidCookie, name)
			var sce securecookie.Error
			assert.ErrorAs(t, err, &sce, name)
			assert.True(t, got.IsNew, name)
			assert.Empty(t, got.ID, name)
			assert.Empty(t, got.Values, name)
		}
		// An empty cookie, as a deleted session leaves, is no session.
		got, err := e.store.New(request("s="), "s")
		require.NoError(t, err)
		assert.True(t, got.IsNew)

		// Signed for one session name, a cookie is no good for another.
		_, err = e.store.New(request("t="+value), "t")
		assert.ErrorIs(t, err, gorilla.ErrInvalidCookie)

		// A cookie of ours whose session memcached no longer holds.
		require.NoError(t, e.st.Delete(sess.ID))
		got, err = e.store.New(request("s="+value), "s")
		assert.ErrorIs(t, err, gorilla.ErrUnknownSession)
		assert.True(t, got.IsNew)

		// Get, through gorilla's registry, reports the same.
		_, err = e.store.Get(request("s="+string(flipped)), "s")
		assert.ErrorIs(t, err, gorilla.ErrInvalidCookie)
	})
}

// TestTooLargeSession is gorilla's GH-2 for a server-side store: not the
// cookie's 4096 bytes but memcached's item size limit, refused before any
// network I/O with the size guard's message naming the value that grew.
func TestTooLargeSession(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		e := newEnv(t, b, codec.JSON)
		sess, setCookie := stored(t, e, "big", 0, map[any]any{"user": "alice"})

		var cart []string
		for range 80000 {
			cart = append(cart, "sku-0123456789")
		}
		sess.Values["cart"] = cart
		w := httptest.NewRecorder()
		err := e.store.Save(request(), w, sess)
		require.ErrorIs(t, err, memcache.ErrTooLarge)
		var tl *memcache.TooLargeError
		require.ErrorAs(t, err, &tl)
		assert.Equal(t, "big", tl.Key)
		assert.Equal(t, "json", tl.Codec)
		assert.Contains(t, err.Error(), `biggest fields: Values["cart"]: `)
		assert.NotContains(t, err.Error(), sess.ID)
		assert.Empty(t, w.Header().Values("Set-Cookie"))

		// The session stored before is as it was.
		got, err := e.store.New(request(cookiePair(setCookie)), "big")
		require.NoError(t, err)
		assert.Equal(t, map[any]any{"user": "alice"}, got.Values)

		// Under the limit it saves, on either backend.
		sess.Values["cart"] = cart[:1000]
		save(t, e.store, request(), sess)
	})
}

func TestKeyNotString(t *testing.T) {
	e := newEnv(t, nil, codec.Gob)
	sess, err := e.store.New(request(), "s")
	require.NoError(t, err)
	sess.Values[42] = "answer"
	err = e.store.Save(request(), httptest.NewRecorder(), sess)
	assert.ErrorIs(t, err, gorilla.ErrKeyNotString)
}

// TestFlashes is gorilla's TestFlashes with this Store.
func TestFlashes(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		e := newEnv(t, b, codec.Gob)

		// Round 1: add flashes.
		req := request()
		sess, err := e.store.Get(req, "session-key")
		require.NoError(t, err)
		assert.Empty(t, sess.Flashes())
		sess.AddFlash("foo")
		sess.AddFlash("bar")
		sess.AddFlash("baz", "custom_key")
		rsp := httptest.NewRecorder()
		require.NoError(t, sessions.Save(req, rsp))
		cookies := rsp.Header().Values("Set-Cookie")
		require.Len(t, cookies, 1)
		_, err = e.store.Get(req, "session:key")
		assert.EqualError(t, err, "sessions: invalid character in cookie name: session:key")

		// Round 2: read them back, once.
		req = request(cookiePair(cookies[0]))
		sess, err = e.store.Get(req, "session-key")
		require.NoError(t, err)
		assert.Equal(t, []any{"foo", "bar"}, sess.Flashes())
		assert.Empty(t, sess.Flashes())
		assert.Equal(t, []any{"baz"}, sess.Flashes("custom_key"))
		assert.Empty(t, sess.Flashes("custom_key"))

		// Rounds 3 and 4: a custom type.
		req = request()
		sess, err = e.store.Get(req, "session-key")
		require.NoError(t, err)
		sess.AddFlash(&flashMessage{42, "foo"})
		rsp = httptest.NewRecorder()
		require.NoError(t, sessions.Save(req, rsp))
		cookies = rsp.Header().Values("Set-Cookie")
		require.Len(t, cookies, 1)
		req = request(cookiePair(cookies[0]))
		sess, err = e.store.Get(req, "session-key")
		require.NoError(t, err)
		flashes := sess.Flashes()
		require.Len(t, flashes, 1)
		assert.Equal(t, flashMessage{42, "foo"}, flashes[0])

		// Round 5: a shallow copy of the request keeps its sessions.
		req = request()
		sess, err = e.store.Get(req, "session-key")
		require.NoError(t, err)
		sess.Values["test"] = "test-value"
		req = req.WithContext(req.Context())
		sess, err = e.store.Get(req, "session-key")
		require.NoError(t, err)
		assert.Equal(t, "test-value", sess.Values["test"])
	})
}

func TestNewStoreNeedsAKey(t *testing.T) {
	_, err := gorilla.NewStore(nil, nil)
	assert.Error(t, err)
	_, err = gorilla.NewStore(nil, nil, nil)
	assert.Error(t, err)
}

// TestHugeMaxAge: a MaxAge beyond what a time.Duration holds keeps the
// session (until memcached's 2038) rather than overflowing into the past.
func TestHugeMaxAge(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b memcache.Backend) {
		e := newEnv(t, b, codec.JSON)
		for _, maxAge := range []int{400 * 365 * 86400, math.MaxInt} {
			_, setCookie := stored(t, e, "s", maxAge, map[any]any{"k": "v"})
			got, err := e.store.New(request(cookiePair(setCookie)), "s")
			require.NoError(t, err, "MaxAge %d", maxAge)
			assert.Equal(t, "v", got.Values["k"])
		}
	})
}

// TestMemcachedDownNamesNoSessionID: when memcached fails, Save and New
// report it, and neither error holds the session ID, which is as good as
// the session to whoever reads the log.
func TestMemcachedDownNamesNoSessionID(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, Timeout: time.Second})
	require.NoError(t, err)
	defer c.Close()
	e := newEnv(t, c, codec.JSON)
	sess, setCookie := stored(t, e, "s", 0, map[any]any{"k": "v"})

	require.NoError(t, srv.Kill())
	_, err = e.store.New(request(cookiePair(setCookie)), "s")
	var se *session.StoreError
	require.ErrorAs(t, err, &se)
	assert.NotErrorIs(t, err, gorilla.ErrUnknownSession)
	assert.NotContains(t, err.Error(), sess.ID)
	err = e.store.Save(request(), httptest.NewRecorder(), sess)
	require.ErrorAs(t, err, &se)
	assert.NotContains(t, err.Error(), sess.ID)
}
