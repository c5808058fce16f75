package memcache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
)

// DefaultTimeout is the Client's default network timeout, gomemcache's.
const DefaultTimeout = gomemcache.DefaultTimeout

// ErrNoServers means there is no server to ask: NewClient's config names
// none, or the selector has none. It is gomemcache's own value, which
// gomemcache's ServerList and ketama's Selector return too, so one
// errors.Is check covers every source.
var ErrNoServers = gomemcache.ErrNoServers

// ClientConfig configures a [Client]. Zero fields take the documented
// defaults.
type ClientConfig struct {
	// Servers are the memcached addresses, host:port or a unix socket
	// path, picked per key as gomemcache does (crc32 of the key modulo the
	// number of servers).
	Servers []string
	// Selector, when set, picks the server for each key instead of
	// Servers.
	//
	// If it also has a method Report(addr net.Addr, err error), the Client
	// calls it after each call on a key with the address PickServer(key)
	// returns and the network-level outcome: nil on success and on cache
	// outcomes (miss, not stored, CAS conflict, value too large), the error
	// otherwise (refused connection, timeout, a broken reply). Report is
	// called from the goroutine that did the network call, which may
	// outlive its caller's context, so it must be safe for concurrent use
	// and should be quick. A selector can use it to steer keys away from a
	// failing server.
	Selector gomemcache.ServerSelector
	// Timeout bounds each network step (dial, write, read) of a call. Zero
	// means DefaultTimeout. It also bounds the work that goes on after a
	// caller's context ends a call early.
	Timeout time.Duration
	// MaxIdleConns is the number of idle connections kept per server. Zero
	// means gomemcache's DefaultMaxIdleConns (2); set it to at least the
	// expected peak of concurrent calls per server.
	MaxIdleConns int
}

// healthReporter is what a selector implements to hear about failures; see
// ClientConfig.Selector.
type healthReporter interface {
	Report(addr net.Addr, err error)
}

// Client is the Backend over real memcached servers, through gomemcache.
// It is safe for concurrent use.
//
// gomemcache takes no context, so each call whose context can end runs in
// its own goroutine and the caller returns with the context's error as soon
// as the context is done. That goroutine is the price of cancellation
// (about 10µs and 3 allocations a call on loopback); a context that can
// never end, such as context.Background(), runs the call on the caller's
// goroutine at gomemcache's own cost. (GetMulti asks each server on a
// goroutine of its own whatever the context, as gomemcache's does, so that
// a server that hangs costs only its own keys.) The abandoned network call
// then finishes on its own within the configured Timeout per network step; its outcome is only
// reported to the selector. Keys are checked before any network I/O, and
// the value of a write that may be abandoned is copied first, so the caller
// may reuse it at once. As with any network client, a write that ended
// early, by its context or by the timeout, may still take effect on the
// server.
type Client struct {
	mc       *gomemcache.Client
	selector gomemcache.ServerSelector
	reporter healthReporter // nil unless the selector reports
	timeout  time.Duration
}

// Client implements Backend and ItemSizeMaxer.
var (
	_ Backend       = (*Client)(nil)
	_ ItemSizeMaxer = (*Client)(nil)
)

// NewClient returns a Client for cfg. It fails with ErrNoServers when cfg
// names no server, and with the resolver's error for a bad address.
func NewClient(cfg ClientConfig) (*Client, error) {
	sel := cfg.Selector
	if sel == nil {
		if len(cfg.Servers) == 0 {
			return nil, ErrNoServers
		}
		var sl gomemcache.ServerList
		if err := sl.SetServers(cfg.Servers...); err != nil {
			return nil, fmt.Errorf("memcache: servers %q: %w", cfg.Servers, err)
		}
		sel = &sl
	}
	c := &Client{
		mc:       gomemcache.NewFromSelector(sel),
		selector: sel,
		timeout:  cfg.Timeout,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	c.mc.Timeout = c.timeout
	c.mc.MaxIdleConns = cfg.MaxIdleConns
	c.reporter, _ = sel.(healthReporter)
	return c, nil
}

// Close closes the idle connections. The Client stays usable.
func (c *Client) Close() error { return c.mc.Close() }

// Get returns the item stored under key, or ErrCacheMiss.
func (c *Client) Get(ctx context.Context, key string) (*Item, error) {
	var it *gomemcache.Item
	err := c.do(ctx, "get", key, func() (err error) {
		it, err = c.mc.Get(key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fromGomemcache(it), nil
}

// GetMulti returns the items found among keys, fetching from each server
// concurrently. An illegal key fails the whole call before any network I/O.
// A failing server costs only its own keys: the items of the others come
// back together with the error, which names each failed server. That holds
// for a server that hangs past ctx's deadline too: GetMulti returns when ctx
// is done with what the other servers answered by then.
func (c *Client) GetMulti(ctx context.Context, keys []string) (map[string]*Item, error) {
	const op = "getmulti"
	if err := ctxError(ctx, op, ""); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := checkKey(op, k); err != nil {
			return nil, err
		}
	}
	byAddr, errs := c.keysByServer(keys)
	// Each server is asked on its own goroutine and answers on the buffered
	// channel, so a server still hanging when ctx ends writes to nothing the
	// caller reads; its outcome only reaches the selector.
	type reply struct {
		addr net.Addr
		got  map[string]*gomemcache.Item
		err  error
	}
	replies := make(chan reply, len(byAddr))
	for addr, ks := range byAddr {
		go func() {
			got, err := c.mc.GetMulti(ks)
			if c.reporter != nil {
				c.reporter.Report(addr, networkError(err))
			}
			replies <- reply{addr, got, err}
		}()
	}
	m := make(map[string]*Item, len(keys))
wait:
	for range len(byAddr) {
		select {
		case r := <-replies:
			delete(byAddr, r.addr)
			for k, it := range r.got {
				m[k] = fromGomemcache(it)
			}
			if r.err != nil {
				errs = append(errs, serverError(r.addr, r.err))
			}
		case <-ctx.Done():
			// byAddr holds the servers yet to answer.
			for _, addr := range slices.SortedFunc(maps.Keys(byAddr), compareAddrs) {
				errs = append(errs, serverError(addr, ctx.Err()))
			}
			break wait
		}
	}
	if len(errs) == 0 {
		return m, nil
	}
	return m, mapError(op, "", errors.Join(errs...))
}

// keysByServer groups keys by the server the selector picks for each. A key
// whose server cannot be picked (down, say) is left out, not the whole call:
// the other servers' items still come back, and a server's one trial call
// after its retry delay still reaches it. The first such failure is
// returned, once, rather than one per key.
func (c *Client) keysByServer(keys []string) (map[net.Addr][]string, []error) {
	byAddr := make(map[net.Addr][]string)
	var errs []error
	for _, k := range keys {
		addr, err := c.selector.PickServer(k)
		if err != nil {
			if len(errs) == 0 {
				errs = append(errs, err)
			}
			continue
		}
		byAddr[addr] = append(byAddr[addr], k)
	}
	return byAddr, errs
}

// serverError says which server failed, as in "server 10.0.0.2:11211: ...".
func serverError(addr net.Addr, err error) error {
	return fmt.Errorf("server %s: %w", addr, err)
}

func compareAddrs(a, b net.Addr) int { return strings.Compare(a.String(), b.String()) }

// Set stores item unconditionally. A value too large for the server is an
// error matching ErrTooLarge, and the server then deletes the value it held
// under the key.
func (c *Client) Set(ctx context.Context, item *Item) error {
	return c.store(ctx, "set", item, c.mc.Set)
}

// Add stores item only if its key holds nothing, else returns ErrNotStored.
func (c *Client) Add(ctx context.Context, item *Item) error {
	return c.store(ctx, "add", item, c.mc.Add)
}

// Replace stores item only if its key holds a value, else returns
// ErrNotStored.
func (c *Client) Replace(ctx context.Context, item *Item) error {
	return c.store(ctx, "replace", item, c.mc.Replace)
}

// CompareAndSwap stores item only if the key's CAS token still equals
// item.CAS. It returns ErrCacheMiss when the key holds nothing and
// ErrCASConflict when the token differs.
func (c *Client) CompareAndSwap(ctx context.Context, item *Item) error {
	return c.store(ctx, "cas", item, c.mc.CompareAndSwap)
}

// Delete removes key, or returns ErrCacheMiss when it holds nothing.
func (c *Client) Delete(ctx context.Context, key string) error {
	return c.do(ctx, "delete", key, func() error { return c.mc.Delete(key) })
}

// Touch sets key's expiration, with the same rules as Item.Expiration, or
// returns ErrCacheMiss when the key holds nothing.
func (c *Client) Touch(ctx context.Context, key string, expiration int32) error {
	return c.do(ctx, "touch", key, func() error { return c.mc.Touch(key, expiration) })
}

func (c *Client) store(ctx context.Context, op string, item *Item, fn func(*gomemcache.Item) error) error {
	if err := checkItem(ctx, op, item); err != nil {
		return err
	}
	gi := &gomemcache.Item{
		Key:        item.Key,
		Value:      item.Value,
		Flags:      item.Flags,
		Expiration: item.Expiration,
		CasID:      item.CAS,
	}
	if ctx.Done() != nil {
		// The call may outlive this one if ctx ends first; it must not
		// read memory the caller is free to reuse by then.
		gi.Value = append([]byte(nil), item.Value...)
	}
	return c.call(ctx, op, item.Key, func() error { return fn(gi) })
}

// do runs fn, a gomemcache call on key, after checking ctx and key.
func (c *Client) do(ctx context.Context, op, key string, fn func() error) error {
	if err := checkCall(ctx, op, key); err != nil {
		return err
	}
	return c.call(ctx, op, key, fn)
}

// call runs fn, a gomemcache call on key, and reports its outcome to the
// selector.
func (c *Client) call(ctx context.Context, op, key string, fn func() error) error {
	return c.run(ctx, op, key, func() error {
		err := fn()
		if c.reporter != nil {
			if addr, perr := c.selector.PickServer(key); perr == nil {
				c.reporter.Report(addr, networkError(err))
			}
		}
		return err
	})
}

// run calls fn and returns its error in this package's terms, or returns
// ctx's error as soon as ctx is done, leaving fn to finish on its own.
func (c *Client) run(ctx context.Context, op, key string, fn func() error) error {
	if ctx.Done() == nil {
		// A context that can never end needs no goroutine.
		return mapError(op, key, fn())
	}
	done := make(chan error, 1) // buffered: an abandoned fn must not block
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return mapError(op, key, err)
	case <-ctx.Done():
		return &OpError{Op: op, Key: key, Err: ctx.Err()}
	}
}

// tooLargeReply is how memcached refuses a value over its item size limit;
// gomemcache passes it on only inside a plain string error.
const tooLargeReply = "SERVER_ERROR object too large for cache"

// mapError turns a gomemcache error into this package's.
func mapError(op, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gomemcache.ErrCacheMiss):
		return ErrCacheMiss
	case errors.Is(err, gomemcache.ErrNotStored):
		return ErrNotStored
	case errors.Is(err, gomemcache.ErrCASConflict):
		return ErrCASConflict
	case errors.Is(err, gomemcache.ErrMalformedKey):
		return &OpError{Op: op, Key: key, Kind: ErrMalformedKey, Err: err}
	case strings.Contains(err.Error(), tooLargeReply):
		return &OpError{Op: op, Key: key, Kind: ErrTooLarge, Err: err}
	}
	return &OpError{Op: op, Key: key, Err: err}
}

// networkError returns err if it says something about the server's health,
// and nil for success and for answers a healthy server gives.
func networkError(err error) error {
	switch {
	case err == nil,
		errors.Is(err, gomemcache.ErrCacheMiss),
		errors.Is(err, gomemcache.ErrNotStored),
		errors.Is(err, gomemcache.ErrCASConflict),
		errors.Is(err, gomemcache.ErrMalformedKey),
		strings.Contains(err.Error(), tooLargeReply):
		return nil
	}
	return err
}

func fromGomemcache(it *gomemcache.Item) *Item {
	return &Item{Key: it.Key, Value: it.Value, Flags: it.Flags, CAS: it.CasID}
}

// ItemSizeMax reads item_size_max from "stats settings" on every server and
// returns the smallest, so a value that passes fits on whichever server its
// key maps to.
func (c *Client) ItemSizeMax(ctx context.Context) (int, error) {
	const op = "itemsizemax"
	if err := ctxError(ctx, op, ""); err != nil {
		return 0, err
	}
	smallest := 0
	err := c.selector.Each(func(addr net.Addr) error {
		n, err := readItemSizeMax(ctx, addr, c.timeout)
		if err != nil {
			return serverError(addr, err)
		}
		if smallest == 0 || n < smallest {
			smallest = n
		}
		return nil
	})
	if err == nil && smallest == 0 {
		err = ErrNoServers
	}
	if err != nil {
		return 0, &OpError{Op: op, Err: err}
	}
	return smallest, nil
}
