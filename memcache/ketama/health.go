package ketama

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
)

// node is one server. It is the net.Addr PickServer returns, so Report finds
// it without a lookup, and it outlives ring changes that keep the server,
// so its health survives them.
type node struct {
	endpoint
	failures  atomic.Int32  // consecutive failed calls
	downUntil atomic.Int64  // selector clock when a probe may go; 0 when up
	probe     atomic.Uint64 // probeFlag|hash of the key a probe was granted for
	downErr   *ServerDownError
}

// probeFlag marks node.probe as set, since every uint32 is a valid hash.
const probeFlag = 1 << 32

func newNode(e endpoint) *node {
	return &node{endpoint: e, downErr: &ServerDownError{Addr: e.addr}}
}

// Network returns "tcp" or "unix".
func (n *node) Network() string { return n.network }

// String returns "host:port" or the socket path.
func (n *node) String() string { return n.addr }

// admit reports whether a call for the key with the given hash may go to n
// at time now.
func (n *node) admit(now, delay int64, hash uint32) bool {
	until := n.downUntil.Load()
	if until == 0 {
		return true
	}
	if now < until {
		// A client that cannot see which address its call used picks
		// again to name it in Report; that pick must find the probe too.
		return n.probe.Load() == probeFlag|uint64(hash)
	}
	// The delay is over. Exactly one caller wins this swap and probes the
	// server; the others keep away for another delay, so a server that is
	// still dead costs one slow call per delay, not one per caller.
	if !n.downUntil.CompareAndSwap(until, now+delay) {
		return false
	}
	n.probe.Store(probeFlag | uint64(hash))
	return true
}

// Report tells the selector how a call to addr, the address PickServer
// returned, went. err is the call's network-level error: nil for success,
// and nil too for answers that prove the server alive (a miss, not stored,
// a CAS conflict). Report ignores gomemcache's errors of that kind, a
// ServerDownError, context.Canceled and a nil addr, so a client may pass
// whatever error it got.
//
// FailureThreshold consecutive failures mark the server down; a success
// marks it up and clears its count.
func (s *Selector) Report(addr net.Addr, err error) {
	if addr == nil {
		return
	}
	n, ok := addr.(*node)
	if !ok {
		r := s.ring.Load()
		if r == nil {
			return
		}
		if n = r.byAddr[addr.String()]; n == nil {
			return
		}
	}
	if n.probe.Load() != 0 {
		n.probe.Store(0) // the probe, if this was it, is over
	}
	if !isFailure(err) {
		// Loads first: a healthy server's success then writes nothing, and
		// concurrent callers do not fight over its cache line.
		if n.failures.Load() != 0 {
			n.failures.Store(0)
		}
		if n.downUntil.Load() != 0 && n.downUntil.Swap(0) != 0 {
			s.notify(n, false)
		}
		return
	}
	threshold := s.threshold()
	if threshold == 0 {
		return
	}
	f := n.failures.Add(1)
	if f > threshold {
		// Keep the count from overflowing on a server that stays dead.
		n.failures.CompareAndSwap(f, threshold)
	}
	if f < threshold {
		return
	}
	now := s.clock()
	for {
		until := n.downUntil.Load()
		if until > now {
			return // already down, or a probe is out
		}
		if n.downUntil.CompareAndSwap(until, now+s.retryDelay()) {
			if until == 0 {
				s.notify(n, true)
			}
			return
		}
	}
}

func (s *Selector) notify(n *node, down bool) {
	if f := s.cfg.OnStateChange; f != nil {
		f(n, down)
	}
}

// isFailure reports whether err says the server did not answer.
func isFailure(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, gomemcache.ErrCacheMiss),
		errors.Is(err, gomemcache.ErrCASConflict),
		errors.Is(err, gomemcache.ErrNotStored),
		errors.Is(err, gomemcache.ErrMalformedKey),
		errors.Is(err, gomemcache.ErrServerError),
		errors.Is(err, gomemcache.ErrNoStats),
		errors.Is(err, ErrServerDown),
		errors.Is(err, ErrNoServers),
		errors.Is(err, context.Canceled):
		return false
	}
	return true
}
