package memcache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// captureDefaultLog sends slog's default logger to a buffer for the test.
func captureDefaultLog(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

func TestFailureLogIsRateLimitedPerKind(t *testing.T) {
	buf := captureDefaultLog(t)
	synctest.Test(t, func(t *testing.T) {
		var l failureLog
		info := StoreInfo{Name: "users", Codec: "json"}
		down := &OpError{Op: "get", Key: "u:k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
		for range 5 {
			l.warn(context.Background(), logBackend, info, OpGet, "k", "u:k", down)
		}
		l.warn(context.Background(), logFailOpen, info, OpGetOrLoad, "k", "u:k", down)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		require.Len(t, lines, 2, "one warning of each kind in an interval")
		assert.Contains(t, lines[0], "level=WARN")
		assert.Contains(t, lines[0], "reason=network-error")
		assert.Contains(t, lines[0], "store=users")

		time.Sleep(FailureLogInterval)
		buf.Reset()
		l.warn(context.Background(), logBackend, info, OpGet, "k", "u:k", down)
		assert.Contains(t, buf.String(), "suppressed=4", "the warnings left out are counted in the next")
	})
}

func TestFailureLogNeverShowsAKey(t *testing.T) {
	buf := captureDefaultLog(t)
	const token = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	long := strings.Repeat("x", 300) + token
	for _, key := range []string{token, "s:" + token, long, "short"} {
		k := "sess:v1:" + key
		errs := []error{
			&DecodeError{Key: key, Codec: "json", Err: errors.New("unexpected end of JSON input")},
			&FormatError{Key: key, Flags: 1, Want: "with codec json", Got: "with codec gob"},
			&OpError{Op: "get", Key: k, Err: errors.New("i/o timeout")},
			&TooLargeError{Key: key, Size: 2 << 20, Limit: 1 << 20},
			errors.Join(errors.New("write failed for "+k), &EncodeError{Key: key, Codec: "json", Err: errors.New("unsupported")}),
		}
		for _, err := range errs {
			buf.Reset()
			var l failureLog
			l.warn(context.Background(), logFailOpen, StoreInfo{Codec: "json"}, OpGetOrLoad, key, k, err)
			out := buf.String()
			require.NotEmpty(t, out)
			if len(key) >= minClearKey {
				assert.NotContains(t, out, key[:minClearKey], "%T", err)
			} else {
				assert.NotContains(t, out, `"`+key+`"`, "%T", err)
			}
			assert.Contains(t, out, HashKey(key))
		}
	}
}

func TestFailureReason(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: &timeoutError{}}
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{ErrCacheMiss, ""},
		{ErrNotStored, ""},
		{ErrCASConflict, ""},
		{&FormatError{Key: "k", schema: true}, ""},
		{&FormatError{Key: "k"}, ReasonDecode},
		{&DecodeError{Key: "k", Err: errors.New("bad")}, ReasonDecode},
		{&EncodeError{Key: "k", Err: errors.New("bad")}, ReasonEncode},
		{context.DeadlineExceeded, ReasonTimeout},
		{&OpError{Op: "get", Err: timeout}, ReasonTimeout},
		{&OpError{Op: "get", Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, ReasonNetworkError},
		{&OpError{Op: "get", Err: io.EOF}, ReasonNetworkError},
		{context.Canceled, ReasonCanceled},
		{&OpError{Op: "get", Kind: ErrMalformedKey}, ReasonMalformedKey},
		{&TooLargeError{Key: "k"}, ReasonTooLarge},
		{ErrNoServers, ReasonNoServers},
		{errors.New("strange"), ReasonOther},
	} {
		assert.Equal(t, c.want, FailureReason(c.err), "%v", c.err)
	}
}

type timeoutError struct{}

func (*timeoutError) Error() string   { return "i/o timeout" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

func TestEventKindNames(t *testing.T) {
	seen := map[string]bool{}
	for k := EventHit; int(k) < len(eventNames); k++ {
		name := k.String()
		assert.NotEqual(t, "unknown", name, "kind %d", k)
		assert.False(t, seen[name], "%s twice", name)
		seen[name] = true
	}
	assert.Equal(t, "unknown", EventKind(0).String())
	assert.Equal(t, "unknown", EventKind(len(eventNames)).String())
}

func TestHashKeyIsStableAndHidesTheKey(t *testing.T) {
	assert.Equal(t, HashKey("a"), HashKey("a"))
	assert.NotEqual(t, HashKey("a"), HashKey("b"))
	assert.Regexp(t, `^sha256:[0-9a-f]{16}$`, HashKey("session-token"))
}
