package main

import (
	"encoding/gob"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/examples/internal/webdemo/webdemotest"
	"github.com/leancache/leancache/internal/backendtest"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/session"
)

// adminPermissions are what alice's role grants: cached data, which must
// never be found in a stored session.
var adminPermissions = []string{"billing.export", "reports.read", "users.delete"}

func TestLoginReadLogout(t *testing.T) {
	for _, be := range backendtest.All {
		for _, name := range codec.Names() {
			t.Run(be.Name+"/"+name, func(t *testing.T) {
				c, _ := codec.ByName(name)
				backend := be.New(t)
				logs := &webdemotest.LogBuffer{}
				a, err := newApp(config{Backend: backend, Codec: c, Log: logs})
				require.NoError(t, err)
				br := webdemotest.Serve(t, a.routes())

				status, body := br.Do("POST", "/login", url.Values{"name": {"alice"}})
				require.Equal(t, http.StatusOK, status)
				assert.Equal(t, toAny(adminPermissions), body["permissions"])
				tok := br.Cookie("session")
				require.NotEmpty(t, tok, "no session cookie after login")

				// What memcached holds: the user, without the permissions
				// and greeting computed before the session was saved.
				key, err := a.store.Key(tok)
				require.NoError(t, err)
				webdemotest.CheckStoredWithoutCachedData(t, backend, key, "Welcome back")
				assert.NotContains(t, key, tok)

				for i := 1; i <= 2; i++ {
					status, body = br.Do("GET", "/me", nil)
					require.Equal(t, http.StatusOK, status)
					assert.Equal(t, "alice", body["user"])
					assert.Equal(t, toAny(adminPermissions), body["permissions"])
					assert.Equal(t, false, body["permissions_from_session"])
					assert.Equal(t, true, body["permissions_recomputed"])
					assert.Equal(t, "Welcome back, alice (3 permissions)", body["greeting"])
					assert.Equal(t, false, body["greeting_from_session"])
					// Once at login, then once per read.
					assert.Equal(t, int64(1+i), a.computations.Load())
					// With an idle timeout, scs saves the session again on
					// every request, now with the permissions computed.
					webdemotest.CheckStoredWithoutCachedData(t, backend, key, "Welcome back")
				}

				webdemotest.CheckLogout(t, br, backend, key, logs, tok)
			})
		}
	}
}

func TestMemcachedDownLogsNoToken(t *testing.T) {
	srv := memcachetest.NewServer(t)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, Timeout: time.Second})
	require.NoError(t, err)
	defer client.Close()
	logs := &webdemotest.LogBuffer{}
	a, err := newApp(config{Backend: client, Codec: codec.Gob, Log: logs})
	require.NoError(t, err)
	br := webdemotest.Serve(t, a.routes())

	status, _ := br.Do("POST", "/login", url.Values{"name": {"bob"}})
	require.Equal(t, http.StatusOK, status)
	tok := br.Cookie("session")
	require.NotEmpty(t, tok)

	require.NoError(t, srv.Kill())
	status, _ = br.Do("GET", "/me", nil)
	assert.Equal(t, http.StatusInternalServerError, status)
	l := logs.String()
	// The failure is logged, with the operation that failed...
	assert.Contains(t, l, "session: find: memcache: get")
	// ...and without the token, which the backend's own error would have
	// quoted as part of the key.
	assert.NotContains(t, l, tok)

	// A restarted memcached is empty: the user is logged out, not failed.
	require.NoError(t, srv.Restart())
	require.Eventually(t, func() bool {
		status, _ = br.Do("GET", "/me", nil)
		return status == http.StatusUnauthorized
	}, 5*time.Second, 50*time.Millisecond)
}

// TestScsGobCodecFailsOnTheUser shows why the example needs session.Codec:
// scs's default codec, plain gob, cannot encode a user holding a Lazy.
func TestScsGobCodecFailsOnTheUser(t *testing.T) {
	u := &User{Name: "alice", Roles: []string{"admin"}}
	u.greeting(func() {})
	gob.Register(&User{})
	_, err := scs.GobCodec{}.Encode(time.Now(), map[string]any{"user": u})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no exported fields")

	// Without the Lazy, plain gob would write the tagged greeting.
	type plainUser struct {
		Name     string
		Greeting string `cacheprop:"cached"`
	}
	gob.Register(&plainUser{})
	b, err := scs.GobCodec{}.Encode(time.Now(), map[string]any{"user": &plainUser{"alice", u.Greeting}})
	require.NoError(t, err)
	assert.Contains(t, string(b), "Welcome back")

	for _, name := range codec.Names() {
		c, _ := codec.ByName(name)
		sc, err := session.NewCodec(c, session.TypeOf[*User]("user"))
		require.NoError(t, err)
		b, err := sc.Encode(time.Now(), map[string]any{"user": u})
		require.NoError(t, err, name)
		for _, p := range adminPermissions {
			assert.NotContains(t, string(b), p, name)
		}
		assert.NotContains(t, string(b), "Welcome back", name)
		assert.Contains(t, string(b), "alice", name)
	}
}

// TestRun starts the program as main does, on the embedded default and on
// memcached, and logs in through it.
func TestRun(t *testing.T) {
	mc := memcachetest.NewServer(t)
	for _, args := range [][]string{
		{"-addr", "127.0.0.1:0"},
		{"-addr", "127.0.0.1:0", "-memcached", mc.Addr, "-codec", "gob"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) { webdemotest.CheckRun(t, run, args...) })
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
