package meta_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/childproc"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/meta"
)

// hostile is a server that answers every request line with what reply
// returns for it, to play the broken or malicious server real memcached
// cannot. It counts the connections it accepted and those the client
// closed (seen as the end of its requests, or a failed write of a reply).
type hostile struct {
	addr     string
	accepted atomic.Int32
	closed   atomic.Int32
}

func newHostile(t *testing.T, reply func(req string) string) *hostile {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &hostile{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			wg.Go(func() {
				defer nc.Close()
				r := bufio.NewReader(nc)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						h.closed.Add(1)
						return
					}
					out, hangUp := strings.CutSuffix(reply(strings.TrimSuffix(line, "\r\n")), eof)
					if _, err := io.WriteString(nc, out); err != nil {
						h.closed.Add(1) // the client hung up on a reply it refused
						return
					}
					if hangUp {
						return
					}
				}
			})
		}
	})
	return h
}

// eof ends a hostile reply that the server follows by closing the
// connection.
const eof = "\x00EOF"

// TestUnexpectedRepliesCloseTheConnection sends each kind of bad reply to
// Get, GetMulti, the lease calls and a Store's GetOrLoad through them: a
// typed error every time, and the connection it came on closed, so the
// next call starts on a fresh one.
func TestUnexpectedRepliesCloseTheConnection(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reply string
		want  func(error) bool
	}{
		"garbage":          {"hello world\r\n", isProtocol},
		"text protocol":    {"VALUE k 0 5\r\nhello\r\nEND\r\n", isProtocol},
		"wrong key":        {"VA 5 f0 c1 kother O0\r\nhello\r\nMN\r\n", isProtocol},
		"no flags":         {"VA 5 kk O0\r\nhello\r\nMN\r\n", isProtocol},
		"no key":           {"VA 5 f0 c1 O0\r\nhello\r\nMN\r\n", isProtocol},
		"wrong opaque":     {"VA 5 f0 c1 kk O7\r\nhello\r\nMN\r\n", isProtocol}, // Get asks no O: GetMulti only
		"truncated line":   {"VA 5 k" + eof, isProtocol},
		"truncated value":  {"VA 5 f0 c1 kk O0\r\nhel" + eof, isProtocol},
		"bad terminator":   {"VA 5 f0 c1 kk O0\r\nhelloXY", isProtocol},
		"too large claim":  {"VA 2147483648 f0 c1 kk O0\r\n", isProtocol},
		"client error":     {"CLIENT_ERROR bad command line format\r\n", isServerError},
		"server error":     {"SERVER_ERROR out of memory\r\n", isServerError},
		"line without end": {strings.Repeat("VA", 20000), isProtocol},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, func(req string) string {
				if strings.HasPrefix(req, "mn") || req == "" {
					return ""
				}
				return tc.reply
			})
			c := newMeta(t, meta.Config{Servers: []string{h.addr}, Timeout: 2 * time.Second})
			ctx := context.Background()
			calls := 3
			if name == "wrong opaque" {
				calls = 0
			}
			for i := range calls {
				it, err := c.Get(ctx, "k")
				assert.Nil(t, it)
				require.True(t, tc.want(err), "Get: %v", err)
				var oe *memcache.OpError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, "get", oe.Op)
				assert.Equal(t, int32(i+1), h.accepted.Load(), "each call on a new connection")
			}
			m, err := c.GetMulti(ctx, []string{"k"})
			require.True(t, tc.want(err), "GetMulti: %v", err)
			assert.Empty(t, m, "no value of a bad reply is returned")
			assert.Equal(t, int32(calls+1), h.accepted.Load())
			conns := calls + 1
			if calls > 0 {
				conns += leaseCallsRefuse(t, c, tc.want)
			}
			assert.Equal(t, int32(conns), h.accepted.Load(), "each call on a new connection")
			assert.Eventually(t, func() bool { return h.closed.Load() == int32(conns) || strings.Contains(tc.reply, eof) },
				2*time.Second, time.Millisecond, "the client closed every connection")
			assert.Equal(t, meta.PoolStats{}, c.PoolStats()[h.addr], "nothing kept")
		})
	}
}

// leaseCallsRefuse checks that the lease calls, and a Store's GetOrLoad
// through them, refuse a bad reply as Get does (want tells the error), and
// returns how many calls it made.
func leaseCallsRefuse(t *testing.T, c *meta.Client, want func(error) bool) int {
	t.Helper()
	ctx := context.Background()
	le, err := c.GetLease(ctx, "k", memcache.LeaseOptions{LeaseTTL: 30, RefreshBelow: 10})
	require.True(t, want(err), "GetLease: %v", err)
	assert.Nil(t, le.Item)
	require.True(t, want(c.Invalidate(ctx, "k", 30)), "Invalidate")
	require.True(t, want(c.ReleaseLease(ctx, "k", 1)), "ReleaseLease")

	var reported []error
	s, err := memcache.NewStore[string](c, memcache.WithErrorHandler(func(_ string, err error) { reported = append(reported, err) }))
	require.NoError(t, err)
	v, err := s.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "loaded", nil })
	require.NoError(t, err, "GetOrLoad fails open")
	assert.Equal(t, "loaded", v)
	require.Len(t, reported, 1)
	assert.True(t, want(reported[0]), "the failure reported: %v", reported[0])
	return 4
}

// vmSize returns the address space this process maps (VmSize): the test
// binary reserves much of it at start, which a child's cap must leave room
// for.
func vmSize(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmSize:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}

func isProtocol(err error) bool { return errors.Is(err, meta.ErrProtocol) }

func isServerError(err error) bool {
	var se *meta.ServerError
	return errors.As(err, &se)
}

// TestHugeClaimCostsNoMemory has a server claim a 2 GB value and send only
// a little of it, to a client that would accept 3 GB: the value's memory is
// spent as bytes arrive, so the call fails without reaching the child's cap
// of 512 MB of address space beyond what the test binary maps at rest.
func TestHugeClaimCostsNoMemory(t *testing.T) {
	childproc.Run(t, childproc.Limits{Memory: vmSize(t) + 512<<20, Timeout: 30 * time.Second}, func(t *testing.T) {
		h := newHostile(t, func(req string) string {
			return "VA 2147483648 f0 c1 kk\r\n" + strings.Repeat("x", 1<<20)
		})
		c := newMeta(t, meta.Config{Servers: []string{h.addr}, Timeout: 2 * time.Second, MaxValueSize: 3 << 30})
		start := time.Now()
		_, err := c.Get(context.Background(), "k")
		var oe *memcache.OpError
		require.ErrorAs(t, err, &oe)
		var ne net.Error
		require.True(t, errors.As(err, &ne) && ne.Timeout(), "the server stalls after 1 MB: the call times out, %v", err)
		assert.Less(t, time.Since(start), 10*time.Second)
	})
}

// TestHungServer pauses memcached: a call ends at its context's deadline or
// at the Timeout, whichever comes first, on the caller's goroutine, and the
// connection it was on is closed, so after Resume no late reply can reach
// a later call.
func TestHungServer(t *testing.T) {
	t.Parallel()
	srvs, addrs := servers(t, 1)
	c := newMeta(t, meta.Config{Servers: addrs, Timeout: 500 * time.Millisecond})
	bg := context.Background()
	require.NoError(t, c.Set(bg, &memcache.Item{Key: "a", Value: []byte("A")}))
	require.NoError(t, c.Set(bg, &memcache.Item{Key: "b", Value: []byte("B")}))
	require.NoError(t, srvs[0].Pause())

	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Get(ctx, "a")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second, "the context's deadline bounds the call")

	start = time.Now()
	_, err = c.Get(bg, "a")
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "%v", err)
	assert.Less(t, time.Since(start), 5*time.Second, "Timeout bounds a call without deadline")
	assert.Equal(t, meta.PoolStats{}, c.PoolStats()[addrs[0]], "both connections closed")

	require.NoError(t, srvs[0].Resume())
	// The paused server now answers the two abandoned requests, on
	// connections nobody reads any more.
	it, err := c.Get(bg, "b")
	require.NoError(t, err)
	assert.Equal(t, []byte("B"), it.Value)
}

// TestHostileControl is the control of TestUnexpectedRepliesCloseTheConnection:
// the same server with a well-formed reply serves it, on one connection.
func TestHostileControl(t *testing.T) {
	t.Parallel()
	h := newHostile(t, func(req string) string {
		if strings.HasPrefix(req, "mn") {
			return "MN\r\n"
		}
		return "VA 5 f3 c9 kk O0\r\nhello\r\n"
	})
	c := newMeta(t, meta.Config{Servers: []string{h.addr}, Timeout: 2 * time.Second})
	for range 3 {
		it, err := c.Get(context.Background(), "k")
		require.NoError(t, err)
		assert.Equal(t, memcache.Item{Key: "k", Value: []byte("hello"), Flags: 3, CAS: 9}, *it)
		m, err := c.GetMulti(context.Background(), []string{"k"})
		require.NoError(t, err)
		assert.Equal(t, []byte("hello"), m["k"].Value)
	}
	assert.Equal(t, int32(1), h.accepted.Load(), "one connection, reused")
}
