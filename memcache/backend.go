package memcache

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Item is one value as memcached holds it.
type Item struct {
	// Key is the item's key: 1 to 250 bytes, none of them a control
	// character, a space or DEL (memcached's rule).
	Key string
	// Value is the item's data.
	Value []byte
	// Flags are 32 opaque bits stored with the value. The Store records the
	// codec and compression of a value here.
	Flags uint32
	// Expiration follows memcached: 0 means never, up to 2592000 (30 days)
	// counts seconds from now, anything larger is an absolute unix time, and
	// a negative value means already expired. Get and GetMulti leave it
	// zero: memcached does not report it.
	Expiration int32
	// CAS is the compare-and-swap token returned by Get and GetMulti and
	// checked by CompareAndSwap.
	CAS uint64
}

// Backend is what a Store needs from memcached. Implementations must be safe
// for concurrent use and must honour ctx's deadline and cancellation.
//
// Errors: a missing key is ErrCacheMiss (Get, Delete, Touch,
// CompareAndSwap of a missing key); Add of an existing key and Replace of a
// missing one are ErrNotStored; CompareAndSwap with a stale token is
// ErrCASConflict; an illegal key is ErrMalformedKey; a value the server will
// not hold is ErrTooLarge. Other failures keep their cause.
type Backend interface {
	// Get returns the item stored under key.
	Get(ctx context.Context, key string) (*Item, error)
	// GetMulti returns the items found among keys; a missing key is simply
	// absent from the map. When some servers fail, it returns the items the
	// others gave together with the error, so one failing server does not
	// hide what the rest hold.
	GetMulti(ctx context.Context, keys []string) (map[string]*Item, error)
	// Set stores item unconditionally.
	Set(ctx context.Context, item *Item) error
	// Add stores item only if its key holds nothing.
	Add(ctx context.Context, item *Item) error
	// Replace stores item only if its key already holds a value.
	Replace(ctx context.Context, item *Item) error
	// CompareAndSwap stores item only if the key's value has not changed
	// since item.CAS was read.
	CompareAndSwap(ctx context.Context, item *Item) error
	// Delete removes key.
	Delete(ctx context.Context, key string) error
	// Touch changes key's expiration without fetching it.
	Touch(ctx context.Context, key string, expiration int32) error
}

// ItemSizeMaxer is implemented by backends that can tell their item size
// limit (memcached's item_size_max), so the size guard can check values
// against the real limit instead of the default one.
type ItemSizeMaxer interface {
	// ItemSizeMax returns the item size limit in bytes; with several
	// servers, the smallest.
	ItemSizeMax(ctx context.Context) (int, error)
}

// Errors reported by backends and stores; compare with errors.Is.
var (
	// ErrCacheMiss means the key holds no value.
	ErrCacheMiss = errors.New("memcache: cache miss")
	// ErrNotStored means an Add or Replace found its condition false.
	ErrNotStored = errors.New("memcache: item not stored")
	// ErrCASConflict means the value changed since its CAS token was read.
	ErrCASConflict = errors.New("memcache: compare-and-swap conflict")
	// ErrMalformedKey means a key is empty, longer than 250 bytes, or holds
	// a control character, a space or DEL.
	ErrMalformedKey = errors.New("memcache: malformed key")
	// ErrTooLarge means a value does not fit the server's item size limit.
	// The Store's size guard reports it as a *TooLargeError.
	ErrTooLarge = errors.New("memcache: value too large")
)

// MaxKeyLen is the longest key memcached accepts, in bytes.
const MaxKeyLen = 250

// ValidKey reports whether key is legal for memcached: 1 to MaxKeyLen bytes,
// none of them <= 0x20 (space and control characters) or 0x7f (DEL).
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// itemOverhead is the number of bytes memcached 1.6 adds to a key and value
// when it checks an item against its item_size_max (measured on 1.6.18 with
// zero flags); non-zero flags add flagsOverhead more.
const (
	itemOverhead  = 59
	flagsOverhead = 4
)

// DefaultItemSizeMax is memcached's default item size limit (-I 1m).
const DefaultItemSizeMax = 1 << 20

// MaxValueLen returns the largest value memcached with the given
// item_size_max accepts under key with the given flags: item_size_max less
// 59 bytes of overhead and the key, 4 less with non-zero flags (measured on
// memcached 1.6.18).
func MaxValueLen(itemSizeMax int, key string, flags uint32) int {
	n := itemSizeMax - itemOverhead - len(key)
	if flags != 0 {
		n -= flagsOverhead
	}
	return n
}

// An OpError is returned by the backends in this package for a failure that
// is not a plain cache outcome: an illegal key, a value that is too large, a
// done context, or a network or server failure. Cache outcomes (ErrCacheMiss,
// ErrNotStored, ErrCASConflict) are returned bare, as they are common and
// carry nothing more.
//
// errors.Is matches both Kind and Err, so a rejected oversized value is
// errors.Is(err, ErrTooLarge) while the server's own reply stays reachable
// through Err.
type OpError struct {
	// Op is the backend method, in lower case: "get", "getmulti", "set",
	// "add", "replace", "cas", "delete", "touch" or "itemsizemax".
	Op string
	// Key is the key concerned; empty for calls on several keys unless one
	// of them is to blame.
	Key string
	// Kind is the package error this failure counts as (ErrMalformedKey or
	// ErrTooLarge), or nil.
	Kind error
	// Err is the cause: the server's or the network's error, the context's
	// error, or a description of what is wrong with the key. It may be nil
	// when Kind says it all.
	Err error
}

// Error says what failed, on which key, and why, as in
// `memcache: set "k": value too large: ...`.
func (e *OpError) Error() string {
	var b strings.Builder
	b.WriteString("memcache: ")
	b.WriteString(e.Op)
	if e.Key != "" || e.Kind == ErrMalformedKey {
		b.WriteByte(' ')
		b.WriteString(quoteKey(e.Key))
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Kind.Error(), "memcache: "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Kind and Err, those that are set.
func (e *OpError) Unwrap() []error {
	errs := make([]error, 0, 2)
	for _, err := range [...]error{e.Kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// quotedKeyMax bounds how much of a key an error message quotes, so a huge
// illegal key cannot flood a log.
const quotedKeyMax = 64

// quoteKey quotes key for an error message, cut after quotedKeyMax bytes.
func quoteKey(key string) string {
	if len(key) <= quotedKeyMax {
		return fmt.Sprintf("%q", key)
	}
	return fmt.Sprintf("%q...(%d bytes)", key[:quotedKeyMax], len(key))
}

// checkKey returns nil for a legal key and otherwise an *OpError of kind
// ErrMalformedKey that says what is wrong, for op.
func checkKey(op, key string) error {
	if ValidKey(key) {
		return nil
	}
	var why error
	switch {
	case key == "":
		why = errors.New("empty key")
	case len(key) > MaxKeyLen:
		why = fmt.Errorf("%d bytes, more than %d", len(key), MaxKeyLen)
	default:
		i := strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f })
		why = fmt.Errorf("byte %#02x at offset %d", key[i], i)
	}
	return &OpError{Op: op, Key: key, Kind: ErrMalformedKey, Err: why}
}

// checkCall checks what every keyed call checks first, in memcached
// client order: the context, then the key.
func checkCall(ctx context.Context, op, key string) error {
	if err := ctxError(ctx, op, key); err != nil {
		return err
	}
	return checkKey(op, key)
}

// checkItem is checkCall for the calls that take an *Item.
func checkItem(ctx context.Context, op string, item *Item) error {
	if item == nil {
		return &OpError{Op: op, Err: errors.New("nil *Item")}
	}
	return checkCall(ctx, op, item.Key)
}

// ctxError returns an *OpError wrapping ctx's error once ctx is done, and
// nil before.
func ctxError(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return &OpError{Op: op, Key: key, Err: err}
	}
	return nil
}
