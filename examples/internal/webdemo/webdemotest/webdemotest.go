// Package webdemotest is what the tests of the session examples share: a
// browser with a cookie jar, a log buffer the server's goroutines can
// write to, and the program's start and stop as main runs it.
package webdemotest

import (
	"bytes"
	"context"
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

	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/examples/internal/webdemo"
	"github.com/leancache/leancache/memcache"
)

// LogBuffer collects a server's log; handlers write from their own
// goroutines. Its zero value is ready.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns what was written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Browser is an HTTP client with a cookie jar, against one server.
type Browser struct {
	t    *testing.T
	base *url.URL
	jar  *cookiejar.Jar
	c    *http.Client
}

// NewBrowser returns a Browser for the server at base (http://host:port).
func NewBrowser(t *testing.T, base string) *Browser {
	u, err := url.Parse(base)
	require.NoError(t, err)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &Browser{t: t, base: u, jar: jar, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// Do sends a request, with form as its body when not nil, and returns the
// status and the decoded JSON body (nil when the body is not JSON).
func (b *Browser) Do(method, path string, form url.Values) (int, map[string]any) {
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

// Cookie returns the value of the cookie called name in the jar, or "".
func (b *Browser) Cookie(name string) string {
	for _, c := range b.jar.Cookies(b.base) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// SetCookie puts a cookie called name with value in the jar, as a client
// that forges or alters one would.
func (b *Browser) SetCookie(name, value string) {
	b.jar.SetCookies(b.base, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// Start runs run (an example's run function) with args in a goroutine,
// waits for its "listening" log line, and returns the address it listens
// on and a function that stops it and checks that it returned cleanly.
func Start(t *testing.T, run func(context.Context, []string, io.Writer) error, args ...string) (addr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &LogBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, args, logs) }()
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	require.Eventually(t, func() bool {
		m := addrRE.FindStringSubmatch(logs.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, "no listening line in %q", logs.String())
	return addr, func() {
		t.Helper()
		cancel()
		select {
		case err := <-errc:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return after its context ended")
		}
	}
}

// CheckLogout logs out through br and checks what both examples promise:
// the session under key leaves memcached, /me answers 401, and the log
// shows the requests but not the cookie's value.
func CheckLogout(t *testing.T, br *Browser, backend memcache.Backend, key string, logs *LogBuffer, cookie string) {
	t.Helper()
	status, _ := br.Do("POST", "/logout", nil)
	require.Equal(t, http.StatusOK, status)
	_, err := backend.Get(context.Background(), key)
	require.ErrorIs(t, err, memcache.ErrCacheMiss, "logout leaves the session in memcached")
	status, _ = br.Do("GET", "/me", nil)
	require.Equal(t, http.StatusUnauthorized, status)
	l := logs.String()
	require.Contains(t, l, "path=/login status=200")
	require.Contains(t, l, "path=/logout status=200")
	require.NotContains(t, l, cookie)
}

// CheckRun starts run as main does, with args, logs bob in through it and
// reads his page, then stops it; and checks that an unknown codec is
// refused.
func CheckRun(t *testing.T, run func(context.Context, []string, io.Writer) error, args ...string) {
	t.Helper()
	addr, stop := Start(t, run, args...)
	br := NewBrowser(t, "http://"+addr)
	status, _ := br.Do("POST", "/login", url.Values{"name": {"bob"}})
	require.Equal(t, http.StatusOK, status)
	status, body := br.Do("GET", "/me", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "bob", body["user"])
	require.Equal(t, []any{"reports.read"}, body["permissions"])
	stop()
	require.ErrorContains(t, run(context.Background(), []string{"-codec", "nope"}, io.Discard), `unknown codec "nope"`)
}

// Serve serves h until the test ends and returns a Browser for it.
func Serve(t *testing.T, h http.Handler) *Browser {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return NewBrowser(t, srv.URL)
}

// CheckStoredWithoutCachedData reads alice's raw session under key: it
// holds her name and role, and none of the permissions her role grants,
// nor any of the other cached data in absent.
func CheckStoredWithoutCachedData(t *testing.T, backend memcache.Backend, key string, absent ...string) {
	t.Helper()
	item, err := backend.Get(context.Background(), key)
	require.NoError(t, err)
	stored := string(item.Value)
	require.Contains(t, stored, "alice")
	require.Contains(t, stored, "admin")
	for _, p := range append(webdemo.Permissions([]string{"admin"}), absent...) {
		require.NotContains(t, stored, p)
	}
}
