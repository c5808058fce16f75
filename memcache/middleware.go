package memcache

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Op names a backend operation as it passes through a middleware chain.
type Op string

// The operations a Store sends through its middleware chain.
const (
	OpGet      Op = "get"
	OpGetMulti Op = "getmulti"
	OpSet      Op = "set"
	OpAdd      Op = "add"
	OpReplace  Op = "replace"
	OpCAS      Op = "cas"
	OpDelete   Op = "delete"
	OpTouch    Op = "touch"

	// On a backend with leases (a Leaser), GetOrLoad reads through
	// OpGetLease, gives up a lease whose load failed with OpReleaseLease,
	// and Invalidate is OpInvalidate.
	OpGetLease     Op = "getlease"
	OpInvalidate   Op = "invalidate"
	OpReleaseLease Op = "releaselease"
)

// A Request is one backend operation on its way from a Store to its
// backend. Keys are memcached keys (prefixed and mapped, see the Store's key
// rules). Writes carry their encoded Item.
type Request struct {
	Op         Op
	Keys       []string // one key, except for OpGetMulti
	Item       *Item    // for OpSet, OpAdd, OpReplace, OpCAS
	Expiration int32    // for OpTouch; the stale TTL for OpInvalidate (see Leaser)
	// Lease is the tokens an OpGetLease asks for, and CAS the
	// placeholder's token for OpReleaseLease (see Leaser).
	Lease LeaseOptions
	CAS   uint64

	counters *storeCounters // of the Store that sent the request
}

// A Response is what a backend operation returned: the items read, for
// OpGet, OpGetMulti and OpGetLease. An OpGetMulti may answer with both
// items and an error, when some servers failed and others did not.
type Response struct {
	Items map[string]*Item
	// Lease is what an OpGetLease read, tokens included; its Item is in
	// Items too unless it is a lease placeholder (which stands for a
	// miss). A response to OpGetLease with only Items (from a middleware
	// that answers reads itself) reads as a value without tokens.
	Lease Lease
}

// lease returns what r says of an OpGetLease of key: its Lease, else a
// value without tokens from Items, else a miss.
func (r *Response) lease(key string) (Lease, error) {
	if r == nil {
		return Lease{}, ErrCacheMiss
	}
	if le := r.Lease; le.Item != nil || le.Won || le.Pending {
		return le, nil
	}
	it := r.Items[key]
	if it == nil {
		return Lease{}, ErrCacheMiss
	}
	return Lease{Item: it, TTL: -1, CAS: it.CAS}, nil
}

// A Handler performs a Request. The innermost handler of a Store's chain
// calls its backend.
type Handler func(ctx context.Context, req *Request) (*Response, error)

// A Middleware wraps a Handler, to observe or change what passes through.
// Middleware runs after encoding and the size guard on writes, and before
// decoding on reads, so it sees the exact bytes and flags on the wire.
type Middleware func(next Handler) Handler

// chain returns h wrapped in mws, the first outermost.
func chain(h Handler, mws []Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// backendHandler is the innermost handler: it calls b.
func backendHandler(b Backend) Handler {
	return func(ctx context.Context, req *Request) (*Response, error) {
		switch req.Op {
		case OpGet:
			it, err := b.Get(ctx, req.Keys[0])
			if err != nil {
				return nil, err
			}
			return &Response{Items: map[string]*Item{it.Key: it}}, nil
		case OpGetMulti:
			items, err := b.GetMulti(ctx, req.Keys)
			if err != nil && len(items) == 0 {
				return nil, err
			}
			return &Response{Items: items}, err // partial: some servers failed
		case OpSet:
			return nil, b.Set(ctx, req.Item)
		case OpAdd:
			return nil, b.Add(ctx, req.Item)
		case OpReplace:
			return nil, b.Replace(ctx, req.Item)
		case OpCAS:
			return nil, b.CompareAndSwap(ctx, req.Item)
		case OpDelete:
			return nil, b.Delete(ctx, req.Keys[0])
		case OpTouch:
			return nil, b.Touch(ctx, req.Keys[0], req.Expiration)
		case OpGetLease, OpInvalidate, OpReleaseLease:
			return leaseHandler(ctx, b, req)
		}
		return nil, &OpError{Op: string(req.Op), Err: errUnknownOp}
	}
}

// leaseHandler performs the lease operations, on a backend that has them.
func leaseHandler(ctx context.Context, b Backend, req *Request) (*Response, error) {
	l, ok := b.(Leaser)
	if !ok {
		return nil, &OpError{Op: string(req.Op), Key: req.Keys[0], Err: errNoLeases}
	}
	switch req.Op {
	case OpGetLease:
		le, err := l.GetLease(ctx, req.Keys[0], req.Lease)
		if err != nil {
			return nil, err
		}
		resp := &Response{Lease: le}
		if it := le.Item; it != nil && !isPlaceholder(it) {
			resp.Items = map[string]*Item{it.Key: it}
		}
		return resp, nil
	case OpInvalidate:
		return nil, l.Invalidate(ctx, req.Keys[0], req.Expiration)
	default:
		return nil, l.ReleaseLease(ctx, req.Keys[0], req.CAS)
	}
}

var errNoLeases = errors.New("backend has no leases (not a Leaser)")

// Counters counts what passes through a Store. Attach it with WithCounters,
// or put its Middleware in a store's chain with WithMiddleware (at the
// place of your choice among other middleware): either way it counts the
// same, the store's own events included. One Counters may serve several
// stores. Read the counts at any time, from any goroutine. Its zero value
// is ready.
type Counters struct {
	Hits         atomic.Int64 // keys found by get, getmulti and getlease
	Misses       atomic.Int64 // keys not found by get, getmulti and getlease (a lease placeholder is a miss)
	Writes       atomic.Int64 // set, add, replace and cas calls that succeeded
	BytesRead    atomic.Int64 // value bytes of the items found
	BytesWritten atomic.Int64 // value bytes of the items written
	Errors       atomic.Int64 // calls that failed with anything but a miss, not-stored or CAS conflict
	Rejected     atomic.Int64 // writes refused by the size guard, before the network (counted by the Store itself)

	// The Store itself counts these, in every Counters attached with
	// WithCounters or met in its chain (one met later is credited with the
	// store's earlier events). The ones above count items on the wire, so
	// a value found but written under another schema is one hit in Hits
	// and one in SchemaMisses, and every chunk a read fetches is a hit or
	// a miss of its own.

	// SchemaMisses counts values found but read as misses because they
	// were written under another schema fingerprint (or without one).
	SchemaMisses atomic.Int64
	// ChunkedWrites counts values written in chunks (see WithChunking).
	ChunkedWrites atomic.Int64
	// ChunkedReads counts chunked values read whole.
	ChunkedReads atomic.Int64
	// ChunkMisses counts chunked values read as misses because a chunk
	// was gone or did not belong to the index.
	ChunkMisses atomic.Int64
	// OverBudget counts values read as errors because reading them would
	// exceed the read path's budget (see the package documentation):
	// their *DecodeError satisfies errors.Is(err, codec.ErrBudget).
	OverBudget atomic.Int64
	// ForeignKept counts values GetOrLoad found, could not read and left
	// in place because another program wrote them (see
	// WithOverwriteForeign); it answered from the loader.
	ForeignKept atomic.Int64
	// NearHits counts keys served by the near cache (WithNearCache)
	// without a call to the backend; Hits counts them too.
	NearHits atomic.Int64
}

// Middleware returns the middleware that updates c. In a store's chain
// (WithMiddleware) it also makes c one of the Counters the store counts
// its own events in, from the first request that passes through it,
// credited with those the store counted before.
func (c *Counters) Middleware() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, req *Request) (*Response, error) {
			if req.counters != nil {
				req.counters.join(c)
			}
			resp, err := next(ctx, req)
			switch {
			case err == nil:
			case isCacheOutcome(err):
				if (req.Op == OpGet || req.Op == OpGetLease) && errors.Is(err, ErrCacheMiss) {
					c.Misses.Add(1)
				}
				return resp, err
			default:
				c.Errors.Add(1)
				return resp, err
			}
			switch req.Op {
			case OpGet, OpGetMulti, OpGetLease:
				found := 0
				if resp != nil {
					found = len(resp.Items)
					for _, it := range resp.Items {
						c.BytesRead.Add(int64(len(it.Value)))
					}
				}
				c.Hits.Add(int64(found))
				c.Misses.Add(int64(len(req.Keys) - found))
			case OpSet, OpAdd, OpReplace, OpCAS:
				c.Writes.Add(1)
				c.BytesWritten.Add(int64(len(req.Item.Value)))
			}
			return resp, err
		}
	}
}

// isCacheOutcome reports whether err is an answer of the cache rather than a
// failure.
func isCacheOutcome(err error) bool {
	return errors.Is(err, ErrCacheMiss) || errors.Is(err, ErrNotStored) || errors.Is(err, ErrCASConflict)
}

// redact renders err for a log without the key an *OpError carries.
func redact(err error) string {
	var op *OpError
	if errors.As(err, &op) && op.Key != "" {
		c := *op
		c.Key = ""
		return c.Error()
	}
	return err.Error()
}

// Logging returns a middleware that logs every operation at debug level and
// every failure (not a miss) at warn level to l: the operation, how many
// keys, value sizes, duration and error. It never logs keys or values: keys
// can be session tokens.
func Logging(l *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, req *Request) (*Response, error) {
			start := time.Now()
			resp, err := next(ctx, req)
			attrs := []slog.Attr{
				slog.String("op", string(req.Op)),
				slog.Int("keys", len(req.Keys)),
				slog.Duration("took", time.Since(start)),
			}
			if req.Item != nil {
				attrs = append(attrs, slog.Int("bytes", len(req.Item.Value)))
			}
			if resp != nil {
				attrs = append(attrs, slog.Int("found", len(resp.Items)))
			}
			level := slog.LevelDebug
			if err != nil && !isCacheOutcome(err) {
				level = slog.LevelWarn
				attrs = append(attrs, slog.String("error", redact(err)))
			}
			l.LogAttrs(ctx, level, "memcache", attrs...)
			return resp, err
		}
	}
}
