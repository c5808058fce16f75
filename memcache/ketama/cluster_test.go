package ketama

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/leancache/leancache/memcache/memcachetest"
)

// startCluster starts n memcached processes on 127.0.0.1.
func startCluster(t *testing.T, n int) ([]*memcachetest.Server, []string) {
	t.Helper()
	servers := make([]*memcachetest.Server, n)
	addrs := make([]string, n)
	for i := range servers {
		servers[i] = memcachetest.NewServer(t)
		addrs[i] = servers[i].Addr
	}
	return servers, addrs
}

// direct returns a client that talks to addr alone, to check where a key
// really is.
func direct(addr string, timeout time.Duration) *gomemcache.Client {
	c := gomemcache.New(addr)
	c.Timeout = timeout
	return c
}

// reportingClient does what memcache.Client does with a reporting
// selector: one pick per call, then Report with that address.
type reportingClient struct {
	sel     *Selector
	timeout time.Duration
	mu      sync.Mutex
	clients map[string]*gomemcache.Client
}

func (c *reportingClient) on(addr net.Addr) *gomemcache.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clients == nil {
		c.clients = map[string]*gomemcache.Client{}
	}
	mc := c.clients[addr.String()]
	if mc == nil {
		mc = direct(addr.String(), c.timeout)
		c.clients[addr.String()] = mc
	}
	return mc
}

func (c *reportingClient) do(key string, f func(*gomemcache.Client) error) (net.Addr, error) {
	addr, err := c.sel.PickServer(key)
	if err != nil {
		return nil, err
	}
	err = f(c.on(addr))
	c.sel.Report(addr, err)
	return addr, err
}

func (c *reportingClient) get(key string) (net.Addr, error) {
	return c.do(key, func(mc *gomemcache.Client) error { _, err := mc.Get(key); return err })
}

func (c *reportingClient) set(key, value string) (net.Addr, error) {
	return c.do(key, func(mc *gomemcache.Client) error {
		return mc.Set(&gomemcache.Item{Key: key, Value: []byte(value)})
	})
}

// TestClusterPlacement stores keys through gomemcache on the selector and
// finds each one on the server the selector names, and on no other; then
// adds a fourth server at runtime and checks that only its keys miss.
func TestClusterPlacement(t *testing.T) {
	_, addrs := startCluster(t, 4)
	sel, err := New(Config{Servers: Servers(addrs[:3]...)})
	if err != nil {
		t.Fatal(err)
	}
	c := gomemcache.NewFromSelector(sel)
	keys := testKeys(600, 11)
	for _, k := range keys {
		if err := c.Set(&gomemcache.Item{Key: k, Value: []byte("v:" + k)}); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	per := map[string]int{}
	for _, k := range keys {
		want, _ := sel.PickServer(k)
		per[want.String()]++
		for _, a := range addrs[:3] {
			it, err := direct(a, time.Second).Get(k)
			switch {
			case a == want.String() && (err != nil || string(it.Value) != "v:"+k):
				t.Fatalf("key %q is not on %s, its server: %v", k, a, err)
			case a != want.String() && !errors.Is(err, gomemcache.ErrCacheMiss):
				t.Fatalf("key %q is also on %s (%v)", k, a, err)
			}
		}
	}
	t.Logf("keys per server: %v", per)

	if err := sel.Add(Server{Addr: addrs[3]}); err != nil {
		t.Fatal(err)
	}
	misses, movedKeys := 0, 0
	for _, k := range keys {
		a, _ := sel.PickServer(k)
		if a.String() == addrs[3] {
			movedKeys++
		}
		if _, err := c.Get(k); errors.Is(err, gomemcache.ErrCacheMiss) {
			misses++
			if a.String() != addrs[3] {
				t.Errorf("key %q missed on %s, which did not change", k, a)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("after adding a 4th server: %d of %d keys moved to it, %d misses", movedKeys, len(keys), misses)
	if misses != movedKeys || movedKeys == 0 {
		t.Fatalf("%d misses for %d moved keys", misses, movedKeys)
	}
}

// keysOn returns n of keys that sel maps to addr.
func keysOn(t *testing.T, sel *Selector, addr string, n int) []string {
	t.Helper()
	var out []string
	for _, k := range testKeys(50*n, 13) {
		if a, err := sel.PickServer(k); err == nil && a.String() == addr {
			out = append(out, k)
			if len(out) == n {
				return out
			}
		}
	}
	t.Fatalf("found only %d keys on %s", len(out), addr)
	return nil
}

// waitUp calls get on key until the selector sends it to addr again.
func waitUp(t *testing.T, c *reportingClient, key, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if a, err := c.get(key); a != nil && a.String() == addr && (err == nil || errors.Is(err, gomemcache.ErrCacheMiss)) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not used again within %v: %+v", addr, within, c.sel.Status())
}

// TestClusterKill kills one of three servers: its keys fail fast after
// FailureThreshold refused calls, other keys are unaffected, and the
// restarted server is used again after the retry delay.
func TestClusterKill(t *testing.T) {
	procs, addrs := startCluster(t, 3)
	const threshold, delay = 3, 300 * time.Millisecond
	sel, err := New(Config{Servers: Servers(addrs...), FailureThreshold: threshold, RetryDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	c := &reportingClient{sel: sel, timeout: time.Second}
	victim := addrs[1]
	vkeys := keysOn(t, sel, victim, 40)
	okeys := keysOn(t, sel, addrs[0], 10)
	for _, k := range append(vkeys, okeys...) {
		if _, err := c.set(k, "v"); err != nil {
			t.Fatal(err)
		}
	}

	if err := procs[1].Kill(); err != nil {
		t.Fatal(err)
	}
	reached, fast := 0, 0
	for _, k := range vkeys {
		_, err := c.get(k)
		switch {
		case errors.Is(err, ErrServerDown):
			fast++
		case err != nil:
			reached++
		default:
			t.Fatalf("get %q on a killed server succeeded", k)
		}
	}
	t.Logf("killed %s: %d calls reached it, %d failed fast", victim, reached, fast)
	if reached != threshold {
		t.Errorf("%d calls tried the dead server, want FailureThreshold = %d", reached, threshold)
	}
	for _, k := range okeys {
		if _, err := c.get(k); err != nil {
			t.Fatalf("key %q on a live server: %v", k, err)
		}
	}
	// gomemcache on the same selector fails fast too.
	if _, err := gomemcache.NewFromSelector(sel).Get(vkeys[0]); !errors.Is(err, ErrServerDown) {
		t.Errorf("gomemcache Get for the dead server's key: %v, want ErrServerDown", err)
	}

	if err := procs[1].Restart(); err != nil {
		t.Fatal(err)
	}
	waitUp(t, c, vkeys[0], victim, 10*delay)
	if _, err := c.set(vkeys[1], "again"); err != nil {
		t.Fatal(err)
	}
	if it, err := direct(victim, time.Second).Get(vkeys[1]); err != nil || string(it.Value) != "again" {
		t.Fatalf("after the restart the key is not on %s: %v", victim, err)
	}
	if st := sel.Status()[1]; st.Down {
		t.Fatalf("restarted server still down: %+v", st)
	}
}

// waitHung returns once addr accepts connections but answers nothing: a
// SIGSTOP reaches memcached's threads a moment after Pause returns.
func waitHung(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatalf("paused server refuses connections: %v", err)
		}
		conn.SetDeadline(time.Now().Add(100 * time.Millisecond))
		_, err = conn.Write([]byte("version\r\n"))
		if err == nil {
			_, err = conn.Read(make([]byte, 64))
		}
		conn.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still answers after Pause", addr)
}

// TestClusterHung pauses one of three servers, so calls to it hang until
// the timeout. Only FailureThreshold calls may wait; with Rehash the keys
// are served by the next server; after Resume the server is used again.
func TestClusterHung(t *testing.T) {
	for _, mode := range []Failover{FailFast, Rehash} {
		t.Run(mode.String(), func(t *testing.T) {
			procs, addrs := startCluster(t, 3)
			const threshold, delay, timeout = 2, 500 * time.Millisecond, 300 * time.Millisecond
			sel, err := New(Config{Servers: Servers(addrs...), FailureThreshold: threshold,
				RetryDelay: delay, Failover: mode})
			if err != nil {
				t.Fatal(err)
			}
			c := &reportingClient{sel: sel, timeout: timeout}
			victim := addrs[2]
			vkeys := keysOn(t, sel, victim, 30)
			for _, k := range vkeys {
				if _, err := c.set(k, "v"); err != nil {
					t.Fatal(err)
				}
			}
			if err := procs[2].Pause(); err != nil {
				t.Fatal(err)
			}
			waitHung(t, victim)
			resumed := false
			defer func() {
				if !resumed {
					procs[2].Resume()
				}
			}()
			slow, failed, served := 0, 0, 0
			for _, k := range vkeys {
				start := time.Now()
				a, err := c.get(k)
				if time.Since(start) >= timeout/2 {
					slow++
				}
				switch {
				case err == nil || errors.Is(err, gomemcache.ErrCacheMiss):
					served++
					if a.String() == victim {
						t.Fatalf("a paused server answered %q", k)
					}
				default:
					failed++
				}
			}
			t.Logf("%s, %s paused: %d of %d calls waited for the %v timeout, %d failed, %d served elsewhere",
				mode, victim, slow, len(vkeys), timeout, failed, served)
			if slow > threshold || slow == 0 {
				t.Errorf("%d calls waited for the timeout, want 1 to FailureThreshold = %d", slow, threshold)
			}
			if mode == Rehash && served != len(vkeys)-threshold {
				t.Errorf("Rehash served %d keys elsewhere, want %d", served, len(vkeys)-threshold)
			}
			if mode == FailFast && failed != len(vkeys) {
				t.Errorf("FailFast: %d calls failed, want all %d", failed, len(vkeys))
			}

			if err := procs[2].Resume(); err != nil {
				t.Fatal(err)
			}
			resumed = true
			waitUp(t, c, vkeys[0], victim, 10*delay)
			for _, k := range vkeys[1:] {
				if a, err := c.get(k); err != nil || a.String() != victim {
					t.Fatalf("after Resume, %q: %v on %v", k, err, a)
				}
			}
		})
	}
}

// TestClusterRuntimeChanges removes a live server and adds it back while
// calls go on.
func TestClusterRuntimeChanges(t *testing.T) {
	_, addrs := startCluster(t, 3)
	sel, err := New(Config{Servers: Servers(addrs...)})
	if err != nil {
		t.Fatal(err)
	}
	c := gomemcache.NewFromSelector(sel)
	keys := testKeys(300, 17)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var callErr error
	var mu sync.Mutex
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			k := keys[i%len(keys)]
			if err := c.Set(&gomemcache.Item{Key: k, Value: []byte("x")}); err != nil {
				mu.Lock()
				callErr = fmt.Errorf("Set(%q) during a change: %w", k, err)
				mu.Unlock()
				return
			}
		}
	})
	for range 20 {
		if err := sel.Remove(addrs[1]); err != nil {
			t.Fatal(err)
		}
		if err := sel.Add(Server{Addr: addrs[1]}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if callErr != nil {
		t.Fatal(callErr)
	}
	if got := len(sel.Status()); got != 3 {
		t.Fatalf("%d servers after the changes, want 3", got)
	}
}
