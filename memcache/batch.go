package memcache

import (
	"context"
	"errors"
	"net"
)

// Optional Backend interfaces for calls on many items at once. A backend
// that can pipelined them (memcache/meta's Client) implements them natively;
// callers such as the Store check for them with a type assertion and fall
// back to one call per item otherwise. *Client and *Embedded implement them
// as loops, so a caller can use them uniformly.

// MultiSetter is implemented by backends that store many items in one
// batch.
type MultiSetter interface {
	// SetMulti stores every item unconditionally, as Set does, and
	// returns one error per item, in the order of items: nil where the item
	// was stored. The returned slice is nil when every item was stored, so
	// callers can test `errs == nil`; otherwise it has len(items) entries.
	// A nil *Item gets an *OpError, and an illegal key gets an error of
	// kind ErrMalformedKey, without affecting the other items.
	SetMulti(ctx context.Context, items []*Item) []error
}

// MultiDeleter is implemented by backends that delete many keys in one
// batch.
type MultiDeleter interface {
	// DeleteMulti deletes every key, as Delete does, and returns one error
	// per key in the order of keys (ErrCacheMiss for a key that held
	// nothing), or nil when every key was deleted.
	DeleteMulti(ctx context.Context, keys []string) []error
}

var (
	_ MultiSetter  = (*Client)(nil)
	_ MultiDeleter = (*Client)(nil)
	_ MultiSetter  = (*Embedded)(nil)
	_ MultiDeleter = (*Embedded)(nil)
)

// SetMultiLoop is SetMulti for any Backend: one Set per item. Once ctx is
// done, the remaining items fail at once with ctx's error.
func SetMultiLoop(ctx context.Context, b Backend, items []*Item) []error {
	return loop(len(items), func(i int) error { return b.Set(ctx, items[i]) })
}

// DeleteMultiLoop is DeleteMulti for any Backend: one Delete per key.
func DeleteMultiLoop(ctx context.Context, b Backend, keys []string) []error {
	return loop(len(keys), func(i int) error { return b.Delete(ctx, keys[i]) })
}

// loop runs n calls and collects their errors, nil when all succeeded.
func loop(n int, call func(i int) error) []error {
	var errs []error
	for i := range n {
		if err := call(i); err != nil {
			if errs == nil {
				errs = make([]error, n)
			}
			errs[i] = err
		}
	}
	return errs
}

// SetMulti stores items one Set at a time: gomemcache has no pipelined
// write. See MultiSetter.
func (c *Client) SetMulti(ctx context.Context, items []*Item) []error {
	return SetMultiLoop(ctx, c, items)
}

// DeleteMulti deletes keys one Delete at a time. See MultiDeleter.
func (c *Client) DeleteMulti(ctx context.Context, keys []string) []error {
	return DeleteMultiLoop(ctx, c, keys)
}

// SetMulti stores items one Set at a time. See MultiSetter.
func (e *Embedded) SetMulti(ctx context.Context, items []*Item) []error {
	return SetMultiLoop(ctx, e, items)
}

// DeleteMulti deletes keys one Delete at a time. See MultiDeleter.
func (e *Embedded) DeleteMulti(ctx context.Context, keys []string) []error {
	return DeleteMultiLoop(ctx, e, keys)
}

// KeyError returns nil for a key memcached accepts and otherwise the
// *OpError of kind ErrMalformedKey this package's backends return for op,
// saying what is wrong. It lets backends outside this package (memcache/meta)
// refuse keys exactly as the Client and the Embedded backend do.
func KeyError(op, key string) error { return checkKey(op, key) }

// IsCacheOutcome reports whether err is an answer a healthy server gives
// (a miss, not stored, a CAS conflict, an illegal key or a value too large)
// rather than a failure of the server or the network. A selector that
// steers keys away from failing servers should count only the others.
func IsCacheOutcome(err error) bool {
	for _, e := range [...]error{ErrCacheMiss, ErrNotStored, ErrCASConflict, ErrMalformedKey, ErrTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// StatsItemSizeMax sends "stats settings" on conn and returns the
// item_size_max the server reports, for backends outside this package that
// keep their own connections. conn must have no reply pending; the caller
// sets its deadline.
func StatsItemSizeMax(conn net.Conn) (int, error) { return parseItemSizeMax(conn) }

// MaxRelativeExpiration is the largest Item.Expiration memcached reads as
// seconds from now (30 days); larger values are absolute unix times.
const MaxRelativeExpiration = maxRelativeExpiration
