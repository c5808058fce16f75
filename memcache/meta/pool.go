package meta

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// server is the connection pool of one memcached server.
type server struct {
	addr net.Addr
	cfg  *Config
	// slots holds one token per open or opening connection, so at most
	// MaxConnsPerServer exist at a time.
	slots chan struct{}

	mu   sync.Mutex
	idle []*conn

	// sizeMax caches the server's item_size_max once read, 0 before.
	sizeMax atomic.Int64
}

// conn is one connection to a server, used by one call at a time.
type conn struct {
	nc  net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	srv *server
	// interrupt is nc's deadline forced into the past, bound once so that
	// arming it for a call allocates nothing more.
	interrupt func()
	// num is scratch space to format numbers without allocating.
	num [24]byte

	// The connection's watcher goroutine (see watch) interrupts it when
	// the context of a call in progress ends. It lives as long as the
	// connection, and a call hands it nothing: a timer wakes it at most
	// once per watchAfter while calls run (it is set again only when it
	// has fired), and a call that ends within watchAfter never makes it
	// wait on the call's context. So a call costs neither an allocation
	// (context.AfterFunc costs two per call) nor a goroutine switch nor a
	// timer operation; a slower call is watched from then on, so a
	// cancellation interrupts it at once, or at watchAfter into the call.
	//
	// wmu guards the call's state the watcher may look at: cur, the Done
	// channel of the call in progress (nil between calls), and began, when
	// the call began; engaged, set by the watcher while it waits on cur;
	// fired, set once it has interrupted the call; timing, set while the
	// timer is pending.
	wmu     sync.Mutex
	cur     <-chan struct{}
	began   time.Time
	engaged bool
	fired   bool
	timing  bool
	// wake is the watcher's timer; released tells an engaged watcher the
	// call ended first; quit, closed with the connection, ends the
	// watcher.
	wake     *time.Timer
	released chan struct{}
	quit     chan struct{}
}

// watchAfter is how long a call runs before the watcher of its connection
// waits on its context: a call cancelled sooner is interrupted then. It is
// far longer than a hit on a healthy server takes, and short against what
// a caller who hangs up waits for.
const watchAfter = time.Millisecond

// readBuffer is a connection's read buffer: small values arrive whole in
// one read, and a line longer than maxLine fits to be refused.
const readBuffer = 16 << 10

// pastDeadline is a deadline long gone: setting it interrupts any blocked
// read or write at once.
var pastDeadline = time.Unix(1, 0)

// errPoolTimeout means every connection slot of a server stayed busy for the
// whole call timeout.
var errPoolTimeout = errors.New("meta: timed out waiting for a free connection (MaxConnsPerServer reached)")

func newServer(addr net.Addr, cfg *Config) *server {
	return &server{addr: addr, cfg: cfg, slots: make(chan struct{}, cfg.MaxConnsPerServer)}
}

// get returns an idle connection or dials one, waiting for a free slot while
// MaxConnsPerServer are in use, for as long as ctx and the call timeout
// allow.
func (s *server) get(ctx context.Context) (*conn, error) {
	select {
	case s.slots <- struct{}{}:
	default:
		if err := s.waitSlot(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()
	c, err := s.dial(ctx)
	if err != nil {
		<-s.slots
		return nil, err
	}
	return c, nil
}

// waitSlot is the slow path of get, when the pool is full.
func (s *server) waitSlot(ctx context.Context) error {
	t := time.NewTimer(s.cfg.Timeout)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errPoolTimeout
	}
}

func (s *server) dial(ctx context.Context) (*conn, error) {
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	nc, err := d.DialContext(ctx, s.addr.Network(), s.addr.String())
	if err != nil {
		return nil, err
	}
	// A new connection may reach a restarted server with other settings.
	s.sizeMax.Store(0)
	c := &conn{nc: nc, r: bufio.NewReaderSize(nc, readBuffer), w: bufio.NewWriterSize(nc, 16<<10), srv: s,
		wake: time.NewTimer(watchAfter), released: make(chan struct{}, 1), quit: make(chan struct{})}
	c.wake.Stop()
	c.interrupt = func() { nc.SetDeadline(pastDeadline) }
	go c.watch()
	return c, nil
}

// watch is c's watcher goroutine: when a call has run for watchAfter, it
// waits for the call's end or its context's, and interrupts c if the
// context ended first. It returns when c is closed.
func (c *conn) watch() {
	for {
		select {
		case <-c.quit:
			return
		case <-c.wake.C:
		}
		c.wmu.Lock()
		c.timing = false
		done := c.cur
		if done == nil {
			c.wmu.Unlock()
			continue // between calls: the next call sets the timer
		}
		if age := time.Since(c.began); age < watchAfter {
			// A call that began since the timer was set.
			c.timing = true
			c.wmu.Unlock()
			c.wake.Reset(watchAfter - age)
			continue
		}
		c.engaged = true
		c.wmu.Unlock()
		select {
		case <-c.released:
			continue
		case <-done:
		}
		c.wmu.Lock()
		ended := !c.engaged // disarm got there first and sends released
		if !ended {
			c.engaged, c.fired = false, true
			c.interrupt()
		}
		c.wmu.Unlock()
		if ended {
			<-c.released
		}
	}
}

// close closes c's connection and ends its watcher. Only a connection
// between calls is closed.
func (c *conn) close() {
	c.nc.Close()
	c.wake.Stop()
	close(c.quit)
}

// put returns c to the pool after a call, or closes it when the call left
// it in an unknown state (broken) or enough connections are idle.
func (s *server) put(c *conn, broken bool) {
	if !broken {
		s.mu.Lock()
		if len(s.idle) < s.cfg.MaxIdleConns {
			s.idle = append(s.idle, c)
			s.mu.Unlock()
			<-s.slots
			return
		}
		s.mu.Unlock()
	}
	c.close()
	<-s.slots
}

// closeIdle closes the idle connections.
func (s *server) closeIdle() {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// open reports the server's connections: in use or being dialed, and idle.
func (s *server) open() (busy, idle int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.slots), len(s.idle)
}

// arm sets c's deadline for one call, the earlier of ctx's and the call
// timeout, and has c's watcher interrupt c if ctx ends during the call. It
// returns whether ctx can end at all; if so, disarm must be called when the
// call's I/O is over.
func (c *conn) arm(ctx context.Context) (armed bool) {
	now := time.Now()
	deadline := now.Add(c.srv.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.nc.SetDeadline(deadline)
	done := ctx.Done()
	if done == nil {
		return false
	}
	c.wmu.Lock()
	c.cur, c.began, c.fired = done, now, false
	select {
	case <-done: // ended since the caller checked it: no need to wait
		c.fired = true
		c.interrupt()
	default:
	}
	set := !c.timing
	c.timing = true
	c.wmu.Unlock()
	if set {
		c.wake.Reset(watchAfter)
	}
	return true
}

// disarm ends the watch of the call armed on c. It reports false when
// the call's context interrupted c, which must then be closed.
func (c *conn) disarm() bool {
	c.wmu.Lock()
	fired, engaged := c.fired, c.engaged
	c.cur, c.engaged = nil, false
	c.wmu.Unlock()
	if engaged {
		c.released <- struct{}{}
	}
	return !fired
}
