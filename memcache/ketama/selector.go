package ketama

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
)

// Defaults for the zero fields of a Config.
const (
	// DefaultFailureThreshold is how many consecutive failures mark a
	// server down. One timeout can be a blip; three in a row cost three
	// timeouts and are a pattern.
	DefaultFailureThreshold = 3
	// DefaultRetryDelay is how long a down server is left alone before a
	// call probes it, libmemcached's default retry timeout.
	DefaultRetryDelay = 2 * time.Second
)

// Failover says what a Selector does with the keys of a server that is down.
type Failover int

const (
	// FailFast makes calls for a down server's keys fail at once with a
	// *ServerDownError until a probe finds the server back. It is the
	// default, as in libmemcached, because moving keys can serve stale
	// data: a server that was only unreachable comes back with the old
	// values of keys that were meanwhile rewritten on another server.
	FailFast Failover = iota
	// Rehash sends a down server's keys to the next live server on the
	// ring, which starts empty for them; they return when the server does.
	// Choose it when a cold miss is better than an error and stale reads
	// after a partition are acceptable (or servers restart empty).
	// libmemcached's auto-eject rebuilds the ring without the server
	// instead; with equal weights that sends keys to the same servers,
	// unless the server count crosses one where its rounding changes.
	Rehash
)

// String returns "FailFast" or "Rehash".
func (f Failover) String() string {
	switch f {
	case FailFast:
		return "FailFast"
	case Rehash:
		return "Rehash"
	}
	return "Failover(" + strconv.Itoa(int(f)) + ")"
}

// Config configures a Selector. Zero fields take the documented defaults.
type Config struct {
	// Servers is the initial server list; it may be empty and be set later
	// with SetServers.
	Servers []Server
	// FailureThreshold is how many consecutive failed calls mark a server
	// down. Zero means DefaultFailureThreshold; a negative value never marks
	// a server down.
	FailureThreshold int
	// RetryDelay is how long a down server is left alone before one call is
	// let through to probe it. Zero or less means DefaultRetryDelay.
	RetryDelay time.Duration
	// Failover is what happens to a down server's keys; the zero value is
	// FailFast.
	Failover Failover
	// OnStateChange, if not nil, is called when a server is marked down
	// (down is true) or comes back (down is false). It runs in the goroutine
	// that called Report, holding no lock, may run in several goroutines at
	// once, and should return quickly.
	OnStateChange func(addr net.Addr, down bool)
}

// A Selector picks the memcached server for each key by libmemcached's
// ketama consistent hashing, and keeps calls away from servers that fail.
// It implements gomemcache's ServerSelector and is safe for concurrent use.
//
// The zero value has no servers and the default settings; give it servers
// with SetServers.
type Selector struct {
	cfg  Config
	ring atomic.Pointer[ring]
	mu   sync.Mutex // serialises ring changes; picks never take it
	// start is the zero of the selector clock, taken by New (the zero
	// Selector uses epoch), so that a selector made in a testing/synctest
	// bubble counts on the bubble's clock from its own start.
	start time.Time
}

var _ gomemcache.ServerSelector = (*Selector)(nil)

// New returns a Selector configured by cfg. It fails with a *ConfigError if
// a server address is malformed or listed twice.
func New(cfg Config) (*Selector, error) {
	s := &Selector{cfg: cfg, start: time.Now()}
	s.cfg.Servers = nil
	if err := s.SetServers(cfg.Servers...); err != nil {
		return nil, err
	}
	return s, nil
}

// epoch anchors the selector clock; time.Since reads the monotonic clock,
// so a change of wall time does not shorten or stretch a retry delay.
var epoch = time.Now()

// clock returns nanoseconds on a monotonic clock, never 0 (which marks a
// server up).
func (s *Selector) clock() int64 {
	start := s.start
	if start.IsZero() {
		start = epoch
	}
	return int64(time.Since(start)) + 1
}

func (s *Selector) threshold() int32 {
	switch t := s.cfg.FailureThreshold; {
	case t == 0:
		return DefaultFailureThreshold
	case t < 0:
		return 0
	case t > 1<<30:
		return 1 << 30
	default:
		return int32(t)
	}
}

func (s *Selector) retryDelay() int64 {
	if s.cfg.RetryDelay <= 0 {
		return int64(DefaultRetryDelay)
	}
	return int64(s.cfg.RetryDelay)
}

// PickServer returns the server for key: the one libmemcached would pick,
// or, when that server is down, a *ServerDownError (FailFast) or the next
// live server on the ring (Rehash). It returns ErrNoServers when the
// selector has no servers. It does not allocate.
func (s *Selector) PickServer(key string) (net.Addr, error) {
	r := s.ring.Load()
	if r == nil || len(r.hashes) == 0 {
		return nil, ErrNoServers
	}
	i, hash := 0, uint32(0)
	if len(r.nodes) > 1 {
		// libmemcached skips hashing for one server too.
		hash = keyHash(key)
		i = r.search(hash)
	}
	n := r.nodes[r.owners[i]]
	if n.downUntil.Load() == 0 {
		return n, nil
	}
	if len(r.nodes) == 1 {
		hash = keyHash(key) // to recognise the probe's key
	}
	return s.pickAround(r, n, i, hash)
}

// pickAround is PickServer's path for a server marked down.
func (s *Selector) pickAround(r *ring, n *node, i int, hash uint32) (net.Addr, error) {
	now, delay := s.clock(), s.retryDelay()
	if n.admit(now, delay, hash) {
		return n, nil
	}
	if s.cfg.Failover != Rehash {
		return nil, n.downErr
	}
	for j := 1; j < len(r.hashes); j++ {
		k := i + j
		if k >= len(r.hashes) {
			k -= len(r.hashes)
		}
		if m := r.nodes[r.owners[k]]; m != n && m.admit(now, delay, hash) {
			return m, nil
		}
	}
	return nil, n.downErr
}

// Each calls f for every server, in list order, down or not, and stops at
// the first error, which it returns.
func (s *Selector) Each(f func(net.Addr) error) error {
	r := s.ring.Load()
	if r == nil {
		return nil
	}
	for _, n := range r.nodes {
		if err := f(n); err != nil {
			return err
		}
	}
	return nil
}

// SetServers replaces the server list. Servers that stay keep their health
// state. The new ring is built before it replaces the old one, so calls
// never wait for it. On error nothing changes.
func (s *Selector) SetServers(servers ...Server) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.install(servers)
}

// Add appends servers to the list. Each takes about its share of keys from
// the others; no other key moves. An address already in the list is a
// *ConfigError and nothing changes.
func (s *Selector) Add(servers ...Server) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.install(append(s.list(), servers...))
}

// Remove takes the servers with the given addresses out of the list. Their
// keys spread over the rest; no other key moves. An address that is not in
// the list is a *ConfigError and nothing changes.
func (s *Selector) Remove(addrs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	drop := make(map[string]bool, len(addrs))
	r := s.ring.Load()
	for _, a := range addrs {
		e, err := parseAddr(a)
		if err != nil {
			return err
		}
		if r == nil || r.byAddr[e.addr] == nil {
			return &ConfigError{Server: a, Reason: "not in the server list"}
		}
		drop[e.addr] = true
	}
	var keep []Server
	for _, sv := range s.list() {
		if !drop[sv.Addr] {
			keep = append(keep, sv)
		}
	}
	return s.install(keep)
}

// list returns the current servers; s.mu must be held.
func (s *Selector) list() []Server {
	r := s.ring.Load()
	if r == nil {
		return nil
	}
	out := make([]Server, len(r.nodes))
	for i, n := range r.nodes {
		out[i] = Server{Addr: n.addr, Weight: r.weights[i]}
	}
	return out
}

// install builds and swaps in the ring for servers; s.mu must be held.
func (s *Selector) install(servers []Server) error {
	old := s.ring.Load()
	nodes := make([]*node, len(servers))
	weights := make([]uint32, len(servers))
	seen := make(map[string]bool, len(servers))
	for i, sv := range servers {
		e, err := parseAddr(sv.Addr)
		if err != nil {
			return err
		}
		if seen[e.addr] {
			return &ConfigError{Server: sv.Addr, Reason: "listed twice"}
		}
		seen[e.addr] = true
		if old != nil && old.byAddr[e.addr] != nil {
			nodes[i] = old.byAddr[e.addr]
		} else {
			nodes[i] = newNode(e)
		}
		weights[i] = max(sv.Weight, 1)
	}
	s.ring.Store(newRing(nodes, weights))
	return nil
}

// ServerStatus describes one server as a Selector sees it.
type ServerStatus struct {
	// Addr is the server's canonical address: "host:port" or a socket path.
	Addr string
	// Weight is the server's weight (never 0).
	Weight uint32
	// Points is how many points the server has on the ring: 160 when all
	// weights are equal (156 for some server counts, as in libmemcached).
	Points int
	// Down reports whether the server is marked down.
	Down bool
	// Failures counts the server's consecutive failed calls.
	Failures int
}

// Status returns the servers in list order with their health.
func (s *Selector) Status() []ServerStatus {
	r := s.ring.Load()
	if r == nil {
		return nil
	}
	out := make([]ServerStatus, len(r.nodes))
	for i, n := range r.nodes {
		out[i] = ServerStatus{
			Addr:     n.addr,
			Weight:   r.weights[i],
			Points:   r.points[i],
			Down:     n.downUntil.Load() != 0,
			Failures: int(n.failures.Load()),
		}
	}
	return out
}
