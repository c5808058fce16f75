package main

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/session"
)

// adminPermissions are what alice's role grants: cached data, which must
// never be found in a stored session.
var adminPermissions = []string{"billing.export", "reports.read", "users.delete"}

// logBuffer collects the server's log; handlers write from their own
// goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// browser is an HTTP client with a cookie jar, against one server.
type browser struct {
	t    *testing.T
	base *url.URL
	jar  *cookiejar.Jar
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	u, err := url.Parse(base)
	require.NoError(t, err)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, base: u, jar: jar, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// do sends a request and returns the status and the decoded JSON body (nil
// when the body is not JSON).
func (b *browser) do(method, path string, form url.Values) (int, map[string]any) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base.String()+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	var out map[string]any
	if json.Unmarshal(raw, &out) != nil {
		out = nil
	}
	return resp.StatusCode, out
}

// token returns the session token in the jar, or "".
func (b *browser) token() string {
	for _, c := range b.jar.Cookies(b.base) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

// backends are the two the example runs on: the embedded default and a
// real memcached. Each test gets a fresh one.
var backends = []struct {
	name string
	new  func(t *testing.T) (memcache.Backend, *memcachetest.Server)
}{
	{"embedded", func(t *testing.T) (memcache.Backend, *memcachetest.Server) {
		return memcache.NewEmbedded(memcache.EmbeddedConfig{}), nil
	}},
	{"memcached", func(t *testing.T) (memcache.Backend, *memcachetest.Server) {
		srv := memcachetest.NewServer(t)
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c, srv
	}},
}

func TestLoginReadLogout(t *testing.T) {
	for _, be := range backends {
		for _, name := range codec.Names() {
			t.Run(be.name+"/"+name, func(t *testing.T) {
				c, _ := codec.ByName(name)
				backend, _ := be.new(t)
				logs := &logBuffer{}
				a, err := newApp(config{Backend: backend, Codec: c, Log: logs})
				require.NoError(t, err)
				srv := httptest.NewServer(a.routes())
				defer srv.Close()
				br := newBrowser(t, srv.URL)
				ctx := context.Background()

				status, body := br.do("POST", "/login", url.Values{"name": {"alice"}})
				require.Equal(t, http.StatusOK, status)
				assert.Equal(t, toAny(adminPermissions), body["permissions"])
				tok := br.token()
				require.NotEmpty(t, tok, "no session cookie after login")

				// What memcached holds: the user, without the permissions
				// and greeting computed before the session was saved.
				key, err := a.store.Key(tok)
				require.NoError(t, err)
				assertStoredWithoutCachedData(t, backend, key)
				assert.NotContains(t, key, tok)

				for i := 1; i <= 2; i++ {
					status, body = br.do("GET", "/me", nil)
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
					assertStoredWithoutCachedData(t, backend, key)
				}

				status, _ = br.do("POST", "/logout", nil)
				require.Equal(t, http.StatusOK, status)
				_, err = backend.Get(ctx, key)
				assert.ErrorIs(t, err, memcache.ErrCacheMiss, "logout leaves the session in memcached")
				status, _ = br.do("GET", "/me", nil)
				assert.Equal(t, http.StatusUnauthorized, status)

				l := logs.String()
				assert.Contains(t, l, "path=/login status=200")
				assert.Contains(t, l, "path=/logout status=200")
				assert.NotContains(t, l, tok)
			})
		}
	}
}

func TestMemcachedDownLogsNoToken(t *testing.T) {
	srv := memcachetest.NewServer(t)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, Timeout: time.Second})
	require.NoError(t, err)
	defer client.Close()
	logs := &logBuffer{}
	a, err := newApp(config{Backend: client, Codec: codec.Gob, Log: logs})
	require.NoError(t, err)
	hs := httptest.NewServer(a.routes())
	defer hs.Close()
	br := newBrowser(t, hs.URL)

	status, _ := br.do("POST", "/login", url.Values{"name": {"bob"}})
	require.Equal(t, http.StatusOK, status)
	tok := br.token()
	require.NotEmpty(t, tok)

	require.NoError(t, srv.Kill())
	status, _ = br.do("GET", "/me", nil)
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
		status, _ = br.do("GET", "/me", nil)
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
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			logs := &logBuffer{}
			errc := make(chan error, 1)
			go func() { errc <- run(ctx, args, logs) }()

			addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
			var addr string
			require.Eventually(t, func() bool {
				m := addrRE.FindStringSubmatch(logs.String())
				if m != nil {
					addr = m[1]
				}
				return m != nil
			}, 10*time.Second, 10*time.Millisecond, "no listening line in %q", logs.String())

			br := newBrowser(t, "http://"+addr)
			status, _ := br.do("POST", "/login", url.Values{"name": {"bob"}})
			require.Equal(t, http.StatusOK, status)
			status, body := br.do("GET", "/me", nil)
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, "bob", body["user"])
			assert.Equal(t, []any{"reports.read"}, body["permissions"])

			cancel()
			select {
			case err := <-errc:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("run did not return after its context ended")
			}
		})
	}
	err := run(context.Background(), []string{"-codec", "nope"}, io.Discard)
	assert.ErrorContains(t, err, `unknown codec "nope"`)
}

// assertStoredWithoutCachedData reads the raw session from the backend
// and checks that it holds alice and her role, but none of her cached
// data.
func assertStoredWithoutCachedData(t *testing.T, backend memcache.Backend, key string) {
	t.Helper()
	item, err := backend.Get(context.Background(), key)
	require.NoError(t, err)
	stored := string(item.Value)
	assert.Contains(t, stored, "alice")
	assert.Contains(t, stored, "admin")
	for _, p := range adminPermissions {
		assert.NotContains(t, stored, p)
	}
	assert.NotContains(t, stored, "Welcome back")
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
