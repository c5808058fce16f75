package meta

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"

	"github.com/leancache/leancache/memcache"
)

// inlineBatch is the largest pipeline written before its replies are read
// on the caller's goroutine. Beyond it a writer goroutine feeds the server
// while the caller reads, so that a server (or proxy) that stops reading
// while its replies go unread cannot leave both sides waiting on full
// socket buffers until the timeout. (memcached 1.6.18 itself buffers the
// replies of a 100,000-request batch without stalling.)
const inlineBatch = 64

// pipeline runs n pipelined requests on one connection to s: write writes
// them all, read reads every reply. See inlineBatch.
func (c *Client) pipeline(ctx context.Context, s *server, n int, write func(cn *conn), read func(cn *conn) error) error {
	cn, err := s.get(ctx)
	if err != nil {
		c.reportGet(ctx, s, err)
		return err
	}
	armed := cn.arm(ctx)
	if n <= inlineBatch {
		write(cn)
		if err = cn.w.Flush(); err == nil {
			err = read(cn)
		}
	} else {
		written := make(chan error, 1)
		go func() {
			write(cn)
			written <- cn.w.Flush()
		}()
		if err = read(cn); err != nil {
			cn.interrupt() // the writer may be blocked on a server that stopped reading
		}
		if werr := <-written; err == nil {
			err = werr
		}
	}
	c.finish(ctx, cn, armed, err)
	return err
}

// group maps each of n keys to its server's pool, as indexes per server. A
// key whose server cannot be picked gets the selector's error in failed.
func (c *Client) group(n int, key func(i int) string) (byServer map[*server][]int, failed map[int]error) {
	byServer = make(map[*server][]int)
	for i := range n {
		s, err := c.pick(key(i))
		if err != nil {
			if failed == nil {
				failed = make(map[int]error)
			}
			failed[i] = err
			continue
		}
		byServer[s] = append(byServer[s], i)
	}
	return byServer, failed
}

// eachServer runs fn for every server of byServer, concurrently when there
// are several. Every call ends with ctx, as its connection does, so
// eachServer never leaves a goroutine behind.
func eachServer(byServer map[*server][]int, fn func(s *server, idx []int)) {
	if len(byServer) == 1 {
		for s, idx := range byServer {
			fn(s, idx)
		}
		return
	}
	var wg sync.WaitGroup
	for s, idx := range byServer {
		wg.Go(func() { fn(s, idx) })
	}
	wg.Wait()
}

// serverError says which server failed, with ctx's error when ctx ended the
// call.
func serverError(ctx context.Context, addr net.Addr, err error) error {
	if ctxErr := endedBy(ctx, err); ctxErr != nil && !memcache.IsCacheOutcome(err) {
		err = ctxErr
	}
	return fmt.Errorf("server %s: %w", addr, err)
}

// GetMulti returns the items found among keys, in one pipelined batch per
// server (mg with q, k and O, ended by mn), all servers at once. An illegal
// key fails the whole call before any network I/O. A failing server costs
// only its own keys: the others' items come back together with the error,
// which names each failed server.
func (c *Client) GetMulti(ctx context.Context, keys []string) (map[string]*memcache.Item, error) {
	const op = "getmulti"
	if err := ctx.Err(); err != nil {
		return nil, &memcache.OpError{Op: op, Err: err}
	}
	for _, k := range keys {
		if err := memcache.KeyError(op, k); err != nil {
			return nil, err
		}
	}
	uniq := keys
	if hasDuplicates(keys) {
		uniq = slices.Compact(slices.Sorted(slices.Values(keys)))
	}
	byServer, failed := c.group(len(uniq), func(i int) string { return uniq[i] })
	var (
		mu   sync.Mutex
		m    = make(map[string]*memcache.Item, len(uniq))
		errs = make(map[string]error)
	)
	eachServer(byServer, func(s *server, idx []int) {
		got := make([]*memcache.Item, len(idx))
		var won []int // of got: stale values whose token the batch won
		err := c.pipeline(ctx, s, len(idx), func(cn *conn) {
			for j, i := range idx {
				cn.cmd("mg", uniq[i])
				cn.w.WriteString(getFlags + " q")
				cn.flagInt('O', int64(j))
				cn.w.WriteString("\r\n")
			}
			cn.w.WriteString("mn\r\n")
		}, func(cn *conn) error { return c.readItems(cn, uniq, idx, got, &won) })
		for _, j := range won {
			if got[j] != nil {
				c.handBack(ctx, got[j].Key, got[j].CAS)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		// Items read before a failure are whole and checked: keep them.
		for _, it := range got {
			if it != nil {
				m[it.Key] = it
			}
		}
		if err != nil {
			errs[s.addr.String()] = serverError(ctx, s.addr, err)
		}
	})
	var all []error
	if len(failed) > 0 {
		// One selector failure says it; the others are alike.
		i := slices.Min(slices.Collect(maps.Keys(failed)))
		all = append(all, fmt.Errorf("key %q: %w", uniq[i], failed[i]))
	}
	for _, name := range slices.Sorted(maps.Keys(errs)) {
		all = append(all, errs[name])
	}
	if len(all) > 0 {
		return m, &memcache.OpError{Op: op, Err: errors.Join(all...)}
	}
	return m, nil
}

// readItems reads the replies to a GetMulti batch: a VA per hit, named by
// its O index and checked against its k key, then MN. The indexes of the
// stale values whose token the batch won go to won (see handBack).
func (c *Client) readItems(cn *conn, keys []string, idx []int, got []*memcache.Item, won *[]int) error {
	for range len(idx) + 1 {
		rp, err := readReply(cn.r, c.cfg.MaxValueSize)
		if err != nil {
			return err
		}
		switch rp.code {
		case codeMN:
			return nil
		case codeEN:
			continue // q hides misses, but a miss is no harm
		case codeVA:
		default:
			return protoErr(nil, "unexpected reply code in an mg pipeline")
		}
		j := rp.opaque
		if j < 0 || j >= int64(len(idx)) || got[j] != nil {
			return protoErr(nil, fmt.Sprintf("reply with opaque %d matches no request", j))
		}
		key := keys[idx[j]]
		if err := checkHit(rp, key); err != nil {
			return err
		}
		v, err := readValue(cn.r, rp.size)
		if err != nil {
			return err
		}
		got[j] = &memcache.Item{Key: key, Value: v, Flags: rp.flags, CAS: rp.cas}
		if rp.won && rp.stale {
			*won = append(*won, int(j))
		}
	}
	return protoErr(nil, "more replies than requests in an mg pipeline")
}

func hasDuplicates(keys []string) bool {
	if len(keys) < 2 {
		return false
	}
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}

// SetMulti stores every item unconditionally, as Set does, in one pipelined
// batch per server (ms with O), all servers at once, and returns one error
// per item in the order of items, or nil when all were stored. See
// memcache.MultiSetter. Writing many items, the chunks of a large value
// among them, this way costs about one round trip per server instead of one
// per item.
func (c *Client) SetMulti(ctx context.Context, items []*memcache.Item) []error {
	const op = "set"
	errs := make([]error, len(items))
	var ok []int
	for i, it := range items {
		if errs[i] = checkItem(ctx, op, it); errs[i] == nil {
			ok = append(ok, i)
		}
	}
	byServer, failed := c.group(len(ok), func(j int) string { return items[ok[j]].Key })
	for j, err := range failed {
		errs[ok[j]] = opError(ctx, op, items[ok[j]].Key, err)
	}
	eachServer(byServer, func(s *server, idx []int) {
		// Once readOutcomes runs, every item gets its outcome there; a
		// pipeline that failed before (no connection, a failed write)
		// fails every item.
		read := false
		err := c.pipeline(ctx, s, len(idx), func(cn *conn) {
			for j, i := range idx {
				cn.writeSet(items[ok[i]], 'S', j)
			}
		}, func(cn *conn) error {
			read = true
			return c.readOutcomes(cn, len(idx), func(j int, err error) {
				i := ok[idx[j]]
				errs[i] = opError(ctx, op, items[i].Key, err)
			})
		})
		failUnread(err, read, idx, func(i int) { errs[ok[i]] = opError(ctx, op, items[ok[i]].Key, err) })
	})
	return nilIfAllNil(errs)
}

// DeleteMulti deletes every key, as Delete does, in one pipelined batch
// per server, and returns one error per key in the order of keys, or nil
// when all were deleted. See memcache.MultiDeleter.
func (c *Client) DeleteMulti(ctx context.Context, keys []string) []error {
	const op = "delete"
	errs := make([]error, len(keys))
	var ok []int
	for i, k := range keys {
		if errs[i] = check(ctx, op, k); errs[i] == nil {
			ok = append(ok, i)
		}
	}
	byServer, failed := c.group(len(ok), func(j int) string { return keys[ok[j]] })
	for j, err := range failed {
		errs[ok[j]] = opError(ctx, op, keys[ok[j]], err)
	}
	eachServer(byServer, func(s *server, idx []int) {
		read := false
		err := c.pipeline(ctx, s, len(idx), func(cn *conn) {
			for j, i := range idx {
				cn.cmd("md", keys[ok[i]])
				cn.flagInt('O', int64(j))
				cn.w.WriteString("\r\n")
			}
		}, func(cn *conn) error {
			read = true
			return c.readOutcomes(cn, len(idx), func(j int, err error) {
				i := ok[idx[j]]
				errs[i] = opError(ctx, op, keys[i], err)
			})
		})
		failUnread(err, read, idx, func(i int) { errs[ok[i]] = opError(ctx, op, keys[ok[i]], err) })
	})
	return nilIfAllNil(errs)
}

// failUnread gives every request of a batch a pipeline's error when the
// pipeline failed before its replies were read (no connection, a failed
// write), so that no request is reported done that never reached the
// server; once read, readOutcomes gave each request its own outcome.
func failUnread(err error, read bool, idx []int, fail func(i int)) {
	if err == nil || read {
		return
	}
	for _, i := range idx {
		fail(i)
	}
}

// readOutcomes reads the n in-order replies of an ms or md pipeline sent
// with O<j>, and hands each request's outcome to set. memcached answers a
// connection's requests in order, so a SERVER_ERROR (which carries no O)
// belongs to the next request; it still marks the connection for closing.
// After any other failure the rest of the stream cannot be trusted: every
// request not yet answered gets that failure.
func (c *Client) readOutcomes(cn *conn, n int, set func(j int, err error)) error {
	var kept error
	for j := range n {
		rp, err := readReply(cn.r, 0)
		var se *ServerError
		switch {
		case errors.As(err, &se) && !se.Client:
			set(j, err)
			kept = err
			continue
		case err == nil && rp.opaque != int64(j):
			err = protoErr(nil, fmt.Sprintf("reply with opaque %d where %d was due", rp.opaque, j))
		}
		if err != nil {
			for ; j < n; j++ {
				set(j, err)
			}
			return err
		}
		if err := storeOutcome(rp); err != nil && !errors.Is(err, ErrProtocol) {
			set(j, err)
			continue
		}
		if rp.code != codeHD {
			err = protoErr(nil, "unexpected reply code in a pipeline")
			for ; j < n; j++ {
				set(j, err)
			}
			return err
		}
	}
	return kept
}

func nilIfAllNil(errs []error) []error {
	for _, err := range errs {
		if err != nil {
			return errs
		}
	}
	return nil
}

// LeaseOptions and Lease are memcache's, so that the Client is a
// memcache.Leaser and a Store shares loads through it.
type (
	LeaseOptions = memcache.LeaseOptions
	Lease        = memcache.Lease
)

// GetLease reads key as Get does, with memcached's lease, stale and early
// refresh tokens (mg with N, R and t). Without LeaseTTL a miss is
// memcache.ErrCacheMiss; with it there is no miss, only a placeholder
// (Item nil) that one caller Won and the others see Pending. Store-level
// leases build on it: the winner loads and stores (CompareAndSwap under
// Lease.CAS, or Set), or calls ReleaseLease when the load fails; the others
// retry GetLease with a backoff until Item is set or they win.
func (c *Client) GetLease(ctx context.Context, key string, opts LeaseOptions) (Lease, error) {
	const op = "get"
	if err := check(ctx, op, key); err != nil {
		return Lease{}, err
	}
	var l Lease
	err := c.exchange(ctx, key, func(cn *conn) {
		cn.cmd("mg", key)
		cn.w.WriteString(getFlags + " t")
		if opts.LeaseTTL > 0 {
			cn.flagInt('N', int64(opts.LeaseTTL))
		}
		if opts.RefreshBelow > 0 {
			cn.flagInt('R', int64(opts.RefreshBelow))
		}
		cn.w.WriteString("\r\n")
	}, func(cn *conn) error {
		rp, err := readReply(cn.r, c.cfg.MaxValueSize)
		if err != nil {
			return err
		}
		switch rp.code {
		case codeEN:
			return memcache.ErrCacheMiss
		case codeVA:
		default:
			return protoErr(nil, "unexpected reply code to mg")
		}
		if err := checkHit(rp, key); err != nil {
			return err
		}
		l = Lease{TTL: int32(rp.ttl), CAS: rp.cas, Won: rp.won, Pending: rp.lost, Stale: rp.stale}
		v, err := readValue(cn.r, rp.size)
		if err != nil {
			return err
		}
		placeholder := opts.LeaseTTL > 0 && len(v) == 0 && rp.flags == 0 && !rp.stale && (rp.won || rp.lost)
		if !placeholder {
			l.Item = &memcache.Item{Key: key, Value: v, Flags: rp.flags, CAS: rp.cas}
		}
		return nil
	})
	if err != nil {
		return Lease{}, opError(ctx, op, key, err)
	}
	return l, nil
}

// PoolStats reports the connections of each server's pool, keyed by address:
// in use (or being dialed) and idle. It is meant for tests and monitoring
// of the pool limits.
func (c *Client) PoolStats() map[string]PoolStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]PoolStats, len(c.byName))
	for _, s := range c.byName {
		busy, idle := s.open()
		out[s.addr.String()] = PoolStats{InUse: busy, Idle: idle}
	}
	return out
}

// PoolStats counts one server's connections.
type PoolStats struct {
	// InUse is the connections held by calls, at most MaxConnsPerServer.
	InUse int
	// Idle is the connections kept for reuse, at most MaxIdleConns.
	Idle int
}
