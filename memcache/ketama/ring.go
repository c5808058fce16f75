package ketama

import (
	"cmp"
	"crypto/md5"
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// libmemcached's constants: MEMCACHED_DEFAULT_PORT and
// MEMCACHED_POINTS_PER_SERVER_KETAMA. A digest yields pointsPerDigest
// points.
const (
	defaultPort     = 11211
	pointsPerServer = 160
	pointsPerDigest = 4
)

// Server is one memcached server and its share of the keys.
type Server struct {
	// Addr is "host:port", "[ipv6]:port", a bare host (port 11211), or the
	// path of a unix socket, which starts with "/". The host is hashed as
	// written, so every client of a cluster must spell it the same way.
	Addr string
	// Weight is the server's share of keys relative to the others'; zero
	// means 1, as in libmemcached.
	Weight uint32
}

// Servers returns addrs as Servers of weight 1.
func Servers(addrs ...string) []Server {
	s := make([]Server, len(addrs))
	for i, a := range addrs {
		s[i] = Server{Addr: a, Weight: 1}
	}
	return s
}

// endpoint is a parsed Server.Addr.
type endpoint struct {
	network string // "tcp" or "unix"
	addr    string // canonical form: JoinHostPort(host, port), or the path
	name    string // what libmemcached hashes before "-i"
}

func parseAddr(s string) (endpoint, error) {
	bad := func(reason string) (endpoint, error) {
		return endpoint{}, &ConfigError{Server: s, Reason: reason}
	}
	if s == "" {
		return bad("empty address")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return bad("address holds a space or control character")
	}
	if s[0] == '/' {
		// libmemcached gives a unix socket port 0, and 0 is not the
		// default port, so the point names are "path:0-i".
		return endpoint{network: "unix", addr: s, name: s + ":0"}, nil
	}
	host, port := s, defaultPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return bad("port must be a number from 1 to 65535")
		}
		host, port = h, int(n)
	} else if strings.Count(s, ":") == 1 || strings.HasPrefix(s, "[") {
		// One colon is a host with a broken port, not an IPv6 address.
		return bad(err.Error())
	} else if strings.Contains(s, ":") {
		// A bare IPv6 address, as libmemcached accepts one.
		if _, err := netip.ParseAddr(s); err != nil {
			return bad("neither host:port nor an IPv6 address")
		}
		host = s
	}
	if host == "" {
		return bad("empty host")
	}
	if strings.ContainsAny(host, "[]") {
		return bad("brackets inside the host")
	}
	e := endpoint{network: "tcp", addr: net.JoinHostPort(host, strconv.Itoa(port))}
	if port == defaultPort {
		e.name = host
	} else {
		e.name = host + ":" + strconv.Itoa(port)
	}
	return e, nil
}

// ring is an immutable continuum. Readers load it through an atomic pointer
// and never lock; a change builds a new ring.
type ring struct {
	hashes  []uint32 // point values, ascending
	owners  []int32  // owners[i] indexes nodes: the server of hashes[i]
	nodes   []*node  // in list order, which breaks ties as libmemcached does
	weights []uint32 // weights[i] is nodes[i]'s weight, never 0
	points  []int    // points[i] is how many points nodes[i] has
	byAddr  map[string]*node
}

// newRing builds the continuum libmemcached's update_continuum builds in
// weighted mode.
func newRing(nodes []*node, weights []uint32) *ring {
	r := &ring{
		nodes:   nodes,
		weights: weights,
		points:  make([]int, len(nodes)),
		byAddr:  make(map[string]*node, len(nodes)),
	}
	var total uint64
	for _, w := range weights {
		total += uint64(w)
	}
	type point struct {
		hash  uint32
		owner int32
	}
	pts := make([]point, 0, len(nodes)*pointsPerServer)
	var buf []byte
	for i, n := range nodes {
		r.byAddr[n.addr] = n
		count := serverPoints(weights[i], total, len(nodes))
		r.points[i] = count
		for p := range count / pointsPerDigest {
			buf = append(buf[:0], n.name...)
			buf = append(buf, '-')
			buf = strconv.AppendInt(buf, int64(p), 10)
			d := md5.Sum(buf)
			for x := range pointsPerDigest {
				pts = append(pts, point{binary.LittleEndian.Uint32(d[4*x:]), int32(i)})
			}
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(a.owner, b.owner)
	})
	r.hashes = make([]uint32, len(pts))
	r.owners = make([]int32, len(pts))
	for i, p := range pts {
		r.hashes[i], r.owners[i] = p.hash, p.owner
	}
	return r
}

// serverPoints is libmemcached's points-per-server formula for weighted
// ketama. libmemcached computes it in float32; every step is converted to
// float32 so that no platform fuses them into one differently rounded
// operation and gives a server 4 points more or less than C does.
func serverPoints(weight uint32, total uint64, servers int) int {
	pct := float32(float32(weight) / float32(total))
	x := float32(pct * pointsPerServer)
	x = float32(x / pointsPerDigest)
	x = float32(x * float32(servers))
	x = float32(x + 1e-10)
	return int(math.Floor(float64(x))) * pointsPerDigest
}

// keyHash is libhashkit's MD5 key hash: the digest's first 4 bytes,
// little-endian.
func keyHash(key string) uint32 {
	// md5.Sum only reads its argument and keeps no reference to it, so
	// viewing the string's bytes in place is safe; a copy would cost an
	// allocation for keys over 32 bytes, or zeroing a stack buffer.
	sum := md5.Sum(unsafe.Slice(unsafe.StringData(key), len(key)))
	return binary.LittleEndian.Uint32(sum[:4])
}

// search returns the index of the point that owns hash: the first point at
// or after it, wrapping to the first point.
func (r *ring) search(hash uint32) int {
	lo, hi := 0, len(r.hashes)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.hashes[m] < hash {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(r.hashes) {
		return 0
	}
	return lo
}
