package meta

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"sync"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/leancache/leancache/memcache"
)

// Defaults for the zero fields of a Config.
const (
	// DefaultTimeout bounds one call's network I/O with one server, the
	// gomemcache Client's default.
	DefaultTimeout = memcache.DefaultTimeout
	// DefaultMaxIdleConns is the number of idle connections kept per
	// server.
	DefaultMaxIdleConns = 8
	// DefaultMaxConnsPerServer bounds the connections in use per server.
	DefaultMaxConnsPerServer = 64
	// DefaultMaxValueSize is the largest value a reply may carry: memcached's
	// largest item size limit (-I 1024m) is far above what a cache should
	// hold, and a broken or hostile server claiming more is refused before
	// any memory is spent on it.
	DefaultMaxValueSize = 128 << 20
)

// Config configures a [Client]. Zero fields take the Default values.
type Config struct {
	// Servers are the memcached addresses, host:port or a unix socket
	// path, picked per key as the gomemcache Client does (crc32 of the key
	// modulo the number of servers), so both clients put every key on the
	// same server.
	Servers []string
	// Selector, when set, picks the server for each key instead of
	// Servers: any gomemcache.ServerSelector, such as ketama.Selector. If
	// it has a method Report(addr net.Addr, err error), the Client reports
	// the network-level outcome of each call to a server there (nil for
	// success and cache outcomes), so the selector can steer keys away
	// from a failing server.
	Selector gomemcache.ServerSelector
	// Timeout bounds the network I/O of one call with one server, and the
	// wait for a free connection when MaxConnsPerServer are busy. A context
	// deadline that comes earlier wins. Zero means DefaultTimeout.
	Timeout time.Duration
	// DialTimeout bounds connecting to a server (with the context's
	// deadline, if earlier). Zero means Timeout.
	DialTimeout time.Duration
	// MaxIdleConns is the number of idle connections kept per server for
	// reuse. Zero means DefaultMaxIdleConns; it is capped at
	// MaxConnsPerServer.
	MaxIdleConns int
	// MaxConnsPerServer bounds the connections in use per server; a call
	// that finds them all busy waits for one within its context and
	// Timeout. Zero means DefaultMaxConnsPerServer.
	MaxConnsPerServer int
	// MaxValueSize is the largest value the Client accepts in a reply; a
	// reply claiming more is an ErrProtocol error and its connection is
	// closed. Zero means DefaultMaxValueSize. Memory for a value is
	// allocated as its bytes arrive, never on the claim alone.
	MaxValueSize int
}

// healthReporter is what a selector implements to hear about failures; see
// Config.Selector.
type healthReporter interface {
	Report(addr net.Addr, err error)
}

// Client is a memcache.Backend speaking memcached's meta protocol over
// pooled connections. It is safe for concurrent use. See the package
// documentation.
type Client struct {
	cfg      Config
	selector gomemcache.ServerSelector
	reporter healthReporter

	mu     sync.RWMutex
	byAddr map[net.Addr]*server
	byName map[string]*server
}

// Client implements these interfaces of package memcache.
var (
	_ memcache.Backend       = (*Client)(nil)
	_ memcache.ItemSizeMaxer = (*Client)(nil)
	_ memcache.MultiSetter   = (*Client)(nil)
	_ memcache.MultiDeleter  = (*Client)(nil)
)

// NewClient returns a Client for cfg. It fails with memcache.ErrNoServers
// when cfg names no server, and with the resolver's error for a bad
// address. It opens no connection: they are dialed on first use.
func NewClient(cfg Config) (*Client, error) {
	sel := cfg.Selector
	if sel == nil {
		if len(cfg.Servers) == 0 {
			return nil, memcache.ErrNoServers
		}
		var sl gomemcache.ServerList
		if err := sl.SetServers(cfg.Servers...); err != nil {
			return nil, fmt.Errorf("meta: servers %q: %w", cfg.Servers, err)
		}
		sel = &sl
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = cfg.Timeout
	}
	if cfg.MaxConnsPerServer <= 0 {
		cfg.MaxConnsPerServer = DefaultMaxConnsPerServer
	}
	if cfg.MaxIdleConns <= 0 {
		cfg.MaxIdleConns = DefaultMaxIdleConns
	}
	cfg.MaxIdleConns = min(cfg.MaxIdleConns, cfg.MaxConnsPerServer)
	if cfg.MaxValueSize <= 0 {
		cfg.MaxValueSize = DefaultMaxValueSize
	}
	c := &Client{cfg: cfg, selector: sel, byAddr: map[net.Addr]*server{}, byName: map[string]*server{}}
	c.reporter, _ = sel.(healthReporter)
	return c, nil
}

// Close closes the idle connections, which ends their watcher goroutines
// (see the package documentation). The Client stays usable. A Client
// dropped without Close keeps its idle connections open.
func (c *Client) Close() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.byName {
		s.closeIdle()
	}
	return nil
}

// maxAddrKeys bounds the address cache, in case a selector hands out a new
// net.Addr value for every pick.
const maxAddrKeys = 1024

// serverFor returns the pool of addr, creating it on first use. Pools are
// found by the address value first (selectors return the same one each
// time, so this costs no allocation) and by its string otherwise.
func (c *Client) serverFor(addr net.Addr) *server {
	// An address of a type that cannot be a map key (a net.TCPAddr value,
	// say, with its IP slice) is found by its string only.
	keyable := reflect.TypeOf(addr).Comparable()
	if keyable {
		c.mu.RLock()
		s := c.byAddr[addr]
		c.mu.RUnlock()
		if s != nil {
			return s
		}
	}
	name := addr.Network() + "/" + addr.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.byName[name]
	if s == nil {
		s = newServer(addr, &c.cfg)
		c.byName[name] = s
	}
	if keyable && len(c.byAddr) < maxAddrKeys {
		c.byAddr[addr] = s
	}
	return s
}

// pick returns the pool of key's server.
func (c *Client) pick(key string) (*server, error) {
	addr, err := c.selector.PickServer(key)
	if err != nil {
		return nil, err
	}
	return c.serverFor(addr), nil
}

// reportGet tells the selector about a failure to get a connection to s:
// a failed dial counts, waiting in vain for a busy pool or for a context
// that ended does not, as neither says anything about the server.
func (c *Client) reportGet(ctx context.Context, s *server, err error) {
	if errors.Is(err, errPoolTimeout) || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
		return
	}
	c.report(s, err)
}

// report tells the selector how a call to s went.
func (c *Client) report(s *server, err error) {
	if c.reporter != nil {
		c.reporter.Report(s.addr, networkError(err))
	}
}

// networkError returns err if it says something about a server's health:
// nil for success and for the answers a healthy server gives.
func networkError(err error) error {
	if err == nil || memcache.IsCacheOutcome(err) {
		return nil
	}
	var se *ServerError
	if errors.As(err, &se) && se.Message == tooLarge {
		return nil
	}
	return err
}

// opError wraps a failure of a call in a *memcache.OpError, giving ctx's
// error when ctx ended the call, and leaves cache outcomes bare.
func opError(ctx context.Context, op, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, memcache.ErrCacheMiss), errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCASConflict):
		return err
	}
	var oe *memcache.OpError
	if errors.As(err, &oe) {
		return err
	}
	if ctxErr := endedBy(ctx, err); ctxErr != nil {
		return &memcache.OpError{Op: op, Key: key, Err: ctxErr}
	}
	var se *ServerError
	if errors.As(err, &se) && se.Message == tooLarge {
		return &memcache.OpError{Op: op, Key: key, Kind: memcache.ErrTooLarge, Err: err}
	}
	return &memcache.OpError{Op: op, Key: key, Err: err}
}

// endedBy returns ctx's error if ctx ended the call that failed with err,
// else nil. A call whose deadline came from ctx may time out an instant
// before ctx itself reports done: that timeout is ctx's deadline too.
func endedBy(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var ne net.Error
	if d, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// check is what every keyed call checks first: the context, then the key.
func check(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return &memcache.OpError{Op: op, Key: key, Err: err}
	}
	return memcache.KeyError(op, key)
}

func checkItem(ctx context.Context, op string, item *memcache.Item) error {
	if item == nil {
		return &memcache.OpError{Op: op, Err: errors.New("nil *Item")}
	}
	return check(ctx, op, item.Key)
}

// exchange runs one request and reply with key's server: write writes the
// request, read reads the reply. It returns the error of the exchange as
// read returns it (cache outcomes included); a connection that saw any
// other error, or that ctx interrupted, is closed.
func (c *Client) exchange(ctx context.Context, key string, write func(cn *conn), read func(cn *conn) error) error {
	s, err := c.pick(key)
	if err != nil {
		return err
	}
	cn, err := s.get(ctx)
	if err != nil {
		c.reportGet(ctx, s, err)
		return err
	}
	armed := cn.arm(ctx)
	write(cn)
	err = cn.w.Flush()
	if err == nil {
		err = read(cn)
	}
	c.finish(ctx, cn, armed, err)
	return err
}

// finish ends a call on cn: it disarms ctx's interrupt if the call was
// armed, returns cn to its pool, or closes it when the call's outcome
// leaves its state unknown, and reports the outcome to the selector.
func (c *Client) finish(ctx context.Context, cn *conn, armed bool, err error) {
	interrupted := armed && !cn.disarm()
	broken := interrupted || !reusable(err)
	cn.srv.put(cn, broken)
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		// The caller hung up: that says nothing about the server, and a
		// selector must not count it (ketama ignores context.Canceled).
		err = context.Canceled
	}
	c.report(cn.srv, err)
}

// reusable reports whether a connection is in a known state after a call
// that ended with err: only after success and plain cache outcomes.
func reusable(err error) bool {
	return err == nil || errors.Is(err, memcache.ErrCacheMiss) || errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCASConflict)
}

// cmd writes "cmd key".
func (cn *conn) cmd(cmd, key string) {
	cn.w.WriteString(cmd)
	cn.w.WriteByte(' ')
	cn.w.WriteString(key)
}

// flagInt writes " <f><n>"; flagUint likewise.
func (cn *conn) flagInt(f byte, n int64) {
	cn.w.WriteByte(' ')
	cn.w.WriteByte(f)
	cn.w.Write(strconv.AppendInt(cn.num[:0], n, 10))
}

func (cn *conn) flagUint(f byte, n uint64) {
	cn.w.WriteByte(' ')
	cn.w.WriteByte(f)
	cn.w.Write(strconv.AppendUint(cn.num[:0], n, 10))
}

// getFlags asks mg for the value, client flags, CAS token and key.
const getFlags = " v f c k"

// Get returns the item stored under key, or memcache.ErrCacheMiss.
func (c *Client) Get(ctx context.Context, key string) (*memcache.Item, error) {
	const op = "get"
	if err := check(ctx, op, key); err != nil {
		return nil, err
	}
	s, err := c.pick(key)
	if err != nil {
		return nil, opError(ctx, op, key, err)
	}
	cn, err := s.get(ctx)
	if err != nil {
		c.reportGet(ctx, s, err)
		return nil, opError(ctx, op, key, err)
	}
	// Written out rather than through exchange: closures would cost the
	// hot path allocations.
	armed := cn.arm(ctx)
	cn.cmd("mg", key)
	cn.w.WriteString(getFlags + "\r\n")
	var it *memcache.Item
	var won bool
	if err = cn.w.Flush(); err == nil {
		it, won, err = c.readItem(cn, key)
	}
	c.finish(ctx, cn, armed, err)
	if err != nil {
		return nil, opError(ctx, op, key, err)
	}
	if won {
		c.handBack(ctx, key, it.CAS)
	}
	return it, nil
}

// readItem reads the reply to an mg of key with getFlags, and reports
// whether it won a stale value's token (see handBack).
func (c *Client) readItem(cn *conn, key string) (*memcache.Item, bool, error) {
	rp, err := readReply(cn.r, c.cfg.MaxValueSize)
	if err != nil {
		return nil, false, err
	}
	switch rp.code {
	case codeEN:
		return nil, false, memcache.ErrCacheMiss
	case codeVA:
	default:
		return nil, false, protoErr(nil, "unexpected reply code to mg")
	}
	if err := checkHit(rp, key); err != nil {
		return nil, false, err
	}
	v, err := readValue(cn.r, rp.size)
	if err != nil {
		return nil, false, err
	}
	return &memcache.Item{Key: key, Value: v, Flags: rp.flags, CAS: rp.cas}, rp.won && rp.stale, nil
}

// handBack gives back the token of a stale value that a plain read (Get,
// GetMulti, Touch) won: memcached hands it to the first mg of any kind,
// and one that asked for no token reloads nothing, so kept it would leave
// the value stale, reloaded by no one, until its stale TTL ran out. It
// marks the value stale again (md with I) under the CAS token the read saw,
// which clears the token for the next reader through GetLease and leaves a
// value written since alone; the value gets a new CAS token, so the one
// the read returned no longer matches. A failure keeps the token taken, as
// it was: nothing worse.
func (c *Client) handBack(ctx context.Context, key string, cas uint64) {
	_ = c.simple(ctx, "invalidate", key, func(cn *conn) {
		cn.cmd("md", key)
		cn.w.WriteString(" I")
		cn.flagUint('C', cas)
		cn.w.WriteString("\r\n")
	})
}

// checkHit checks that a VA reply to an mg with getFlags is for key and
// carries the flags and token asked for.
func checkHit(rp reply, key string) error {
	if string(rp.key) != key {
		return &ProtocolError{Line: string(rp.key), Why: "reply for another key than " + strconv.Quote(key)}
	}
	if !rp.hasF || !rp.hasC {
		return protoErr(nil, "mg reply without the f and c flags asked for")
	}
	return nil
}

// Set stores item unconditionally. A value too large for the server is an
// error matching memcache.ErrTooLarge, and the server then deletes the
// value it held under the key, as the gomemcache Client's Set does.
func (c *Client) Set(ctx context.Context, item *memcache.Item) error {
	return c.store(ctx, "set", item, 'S')
}

// Add stores item only if its key holds nothing, else returns
// memcache.ErrNotStored.
func (c *Client) Add(ctx context.Context, item *memcache.Item) error {
	return c.store(ctx, "add", item, 'E')
}

// Replace stores item only if its key holds a value, else returns
// memcache.ErrNotStored.
func (c *Client) Replace(ctx context.Context, item *memcache.Item) error {
	return c.store(ctx, "replace", item, 'R')
}

// CompareAndSwap stores item only if the key's CAS token still equals
// item.CAS. It returns memcache.ErrCacheMiss when the key holds nothing and
// memcache.ErrCASConflict when the token differs.
func (c *Client) CompareAndSwap(ctx context.Context, item *memcache.Item) error {
	return c.store(ctx, "cas", item, 'C')
}

// store sends one ms in the given mode: S set, E add, R replace, or C for
// set with a CAS check.
func (c *Client) store(ctx context.Context, op string, item *memcache.Item, mode byte) error {
	if err := checkItem(ctx, op, item); err != nil {
		return err
	}
	if mode != 'S' {
		// memcached's ms drops the old value when a new one is too large
		// in every mode, where the text protocol's add, replace and cas
		// keep it: refuse those here first, so both clients agree.
		if err := c.checkSize(ctx, op, item); err != nil {
			return err
		}
	}
	err := c.exchange(ctx, item.Key, func(cn *conn) { cn.writeSet(item, mode, -1) }, func(cn *conn) error {
		rp, err := readReply(cn.r, c.cfg.MaxValueSize)
		if err != nil {
			return err
		}
		return storeOutcome(rp)
	})
	return opError(ctx, op, item.Key, err)
}

// writeSet writes an ms of item in mode, with O<opaque> when opaque >= 0.
func (cn *conn) writeSet(item *memcache.Item, mode byte, opaque int) {
	cn.cmd("ms", item.Key)
	cn.w.WriteByte(' ')
	cn.w.Write(strconv.AppendInt(cn.num[:0], int64(len(item.Value)), 10))
	if item.Expiration != 0 {
		cn.flagInt('T', int64(item.Expiration))
	}
	if item.Flags != 0 {
		cn.flagUint('F', uint64(item.Flags))
	}
	switch mode {
	case 'C':
		cn.flagUint('C', item.CAS)
	case 'E', 'R':
		cn.w.WriteString(" M")
		cn.w.WriteByte(mode)
	}
	if opaque >= 0 {
		cn.flagInt('O', int64(opaque))
	}
	cn.w.WriteString("\r\n")
	cn.w.Write(item.Value)
	cn.w.WriteString("\r\n")
}

// storeOutcome maps an ms reply to its error.
func storeOutcome(rp reply) error {
	switch rp.code {
	case codeHD:
		return nil
	case codeNS:
		return memcache.ErrNotStored
	case codeEX:
		return memcache.ErrCASConflict
	case codeNF:
		return memcache.ErrCacheMiss
	}
	return protoErr(nil, "unexpected reply code to ms")
}

// checkSize refuses a value larger than item's server accepts.
func (c *Client) checkSize(ctx context.Context, op string, item *memcache.Item) error {
	s, err := c.pick(item.Key)
	if err != nil {
		return opError(ctx, op, item.Key, err)
	}
	limit := s.sizeMax.Load()
	if limit == 0 {
		n, err := c.serverItemSizeMax(ctx, s)
		if err != nil {
			return opError(ctx, op, item.Key, err)
		}
		limit = int64(n)
	}
	if max := memcache.MaxValueLen(int(limit), item.Key, item.Flags); len(item.Value) > max {
		return &memcache.OpError{Op: op, Key: item.Key, Kind: memcache.ErrTooLarge,
			Err: fmt.Errorf("%d bytes, server %s takes at most %d under this key (item_size_max %d)", len(item.Value), s.addr, max, limit)}
	}
	return nil
}

// Delete removes key, or returns memcache.ErrCacheMiss when it holds
// nothing.
func (c *Client) Delete(ctx context.Context, key string) error {
	return c.simple(ctx, "delete", key, func(cn *conn) { cn.cmd("md", key); cn.w.WriteString("\r\n") })
}

// Touch sets key's expiration, with the rules of Item.Expiration, or
// returns memcache.ErrCacheMiss when it holds nothing. The token of a stale
// value it wins goes back at once (see Invalidate).
func (c *Client) Touch(ctx context.Context, key string, expiration int32) error {
	const op = "touch"
	if err := check(ctx, op, key); err != nil {
		return err
	}
	var won bool
	var cas uint64
	err := c.exchange(ctx, key, func(cn *conn) {
		cn.cmd("mg", key)
		cn.flagInt('T', int64(expiration))
		cn.w.WriteString(" c\r\n")
	}, func(cn *conn) error {
		rp, err := readReply(cn.r, c.cfg.MaxValueSize)
		if err != nil {
			return err
		}
		switch rp.code {
		case codeHD:
			won, cas = rp.won && rp.stale, rp.cas
			return nil
		case codeNF, codeEN:
			return memcache.ErrCacheMiss
		}
		return protoErr(nil, "unexpected reply code to mg")
	})
	if err == nil && won {
		c.handBack(ctx, key, cas)
	}
	return opError(ctx, op, key, err)
}

// Invalidate marks key's value stale instead of deleting it (md with I):
// the value stays readable for staleTTL seconds, readers through GetLease
// see Stale, and the first of them gets Won, the right to reload it, while
// the others get Pending. (On memcached a plain read wins that token too:
// Get, GetMulti and Touch give it back at once, so it goes to a reader
// through GetLease.) It returns memcache.ErrCacheMiss when key holds
// nothing. A staleTTL of 0 keeps the value's current expiration.
func (c *Client) Invalidate(ctx context.Context, key string, staleTTL int32) error {
	return c.simple(ctx, "invalidate", key, func(cn *conn) {
		cn.cmd("md", key)
		cn.w.WriteString(" I")
		if staleTTL != 0 {
			cn.flagInt('T', int64(staleTTL))
		}
		cn.w.WriteString("\r\n")
	})
}

// ReleaseLease gives up a lease won through GetLease without storing a
// value (the load failed, say): it deletes the placeholder, so the next
// caller wins at once instead of after LeaseTTL, but only while its CAS
// token is still cas (md with C), never a value someone stored since. It
// returns memcache.ErrCASConflict when the key changed and
// memcache.ErrCacheMiss when it holds nothing.
func (c *Client) ReleaseLease(ctx context.Context, key string, cas uint64) error {
	return c.simple(ctx, "delete", key, func(cn *conn) {
		cn.cmd("md", key)
		cn.flagUint('C', cas)
		cn.w.WriteString("\r\n")
	})
}

// simple runs a request whose reply is HD, NF or EN for a missing key, or EX
// for a CAS mismatch.
func (c *Client) simple(ctx context.Context, op, key string, write func(cn *conn)) error {
	if err := check(ctx, op, key); err != nil {
		return err
	}
	err := c.exchange(ctx, key, write, func(cn *conn) error {
		rp, err := readReply(cn.r, c.cfg.MaxValueSize)
		if err != nil {
			return err
		}
		switch rp.code {
		case codeHD:
			return nil
		case codeNF, codeEN:
			return memcache.ErrCacheMiss
		case codeEX:
			return memcache.ErrCASConflict
		}
		return protoErr(nil, "unexpected reply code")
	})
	return opError(ctx, op, key, err)
}

// Increment adds delta to the decimal number stored under key and returns
// the new value, wrapping at 2^64 as memcached does (ma). It returns
// memcache.ErrCacheMiss when key holds nothing and an error for a value
// that is not a number.
func (c *Client) Increment(ctx context.Context, key string, delta uint64) (uint64, error) {
	return c.arith(ctx, "incr", key, delta, false)
}

// Decrement subtracts delta from the number stored under key, stopping at
// zero as memcached does, and returns the new value.
func (c *Client) Decrement(ctx context.Context, key string, delta uint64) (uint64, error) {
	return c.arith(ctx, "decr", key, delta, true)
}

func (c *Client) arith(ctx context.Context, op, key string, delta uint64, decr bool) (uint64, error) {
	if err := check(ctx, op, key); err != nil {
		return 0, err
	}
	var n uint64
	err := c.exchange(ctx, key, func(cn *conn) {
		cn.cmd("ma", key)
		if decr {
			cn.w.WriteString(" MD")
		}
		cn.flagUint('D', delta)
		cn.w.WriteString(" v\r\n")
	}, func(cn *conn) error {
		rp, err := readReply(cn.r, 20)
		if err != nil {
			return err
		}
		switch rp.code {
		case codeNF:
			return memcache.ErrCacheMiss
		case codeVA:
		default:
			return protoErr(nil, "unexpected reply code to ma")
		}
		v, err := readValue(cn.r, rp.size)
		if err != nil {
			return err
		}
		var ok bool
		if n, ok = parseUint(v, 1<<64-1); !ok {
			return protoErr(v, "ma value is not a number")
		}
		return nil
	})
	return n, opError(ctx, op, key, err)
}

// ItemSizeMax reads item_size_max from "stats settings" on every server and
// returns the smallest, so a value that passes fits on whichever server its
// key maps to.
func (c *Client) ItemSizeMax(ctx context.Context) (int, error) {
	const op = "itemsizemax"
	if err := ctx.Err(); err != nil {
		return 0, &memcache.OpError{Op: op, Err: err}
	}
	smallest := 0
	err := c.selector.Each(func(addr net.Addr) error {
		n, err := c.serverItemSizeMax(ctx, c.serverFor(addr))
		if err != nil {
			return fmt.Errorf("server %s: %w", addr, err)
		}
		if smallest == 0 || n < smallest {
			smallest = n
		}
		return nil
	})
	if err == nil && smallest == 0 {
		err = memcache.ErrNoServers
	}
	if err != nil {
		return 0, opError(ctx, op, "", err)
	}
	return smallest, nil
}

// serverItemSizeMax asks s for its item_size_max and caches it.
func (c *Client) serverItemSizeMax(ctx context.Context, s *server) (int, error) {
	cn, err := s.get(ctx)
	if err != nil {
		c.reportGet(ctx, s, err)
		return 0, err
	}
	armed := cn.arm(ctx)
	// The buffered reader is empty between calls, so the stats reply can
	// be read from the connection directly.
	n, err := memcache.StatsItemSizeMax(cn.nc)
	c.finish(ctx, cn, armed, err)
	if err != nil {
		return 0, err
	}
	s.sizeMax.Store(int64(n))
	return n, nil
}
