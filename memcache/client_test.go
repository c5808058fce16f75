package memcache

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache/memcachetest"
)

// reportingSelector is a ServerList that records the health reports a
// Client sends it.
type reportingSelector struct {
	gomemcache.ServerList
	mu      sync.Mutex
	reports []healthReport
}

type healthReport struct {
	addr string
	err  error
}

func (s *reportingSelector) Report(addr net.Addr, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports = append(s.reports, healthReport{addr.String(), err})
}

// take returns the reports so far and forgets them.
func (s *reportingSelector) take() []healthReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reports
	s.reports = nil
	return r
}

func newReportingClient(t *testing.T, timeout time.Duration, servers ...string) (*Client, *reportingSelector) {
	t.Helper()
	sel := new(reportingSelector)
	require.NoError(t, sel.SetServers(servers...))
	c, err := NewClient(ClientConfig{Selector: sel, Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, sel
}

func TestNewClientConfig(t *testing.T) {
	_, err := NewClient(ClientConfig{})
	assert.ErrorIs(t, err, ErrNoServers)

	_, err = NewClient(ClientConfig{Servers: []string{"no port here"}})
	assert.Error(t, err)

	c, err := NewClient(ClientConfig{Servers: []string{"127.0.0.1:11211"}})
	require.NoError(t, err)
	assert.Equal(t, DefaultTimeout, c.timeout)
	assert.Nil(t, c.reporter, "a plain ServerList does not report")

	var sel reportingSelector
	require.NoError(t, sel.SetServers("127.0.0.1:1"))
	c, err = NewClient(ClientConfig{Servers: []string{"bad address"}, Selector: &sel, Timeout: time.Second, MaxIdleConns: 9})
	require.NoError(t, err, "Selector overrides Servers")
	assert.Same(t, &sel, c.reporter)
	assert.Equal(t, time.Second, c.mc.Timeout)
	assert.Equal(t, 9, c.mc.MaxIdleConns)
}

// countingListener accepts connections and counts them, to prove that a
// call never reached the network.
func countingListener(t *testing.T) (addr string, accepted *atomic.Int64) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	accepted = new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return l.Addr().String(), accepted
}

func TestClientRefusesIllegalKeysBeforeTheNetwork(t *testing.T) {
	addr, accepted := countingListener(t)
	c, sel := newReportingClient(t, time.Second, addr)
	ctx := context.Background()
	for why, k := range illegalKeys {
		it := &Item{Key: k, Value: []byte("v")}
		for op, err := range map[string]error{
			"set": c.Set(ctx, it), "add": c.Add(ctx, it), "replace": c.Replace(ctx, it),
			"cas": c.CompareAndSwap(ctx, it), "delete": c.Delete(ctx, k), "touch": c.Touch(ctx, k, 1),
		} {
			assert.ErrorIs(t, err, ErrMalformedKey, "%s of the %s key", op, why)
		}
		_, err := c.Get(ctx, k)
		assert.ErrorIs(t, err, ErrMalformedKey)
		_, err = c.GetMulti(ctx, []string{"fine", k})
		assert.ErrorIs(t, err, ErrMalformedKey)
	}
	assert.Zero(t, accepted.Load(), "connections made for illegal keys")
	assert.Empty(t, sel.take(), "no report without a network call")

	// The listener does work: a legal key does connect.
	_, err := c.Get(ctx, "fine")
	assert.Error(t, err)
	assert.Positive(t, accepted.Load())
}

func TestClientTooLargeKeepsTheServersReply(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, sel := newReportingClient(t, 5*time.Second, srv.Addr)
	err := c.Set(context.Background(), &Item{Key: "k", Value: make([]byte, DefaultItemSizeMax)})
	require.ErrorIs(t, err, ErrTooLarge)
	assert.NotErrorIs(t, err, ErrCacheMiss)
	assert.Contains(t, err.Error(), `memcache: set "k": value too large: `)
	assert.Contains(t, err.Error(), "SERVER_ERROR object too large for cache", "the cause is kept")
	var oe *OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, ErrTooLarge, oe.Kind)
	assert.Equal(t, []healthReport{{srv.Addr, nil}}, sel.take(), "the server answered: it is healthy")
}

func TestClientReportsHealth(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, sel := newReportingClient(t, time.Second, srv.Addr)
	ctx := context.Background()

	require.NoError(t, c.Set(ctx, &Item{Key: "k", Value: []byte("v")}))
	_, err := c.Get(ctx, "missing")
	require.ErrorIs(t, err, ErrCacheMiss)
	require.ErrorIs(t, c.Add(ctx, &Item{Key: "k"}), ErrNotStored)
	require.ErrorIs(t, c.CompareAndSwap(ctx, &Item{Key: "k", CAS: 0}), ErrCASConflict)
	assert.Equal(t, []healthReport{{srv.Addr, nil}, {srv.Addr, nil}, {srv.Addr, nil}, {srv.Addr, nil}}, sel.take(),
		"success and cache outcomes report a healthy server")

	require.NoError(t, srv.Kill())
	c.Close() // idle connections would fail with EOF, not a refusal
	_, err = c.Get(ctx, "k")
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "the cause is kept")
	var oe *OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "get", oe.Op)
	assert.Equal(t, "k", oe.Key)
	reports := sel.take()
	require.Len(t, reports, 1)
	assert.Equal(t, srv.Addr, reports[0].addr)
	assert.ErrorIs(t, reports[0].err, syscall.ECONNREFUSED)

	require.NoError(t, srv.Restart())
	_, err = c.Get(ctx, "k")
	assert.ErrorIs(t, err, ErrCacheMiss, "a restarted server is cold")
	assert.Equal(t, []healthReport{{srv.Addr, nil}}, sel.take())
}

func TestClientGetMultiReportsEachServer(t *testing.T) {
	up, down := memcachetest.NewServer(t), memcachetest.NewServer(t)
	c, sel := newReportingClient(t, time.Second, up.Addr, down.Addr)
	ctx := context.Background()
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = string(rune('a' + i))
		require.NoError(t, c.Set(ctx, &Item{Key: keys[i], Value: []byte(keys[i])}))
	}
	sel.take()

	got, err := c.GetMulti(ctx, keys)
	require.NoError(t, err)
	assert.Len(t, got, len(keys))
	assert.ElementsMatch(t, []healthReport{{up.Addr, nil}, {down.Addr, nil}}, sel.take())

	require.NoError(t, down.Kill())
	c.Close()
	_, err = c.GetMulti(ctx, keys)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	reports := sel.take()
	require.Len(t, reports, 2)
	for _, r := range reports {
		if r.addr == up.Addr {
			assert.NoError(t, r.err)
		} else {
			assert.ErrorIs(t, r.err, syscall.ECONNREFUSED)
		}
	}
}

// waitGoroutines waits until at most n goroutines run, and reports whether
// that happened before the deadline.
func waitGoroutines(n int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func TestClientContextBeatsAHungServer(t *testing.T) {
	srv := memcachetest.NewServer(t)
	const timeout = 400 * time.Millisecond
	c, sel := newReportingClient(t, timeout, srv.Addr)
	require.NoError(t, c.Set(context.Background(), &Item{Key: "k", Value: []byte("v")}))
	sel.take()
	require.NoError(t, srv.Pause())
	t.Cleanup(func() { srv.Resume() })
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	value := []byte("new")
	start := time.Now()
	err := c.Set(ctx, &Item{Key: "k", Value: value})
	elapsed := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var oe *OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, OpError{Op: "set", Key: "k", Err: context.DeadlineExceeded}, *oe)
	assert.Less(t, elapsed, timeout/2, "the caller must not wait for the network timeout")
	value[0] = 'X' // the abandoned call must have its own copy (-race checks)

	canceled, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel2)
	_, err = c.Get(canceled, "k")
	require.ErrorIs(t, err, context.Canceled)

	// The abandoned calls end within the client's timeout, and the
	// selector hears that the server hangs.
	assert.True(t, waitGoroutines(baseline, timeout+time.Second),
		"goroutines still running after the timeout: %d > %d", runtime.NumGoroutine(), baseline)
	reports := sel.take()
	require.Len(t, reports, 2)
	for _, r := range reports {
		var ne net.Error
		require.ErrorAs(t, r.err, &ne)
		assert.True(t, ne.Timeout())
	}

	ctx3, cancel3 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel3()
	start = time.Now()
	_, err = c.ItemSizeMax(ctx3)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), timeout/2)

	require.NoError(t, srv.Resume())
	it, err := c.Get(context.Background(), "k")
	require.NoError(t, err)
	// The abandoned set may still land: its bytes sat in the paused
	// server's socket buffer. But it wrote its own copy of the value.
	assert.Contains(t, []string{"v", "new"}, string(it.Value))
}

func TestClientItemSizeMaxIsTheSmallest(t *testing.T) {
	small := memcachetest.NewServer(t, memcachetest.Options{ItemSize: "1m"})
	big := memcachetest.NewServer(t, memcachetest.Options{ItemSize: "4m", MemoryMB: 16})
	c, err := NewClient(ClientConfig{Servers: []string{big.Addr, small.Addr}})
	require.NoError(t, err)
	n, err := c.ItemSizeMax(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1<<20, n)

	c, err = NewClient(ClientConfig{Servers: []string{big.Addr}})
	require.NoError(t, err)
	n, err = c.ItemSizeMax(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 4<<20, n)

	require.NoError(t, big.Kill())
	_, err = c.ItemSizeMax(context.Background())
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Contains(t, err.Error(), big.Addr)
}

func TestParseItemSizeMaxRejectsGarbage(t *testing.T) {
	for name, reply := range map[string]string{
		"missing":   "STAT maxbytes 1\r\nEND\r\n",
		"not a num": "STAT item_size_max lots\r\nEND\r\n",
		"error":     "ERROR\r\n",
		"truncated": "STAT item_size_max 1024\r\n",
	} {
		client, server := net.Pipe()
		go func() {
			buf := make([]byte, 64)
			server.Read(buf)
			server.Write([]byte(reply))
			server.Close()
		}()
		_, err := parseItemSizeMax(client)
		assert.Error(t, err, name)
		client.Close()
	}
	client, server := net.Pipe()
	go func() {
		buf := make([]byte, 64)
		server.Read(buf)
		server.Write([]byte("STAT a b\r\nSTAT item_size_max 2048\r\nEND\r\n"))
	}()
	n, err := parseItemSizeMax(client)
	require.NoError(t, err)
	assert.Equal(t, 2048, n)
	client.Close()
	server.Close()
}

func TestMapErrorAndNetworkError(t *testing.T) {
	assert.NoError(t, mapError("get", "k", nil))
	assert.Equal(t, ErrCacheMiss, mapError("get", "k", gomemcache.ErrCacheMiss))
	assert.Equal(t, ErrNotStored, mapError("add", "k", gomemcache.ErrNotStored))
	assert.Equal(t, ErrCASConflict, mapError("cas", "k", gomemcache.ErrCASConflict))
	assert.ErrorIs(t, mapError("get", "k", gomemcache.ErrMalformedKey), ErrMalformedKey)
	other := errors.New("boom")
	err := mapError("touch", "k", other)
	assert.ErrorIs(t, err, other)
	assert.EqualError(t, err, `memcache: touch "k": boom`)

	for _, err := range []error{nil, gomemcache.ErrCacheMiss, gomemcache.ErrNotStored, gomemcache.ErrCASConflict} {
		assert.NoError(t, networkError(err))
	}
	assert.Equal(t, other, networkError(other))
}

// BenchmarkClientGet compares a Client's Get, with a context that can and
// one that cannot end, to gomemcache's own Get on the same server.
func BenchmarkClientGet(b *testing.B) {
	srv := memcachetest.NewServer(b)
	value := make([]byte, 1024)
	raw := gomemcache.New(srv.Addr)
	if err := raw.Set(&gomemcache.Item{Key: "k", Value: value}); err != nil {
		b.Fatal(err)
	}
	c, err := NewClient(ClientConfig{Servers: []string{srv.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	withTimeout, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.Run("gomemcache", func(b *testing.B) {
		for b.Loop() {
			if _, err := raw.Get("k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	for name, ctx := range map[string]context.Context{"background": context.Background(), "timeout": withTimeout} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Get(ctx, "k"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestClientGetMultiDeadlineWithAHungServer checks the promise of GetMulti's
// doc with a caller deadline: one hung server costs only its own keys, the
// live servers' items come back, and the error names the hung server.
func TestClientGetMultiDeadlineWithAHungServer(t *testing.T) {
	srvs := []*memcachetest.Server{memcachetest.NewServer(t), memcachetest.NewServer(t), memcachetest.NewServer(t)}
	addrs := []string{srvs[0].Addr, srvs[1].Addr, srvs[2].Addr}
	// The network timeout is far longer than the caller's deadline, so only
	// the deadline can end the call early.
	const timeout = 10 * time.Second
	plain, err := NewClient(ClientConfig{Servers: addrs, Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close() })
	reporting, _ := newReportingClient(t, timeout, addrs...)

	ctx := context.Background()
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = "gmd-" + string(rune('A'+i))
		require.NoError(t, plain.Set(ctx, &Item{Key: keys[i], Value: []byte(keys[i])}))
	}
	hung := srvs[1]
	var live []string
	for _, k := range keys {
		addr, err := plain.selector.PickServer(k)
		require.NoError(t, err)
		if addr.String() != hung.Addr {
			live = append(live, k)
		}
	}
	require.NotEmpty(t, live)
	require.Less(t, len(live), len(keys), "no key on the server to pause")

	// The same through a Store, whose keys land elsewhere.
	st, err := NewStore[string](plain, WithNamespace("gmd", "v1"))
	require.NoError(t, err)
	var liveValues []string
	for _, key := range keys {
		require.NoError(t, st.Set(ctx, key, key))
		k, err := st.Key(key)
		require.NoError(t, err)
		if addr, _ := plain.selector.PickServer(k); addr.String() != hung.Addr {
			liveValues = append(liveValues, key)
		}
	}
	require.NotEmpty(t, liveValues)
	require.Less(t, len(liveValues), len(keys))

	require.NoError(t, hung.Pause())
	t.Cleanup(func() { hung.Resume() })
	t.Run("Store", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		got, err := st.GetMulti(dctx, keys)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), hung.Addr)
		assert.Len(t, got, len(liveValues), "the live servers' values come back")
		for _, key := range liveValues {
			assert.Equal(t, key, got[key])
		}
	})
	for name, c := range map[string]*Client{"ServerList": plain, "reporting selector": reporting} {
		t.Run(name, func(t *testing.T) {
			dctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			got, err := c.GetMulti(dctx, keys)
			elapsed := time.Since(start)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			var oe *OpError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, "getmulti", oe.Op)
			assert.Contains(t, err.Error(), hung.Addr, "the error names the hung server")
			for _, s := range srvs {
				if s != hung {
					assert.NotContains(t, err.Error(), s.Addr, "a live server is not blamed")
				}
			}
			assert.Less(t, elapsed, timeout/4, "the caller waits for its deadline, not the network timeout")
			require.Len(t, got, len(live), "the live servers' items come back")
			for _, k := range live {
				if assert.Contains(t, got, k) {
					assert.Equal(t, k, string(got[k].Value))
				}
			}
		})
	}
}

// BenchmarkClientGetMulti compares a Client's GetMulti of 20 keys over two
// servers, with a context that can and one that cannot end, to gomemcache's
// own GetMulti on the same servers.
func BenchmarkClientGetMulti(b *testing.B) {
	addrs := []string{memcachetest.NewServer(b).Addr, memcachetest.NewServer(b).Addr}
	raw := gomemcache.New(addrs...)
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = "bench-" + string(rune('a'+i))
		if err := raw.Set(&gomemcache.Item{Key: keys[i], Value: make([]byte, 256)}); err != nil {
			b.Fatal(err)
		}
	}
	c, err := NewClient(ClientConfig{Servers: addrs})
	if err != nil {
		b.Fatal(err)
	}
	withTimeout, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.Run("gomemcache", func(b *testing.B) {
		for b.Loop() {
			if got, err := raw.GetMulti(keys); err != nil || len(got) != len(keys) {
				b.Fatal(len(got), err)
			}
		}
	})
	for name, ctx := range map[string]context.Context{"background": context.Background(), "timeout": withTimeout} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if got, err := c.GetMulti(ctx, keys); err != nil || len(got) != len(keys) {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}
