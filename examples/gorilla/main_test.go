package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/examples/internal/webdemo/webdemotest"
	"github.com/leancache/leancache/internal/backendtest"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

var hashKey = []byte("test hash key, 32 bytes long....")

// adminPermissions are what alice's role grants: cached data, which must
// never be found in a stored session.
var adminPermissions = []any{"billing.export", "reports.read", "users.delete"}

// sessionKey returns the memcached key of the session the browser's
// cookie names, read as the server reads it.
func sessionKey(t *testing.T, a *app, br *webdemotest.Browser) string {
	t.Helper()
	var id string
	require.NoError(t, securecookie.DecodeMulti(sessionName, br.Cookie(sessionName), &id, securecookie.CodecsFromPairs(hashKey)...))
	key, err := a.store.Key(id)
	require.NoError(t, err)
	assert.NotContains(t, key, id)
	return key
}

func TestLoginReadLogout(t *testing.T) {
	for _, be := range backendtest.All {
		for _, name := range codec.Names() {
			t.Run(be.Name+"/"+name, func(t *testing.T) {
				c, _ := codec.ByName(name)
				backend := be.New(t)
				logs := &webdemotest.LogBuffer{}
				a, err := newApp(config{Backend: backend, Codec: c, HashKey: hashKey, Log: logs})
				require.NoError(t, err)
				br := webdemotest.Serve(t, a.routes())
				ctx := context.Background()

				status, body := br.Do("POST", "/login", url.Values{"name": {"alice"}})
				require.Equal(t, http.StatusOK, status)
				assert.Equal(t, adminPermissions, body["permissions"])
				cookie := br.Cookie(sessionName)
				require.NotEmpty(t, cookie, "no session cookie after login")
				key := sessionKey(t, a, br)
				webdemotest.CheckStoredWithoutCachedData(t, backend, key)

				for i := 1; i <= 2; i++ {
					status, body = br.Do("GET", "/me", nil)
					require.Equal(t, http.StatusOK, status)
					assert.Equal(t, "alice", body["user"])
					assert.Equal(t, adminPermissions, body["permissions"])
					assert.Equal(t, false, body["permissions_from_session"])
					assert.Equal(t, true, body["permissions_recomputed"])
					// Once at login, then once per read.
					assert.Equal(t, int64(1+i), a.computations.Load())
					if i == 1 {
						assert.Equal(t, []any{"Welcome, alice"}, body["flashes"])
					} else {
						assert.Nil(t, body["flashes"], "a flash shown twice")
					}
					webdemotest.CheckStoredWithoutCachedData(t, backend, key)
				}

				// Logging in again starts a new session and ends the old.
				status, _ = br.Do("POST", "/login", url.Values{"name": {"alice"}})
				require.Equal(t, http.StatusOK, status)
				newKey := sessionKey(t, a, br)
				assert.NotEqual(t, key, newKey)
				_, err = backend.Get(ctx, key)
				assert.ErrorIs(t, err, memcache.ErrCacheMiss, "the session before login lives on")

				webdemotest.CheckLogout(t, br, backend, newKey, logs, cookie)
				assert.Empty(t, br.Cookie(sessionName), "logout leaves the cookie")
			})
		}
	}
}

// TestTamperedAndStaleCookies: a cookie someone changed, or one whose
// session memcached no longer holds, logs the client out, with a log line
// that says why and holds no cookie.
func TestTamperedAndStaleCookies(t *testing.T) {
	for _, be := range backendtest.All {
		t.Run(be.Name, func(t *testing.T) {
			backend := be.New(t)
			logs := &webdemotest.LogBuffer{}
			a, err := newApp(config{Backend: backend, Codec: codec.JSON, HashKey: hashKey, Log: logs})
			require.NoError(t, err)
			br := webdemotest.Serve(t, a.routes())
			status, _ := br.Do("POST", "/login", url.Values{"name": {"bob"}})
			require.Equal(t, http.StatusOK, status)
			cookie := br.Cookie(sessionName)

			forged := []byte(cookie)
			forged[len(forged)/2] ^= 1
			br.SetCookie(sessionName, string(forged))
			status, _ = br.Do("GET", "/me", nil)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Contains(t, logs.String(), "gorilla: invalid session cookie")

			br.SetCookie(sessionName, cookie)
			status, body := br.Do("GET", "/me", nil)
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, "bob", body["user"])

			// memcached lost the session (evicted, restarted).
			require.NoError(t, backend.Delete(context.Background(), sessionKey(t, a, br)))
			status, _ = br.Do("GET", "/me", nil)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Contains(t, logs.String(), "gorilla: unknown session")
			assert.NotContains(t, logs.String(), cookie)
			assert.NotContains(t, logs.String(), string(forged))
		})
	}
}

// TestRun starts the program as main does, on the embedded default and on
// memcached, and logs in through it.
func TestRun(t *testing.T) {
	mc := memcachetest.NewServer(t)
	for _, args := range [][]string{
		{"-addr", "127.0.0.1:0"},
		{"-addr", "127.0.0.1:0", "-memcached", mc.Addr, "-codec", "msgpack"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) { webdemotest.CheckRun(t, run, args...) })
	}
}
