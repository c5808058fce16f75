package ketama

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
)

func TestParseAddr(t *testing.T) {
	for _, c := range []struct {
		in, network, addr, name string
	}{
		{"10.0.0.1:11211", "tcp", "10.0.0.1:11211", "10.0.0.1"},
		{"10.0.0.1", "tcp", "10.0.0.1:11211", "10.0.0.1"},
		{"cache:22122", "tcp", "cache:22122", "cache:22122"},
		{"[::1]:11212", "tcp", "[::1]:11212", "::1:11212"},
		{"[::1]:11211", "tcp", "[::1]:11211", "::1"},
		{"::1", "tcp", "[::1]:11211", "::1"},
		{"/run/mc.sock", "unix", "/run/mc.sock", "/run/mc.sock:0"},
	} {
		e, err := parseAddr(c.in)
		if err != nil {
			t.Errorf("parseAddr(%q): %v", c.in, err)
			continue
		}
		if e.network != c.network || e.addr != c.addr || e.name != c.name {
			t.Errorf("parseAddr(%q) = %+v, want {%s %s %s}", c.in, e, c.network, c.addr, c.name)
		}
	}
	for _, in := range []string{"", "host:", "host:0", "host:65536", "host:http", ":11211", "a b:1", "[::1", "[::1]x", ":]:0", "1:2:3"} {
		_, err := parseAddr(in)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Server != in {
			t.Errorf("parseAddr(%q) = %v, want a *ConfigError naming it", in, err)
		}
	}
}

func TestZeroValue(t *testing.T) {
	var s Selector
	if _, err := s.PickServer("k"); !errors.Is(err, ErrNoServers) || !errors.Is(err, gomemcache.ErrNoServers) {
		t.Fatalf("PickServer on the zero Selector: %v, want ErrNoServers", err)
	}
	if err := s.Each(func(net.Addr) error { return errors.New("called") }); err != nil {
		t.Fatalf("Each on the zero Selector: %v", err)
	}
	s.Report(&net.TCPAddr{}, errors.New("x")) // must not panic
	if err := s.SetServers(Servers("127.0.0.1:1", "127.0.0.1:2")...); err != nil {
		t.Fatal(err)
	}
	if a, err := s.PickServer("k"); err != nil || a == nil {
		t.Fatalf("PickServer after SetServers: %v, %v", a, err)
	}
}

func TestPickServerDoesNotAllocate(t *testing.T) {
	s, err := New(Config{Servers: Servers(seq("10.0.0.%d:11211", 1, 10)...)})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"k", strings.Repeat("x", 100), strings.Repeat("y", 250)} {
		if n := testing.AllocsPerRun(100, func() { s.PickServer(key) }); n != 0 {
			t.Errorf("PickServer(%d-byte key) allocates %v times", len(key), n)
		}
	}
	// A key too long for memcached still gets a server.
	if _, err := s.PickServer(strings.Repeat("z", 1000)); err != nil {
		t.Fatal(err)
	}
}

func TestPointsFollowWeights(t *testing.T) {
	s, err := New(Config{Servers: weighted(seq("h%d:1", 1, 4), 1, 1, 2, 0)})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{128, 128, 256, 128} // 40*4 servers*w/5 digests, 4 points each
	for i, st := range s.Status() {
		if st.Points != want[i] {
			t.Errorf("%s weight %d: %d points, want %d", st.Addr, st.Weight, st.Points, want[i])
		}
	}
	// libmemcached's float32 arithmetic gives equal servers 160 points,
	// but 156 for some counts; the compatibility test proves 50 and 100.
	for n, want := range map[int]int{3: 160, 10: 160, 25: 156, 50: 156, 51: 160} {
		s, _ = New(Config{Servers: Servers(seq("h%d:1", 1, n)...)})
		for _, st := range s.Status() {
			if st.Points != want || st.Weight != 1 {
				t.Fatalf("%d servers: %s has %d points, weight %d; want %d, 1", n, st.Addr, st.Points, st.Weight, want)
			}
		}
	}
}

// newTestSelector returns a selector of addrs; called in a synctest
// bubble, its retry delays run on the bubble's clock, which time.Sleep
// moves at once.
func newTestSelector(t *testing.T, cfg Config, addrs ...string) *Selector {
	t.Helper()
	cfg.Servers = Servers(addrs...)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keysOf returns keys that s maps to addr while all servers are up.
func keysOf(t *testing.T, s *Selector, addr string, n int) []string {
	t.Helper()
	var out []string
	for i := 0; len(out) < n; i++ {
		k := fmt.Sprintf("key-%d", i)
		a, err := s.PickServer(k)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() == addr {
			out = append(out, k)
		}
	}
	return out
}

var errRefused = errors.New("dial tcp: connection refused")

func TestFailFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events []string
		var mu sync.Mutex
		s := newTestSelector(t, Config{
			FailureThreshold: 2,
			RetryDelay:       10 * time.Second,
			OnStateChange: func(a net.Addr, down bool) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, fmt.Sprintf("%s down=%v", a, down))
			},
		}, "10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211")
		dead := "10.0.0.2:11211"
		keys := keysOf(t, s, dead, 3)
		other := keysOf(t, s, "10.0.0.1:11211", 1)[0]

		addr, _ := s.PickServer(keys[0])
		s.Report(addr, errRefused)
		if a, err := s.PickServer(keys[0]); err != nil || a.String() != dead {
			t.Fatalf("one failure of two marked the server down: %v, %v", a, err)
		}
		s.Report(addr, errRefused)

		_, err := s.PickServer(keys[1])
		var de *ServerDownError
		if !errors.Is(err, ErrServerDown) || !errors.As(err, &de) || de.Addr != dead {
			t.Fatalf("PickServer for a down server's key: %v, want a ServerDownError naming %s", err, dead)
		}
		if !strings.Contains(err.Error(), dead) {
			t.Errorf("error %q does not name the server", err)
		}
		if a, err := s.PickServer(other); err != nil || a.String() != "10.0.0.1:11211" {
			t.Fatalf("another server's key: %v, %v", a, err)
		}
		if st := s.Status()[1]; !st.Down || st.Failures != 2 {
			t.Errorf("Status of the down server: %+v", st)
		}

		time.Sleep(10*time.Second - 1)
		if _, err := s.PickServer(keys[0]); err == nil {
			t.Fatal("the server was tried before its retry delay")
		}
		time.Sleep(time.Nanosecond)
		// One probe goes through; the other keys keep failing fast, but the
		// probe's own key finds the server again, for a client that picks twice.
		if a, err := s.PickServer(keys[0]); err != nil || a.String() != dead {
			t.Fatalf("probe after the delay: %v, %v", a, err)
		}
		if _, err := s.PickServer(keys[1]); err == nil {
			t.Fatal("a second call was let through during the probe")
		}
		if a, err := s.PickServer(keys[0]); err != nil || a.String() != dead {
			t.Fatalf("the probe's key picked again: %v, %v", a, err)
		}
		// The probe fails: down for another full delay.
		s.Report(addr, errRefused)
		if _, err := s.PickServer(keys[0]); err == nil {
			t.Fatal("a failed probe's key still reaches the server")
		}
		time.Sleep(10*time.Second - 1)
		if _, err := s.PickServer(keys[2]); err == nil {
			t.Fatal("the server was tried before the delay after a failed probe")
		}
		time.Sleep(time.Nanosecond)
		a, err := s.PickServer(keys[2])
		if err != nil {
			t.Fatalf("second probe: %v", err)
		}
		s.Report(a, nil)
		for _, k := range keys {
			if a, err := s.PickServer(k); err != nil || a.String() != dead {
				t.Fatalf("after a good probe, %q: %v, %v", k, a, err)
			}
		}
		if st := s.Status()[1]; st.Down || st.Failures != 0 {
			t.Errorf("Status after recovery: %+v", st)
		}
		mu.Lock()
		defer mu.Unlock()
		want := []string{dead + " down=true", dead + " down=false"}
		if fmt.Sprint(events) != fmt.Sprint(want) {
			t.Errorf("OnStateChange saw %v, want %v", events, want)
		}
	})
}

func TestRehash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		all := seq("10.0.0.%d:11211", 1, 5)
		s := newTestSelector(t, Config{Failover: Rehash, FailureThreshold: 1, RetryDelay: time.Second}, all...)
		dead := all[2]
		// With equal weights the other servers keep their points when one
		// leaves, so the next live point on the ring is where a ring without
		// the dead server sends the key.
		without, err := New(Config{Servers: Servers(append(append([]string{}, all[:2]...), all[3:]...)...)})
		if err != nil {
			t.Fatal(err)
		}
		keys := testKeys(5000, 3)
		before := make([]string, len(keys))
		for i, k := range keys {
			a, _ := s.PickServer(k)
			before[i] = a.String()
		}
		a, _ := s.PickServer(keysOf(t, s, dead, 1)[0])
		s.Report(a, errRefused)
		moved := 0
		for i, k := range keys {
			got, err := s.PickServer(k)
			if err != nil {
				t.Fatalf("Rehash returned %v", err)
			}
			want, _ := without.PickServer(k)
			if got.String() != want.String() {
				t.Fatalf("key %q goes to %s, want %s", k, got, want)
			}
			if before[i] == dead {
				moved++
			} else if got.String() != before[i] {
				t.Fatalf("key %q of a live server moved from %s to %s", k, before[i], got)
			}
		}
		if moved == 0 {
			t.Fatal("no key belonged to the dead server")
		}
		// Everything down: the key's own server is named.
		for _, addr := range all {
			s.Report(&net.TCPAddr{IP: net.ParseIP(strings.Split(addr, ":")[0]), Port: 11211}, errRefused)
		}
		if _, err := s.PickServer(keys[0]); !errors.Is(err, ErrServerDown) {
			t.Fatalf("all servers down: %v, want ErrServerDown", err)
		}
		time.Sleep(time.Second)
		if _, err := s.PickServer(keys[0]); err != nil {
			t.Fatalf("after the delay a probe should go somewhere: %v", err)
		}
	})
}

func TestReportIgnoresLiveAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestSelector(t, Config{FailureThreshold: 1}, "10.0.0.1:11211", "10.0.0.2:11211")
		k := keysOf(t, s, "10.0.0.1:11211", 1)[0]
		a, _ := s.PickServer(k)
		for _, err := range []error{
			nil, gomemcache.ErrCacheMiss, gomemcache.ErrNotStored, gomemcache.ErrCASConflict,
			gomemcache.ErrMalformedKey, gomemcache.ErrServerError, context.Canceled,
			fmt.Errorf("wrapped: %w", gomemcache.ErrCacheMiss), &ServerDownError{Addr: a.String()},
		} {
			s.Report(a, err)
			if _, perr := s.PickServer(k); perr != nil {
				t.Fatalf("Report(%v) marked the server down", err)
			}
		}
		s.Report(nil, errRefused)
		s.Report(&net.TCPAddr{IP: net.ParseIP("10.9.9.9"), Port: 1}, errRefused)
		if _, err := s.PickServer(k); err != nil {
			t.Fatal("a report on an unknown address marked a server down")
		}
		// Any net.Addr that names the server counts, not only PickServer's.
		s.Report(&net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 11211}, context.DeadlineExceeded)
		if _, err := s.PickServer(k); !errors.Is(err, ErrServerDown) {
			t.Fatalf("a timeout reported by address: %v, want ErrServerDown", err)
		}
	})
}

func TestNegativeThresholdNeverMarksDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestSelector(t, Config{FailureThreshold: -1}, "10.0.0.1:11211", "10.0.0.2:11211")
		a, _ := s.PickServer("k")
		for range 100 {
			s.Report(a, errRefused)
		}
		if _, err := s.PickServer("k"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestSelector(t, Config{}, "10.0.0.1:11211", "10.0.0.2:11211")
		a, _ := s.PickServer("k")
		for i := range DefaultFailureThreshold {
			if _, err := s.PickServer("k"); err != nil {
				t.Fatalf("down after %d failures, want %d", i, DefaultFailureThreshold)
			}
			s.Report(a, errRefused)
		}
		if _, err := s.PickServer("k"); !errors.Is(err, ErrServerDown) {
			t.Fatalf("after %d failures: %v, want ErrServerDown (FailFast is the default)", DefaultFailureThreshold, err)
		}
		time.Sleep(DefaultRetryDelay - 1)
		if _, err := s.PickServer("k"); err == nil {
			t.Fatal("probed before DefaultRetryDelay")
		}
		time.Sleep(time.Nanosecond)
		if _, err := s.PickServer("k"); err != nil {
			t.Fatalf("no probe after DefaultRetryDelay: %v", err)
		}
	})
}

func TestChangesKeepHealthAndValidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestSelector(t, Config{FailureThreshold: 1}, "10.0.0.1:11211", "10.0.0.2:11211")
		k := keysOf(t, s, "10.0.0.2:11211", 1)[0]
		a, _ := s.PickServer(k)
		s.Report(a, errRefused)

		if err := s.Add(Server{Addr: "10.0.0.3"}); err != nil {
			t.Fatal(err)
		}
		if st := s.Status(); len(st) != 3 || !st[1].Down || st[2].Addr != "10.0.0.3:11211" || st[2].Weight != 1 {
			t.Fatalf("after Add: %+v", st)
		}
		for _, bad := range []func() error{
			func() error { return s.Add(Server{Addr: "10.0.0.1"}) },               // already there
			func() error { return s.Add(Server{Addr: "10.0.0.4:x"}) },             // bad port
			func() error { return s.Remove("10.0.0.9:11211") },                    // not there
			func() error { return s.SetServers(Servers("a:1", "b:1", "a:1")...) }, // twice
		} {
			var ce *ConfigError
			if err := bad(); !errors.As(err, &ce) {
				t.Errorf("got %v, want a *ConfigError", err)
			}
		}
		if len(s.Status()) != 3 {
			t.Fatalf("a failed change changed the list: %+v", s.Status())
		}
		if err := s.Remove("10.0.0.2"); err != nil {
			t.Fatal(err)
		}
		if a, err := s.PickServer(k); err != nil || a.String() == "10.0.0.2:11211" {
			t.Fatalf("after Remove: %v, %v", a, err)
		}
		if err := s.SetServers(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PickServer(k); !errors.Is(err, ErrNoServers) {
			t.Fatalf("empty list: %v", err)
		}
		if _, err := New(Config{Servers: Servers("ok:1", "")}); err == nil {
			t.Fatal("New accepted an empty address")
		}
	})
}

// TestOneProbePerDelay checks that when the delay runs out under load only
// one caller is let through to the server, over many rounds of callers
// released at once.
func TestOneProbePerDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestSelector(t, Config{FailureThreshold: 1, RetryDelay: time.Second},
			"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211")
		dead := "10.0.0.3:11211"
		keys := keysOf(t, s, dead, 16)
		a, _ := s.PickServer(keys[0])
		s.Report(a, errRefused)
		for round := range 300 {
			time.Sleep(time.Second)
			var through atomic.Int32
			var ready, wg sync.WaitGroup
			start := make(chan struct{})
			for _, k := range keys {
				ready.Add(1)
				wg.Go(func() {
					ready.Done()
					<-start
					if _, err := s.PickServer(k); err == nil {
						through.Add(1)
					}
				})
			}
			ready.Wait()
			close(start)
			wg.Wait()
			if n := through.Load(); n != 1 {
				t.Fatalf("round %d: %d callers reached the down server after the delay, want 1", round, n)
			}
		}
	})
}

// TestConcurrentUse is for the race detector: picks, reports and ring
// changes at once.
func TestConcurrentUse(t *testing.T) {
	s, err := New(Config{FailureThreshold: 2, RetryDelay: time.Millisecond, Failover: Rehash,
		Servers: Servers(seq("10.0.0.%d:11211", 1, 4)...)})
	if err != nil {
		t.Fatal(err)
	}
	keys := testKeys(200, 5)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				a, err := s.PickServer(keys[(g*31+i)%len(keys)])
				if err != nil {
					continue
				}
				if i%3 == 0 {
					s.Report(a, errRefused)
				} else {
					s.Report(a, nil)
				}
				s.Status()
			}
		})
	}
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			if i%2 == 0 {
				s.Add(Server{Addr: "10.0.0.9:11211", Weight: 2})
			} else {
				s.Remove("10.0.0.9:11211")
			}
			s.Each(func(net.Addr) error { return nil })
		}
	})
	wg.Wait()
}
