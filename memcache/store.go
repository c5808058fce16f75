package memcache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/leancache/leancache/codec"
)

// A Store keeps values of type T in memcached: encoded by a codec that
// strips their cached properties, described in the item flags, optionally
// compressed, and checked against the server's item size limit before any
// network I/O. Every call takes a context and returns when it is done, even
// on backends that cannot be interrupted.
//
// For struct types that hold cacheprop cells, use a pointer type
// (Store[*Product]): the cells must not be copied.
//
// A Store is safe for concurrent use.
type Store[T any] struct {
	backend     Backend
	handler     Handler
	codec       codec.Codec
	codecID     uint32
	keys        keyMapper
	expiration  time.Duration
	compress    compressor
	itemSizeMax atomic.Int64
	topFields   int
	counters    *Counters
	failClosed  bool
	onError     func(key string, err error)
	now         func() time.Time
	loads       flightGroup[T]
}

// An Option configures a Store.
type Option func(*storeConfig)

type storeConfig struct {
	codec       codec.Codec
	namespace   string
	version     string
	expiration  time.Duration
	compress    compressor
	itemSizeMax int
	topFields   int
	middleware  []Middleware
	counters    *Counters
	failClosed  bool
	onError     func(key string, err error)
	now         func() time.Time
}

// WithCodec sets the codec; the default is codec.JSON.
func WithCodec(c codec.Codec) Option { return func(o *storeConfig) { o.codec = c } }

// WithNamespace prefixes every key with namespace and version ("users:v2:"),
// so that stores sharing a server do not collide and a new version of a type
// can start afresh. Both must be printable ASCII without spaces.
func WithNamespace(namespace, version string) Option {
	return func(o *storeConfig) { o.namespace, o.version = namespace, version }
}

// WithExpiration sets how long written values live; zero (the default)
// means until evicted.
func WithExpiration(d time.Duration) Option { return func(o *storeConfig) { o.expiration = d } }

// WithCompression compresses encoded values of at least threshold bytes
// with S2 (zero means DefaultCompressThreshold) when that makes them
// smaller. Reads decompress whatever the flags say, with or without this
// option.
func WithCompression(threshold int) Option {
	return func(o *storeConfig) {
		if threshold <= 0 {
			threshold = DefaultCompressThreshold
		}
		o.compress.threshold = threshold
	}
}

// WithMaxDecodedSize bounds the size a compressed value may expand to on
// read; the default is DefaultMaxDecodedSize.
func WithMaxDecodedSize(n int) Option { return func(o *storeConfig) { o.compress.maxDecoded = n } }

// WithItemSizeMax sets the server's item_size_max for the size guard; the
// default is DefaultItemSizeMax (memcached's -I 1m). LoadItemSizeMax reads
// the real one from the server.
func WithItemSizeMax(n int) Option { return func(o *storeConfig) { o.itemSizeMax = n } }

// WithTopFields sets how many fields a TooLargeError lists (default 5).
func WithTopFields(n int) Option { return func(o *storeConfig) { o.topFields = n } }

// WithMiddleware adds middleware to the store's chain, the first outermost.
func WithMiddleware(mw ...Middleware) Option {
	return func(o *storeConfig) { o.middleware = append(o.middleware, mw...) }
}

// WithCounters counts the store's traffic in c: its middleware is added to
// the chain, and the store counts size-guard rejections in c.Rejected.
func WithCounters(c *Counters) Option { return func(o *storeConfig) { o.counters = c } }

// WithFailClosed makes GetOrLoad return a backend failure instead of
// answering from the loader. By default GetOrLoad fails open: when memcached
// is down or slow it loads, answers and reports the failure to the error
// handler, so the application keeps working without its cache.
func WithFailClosed() Option { return func(o *storeConfig) { o.failClosed = true } }

// WithErrorHandler sets a function told of the failures GetOrLoad absorbs
// when it fails open (a backend down, a value that would not decode or not
// fit). It is called with the caller's key.
func WithErrorHandler(f func(key string, err error)) Option {
	return func(o *storeConfig) { o.onError = f }
}

// NewStore returns a Store over b. A nil b means a new embedded backend
// (NewEmbedded with the default configuration): the zero-setup default for
// demos, unit tests and local development.
func NewStore[T any](b Backend, opts ...Option) (*Store[T], error) {
	cfg := storeConfig{codec: codec.JSON, now: time.Now}
	for _, opt := range opts {
		opt(&cfg)
	}
	if b == nil {
		b = NewEmbedded(EmbeddedConfig{})
	}
	if cfg.codec == nil {
		return nil, errors.New("memcache: NewStore: nil codec")
	}
	keys, err := newKeyMapper(cfg.namespace, cfg.version)
	if err != nil {
		return nil, err
	}
	mws := cfg.middleware
	if cfg.counters != nil {
		mws = append([]Middleware{cfg.counters.Middleware()}, mws...)
	}
	s := &Store[T]{
		backend:    b,
		handler:    chain(backendHandler(b), mws),
		codec:      cfg.codec,
		codecID:    codecID(cfg.codec),
		keys:       keys,
		expiration: cfg.expiration,
		compress:   cfg.compress,
		topFields:  cfg.topFields,
		counters:   cfg.counters,
		failClosed: cfg.failClosed,
		onError:    cfg.onError,
		now:        cfg.now,
	}
	s.itemSizeMax.Store(int64(cfg.itemSizeMax))
	return s, nil
}

// Codec returns the store's codec.
func (s *Store[T]) Codec() codec.Codec { return s.codec }

// Key returns the memcached key the store uses for key: prefixed, and
// mapped to a digest if it would be illegal (see the package's key rules).
func (s *Store[T]) Key(key string) (string, error) { return s.keys.storeKey(key) }

// LoadItemSizeMax reads the server's item_size_max (with `stats settings`
// on a real server) and makes the size guard use it from now on.
func (s *Store[T]) LoadItemSizeMax(ctx context.Context) error {
	m, ok := s.backend.(ItemSizeMaxer)
	if !ok {
		return fmt.Errorf("memcache: backend %T cannot report its item size limit", s.backend)
	}
	n, err := m.ItemSizeMax(ctx)
	if err != nil {
		return err
	}
	s.itemSizeMax.Store(int64(n))
	return nil
}

// SizeGuard returns the guard the store checks writes with.
func (s *Store[T]) SizeGuard() SizeGuard {
	return SizeGuard{ItemSizeMax: int(s.itemSizeMax.Load()), TopFields: s.topFields}
}

// Get returns the value stored under key, or an error: ErrCacheMiss if there
// is none, a *FormatError if it was written with another codec, a
// *DecodeError naming the key if its bytes do not decode, and the backend's
// failure otherwise.
func (s *Store[T]) Get(ctx context.Context, key string) (T, error) {
	it, err := s.getItem(ctx, key)
	if err != nil {
		var zero T
		return zero, err
	}
	return s.decode(key, it)
}

func (s *Store[T]) getItem(ctx context.Context, key string) (*Item, error) {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return nil, err
	}
	resp, err := s.handler(ctx, &Request{Op: OpGet, Keys: []string{k}})
	if err != nil {
		return nil, err
	}
	it := resp.Items[k]
	if it == nil {
		return nil, ErrCacheMiss
	}
	return it, nil
}

// GetMulti returns the values found among keys, by the caller's keys; a key
// with no value is absent from the map. Values that fail to decode are left
// out of the map and reported together in the error (errors.Join of their
// *FormatError or *DecodeError), so one bad value does not hide the others.
func (s *Store[T]) GetMulti(ctx context.Context, keys []string) (map[string]T, error) {
	byStoreKey := make(map[string]string, len(keys))
	storeKeys := make([]string, 0, len(keys))
	for _, key := range keys {
		k, err := s.keys.storeKey(key)
		if err != nil {
			return nil, err
		}
		if _, dup := byStoreKey[k]; !dup {
			storeKeys = append(storeKeys, k)
		}
		byStoreKey[k] = key
	}
	out := make(map[string]T, len(keys))
	if len(storeKeys) == 0 {
		return out, nil
	}
	resp, err := s.handler(ctx, &Request{Op: OpGetMulti, Keys: storeKeys})
	if err != nil {
		return nil, err
	}
	var errs []error
	for k, it := range resp.Items {
		key, ok := byStoreKey[k]
		if !ok {
			continue
		}
		v, err := s.decode(key, it)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[key] = v
	}
	return out, errors.Join(errs...)
}

// decode turns an item read under the caller's key into a value.
func (s *Store[T]) decode(key string, it *Item) (T, error) {
	var v T
	f := it.Flags
	if f>>24 != flagsMarker || f>>16&0xff != flagsVersion || f&0xff != s.codecID {
		return v, &FormatError{Key: key, Flags: f, Want: "with codec " + s.codec.Name(), Got: describeFlags(f)}
	}
	data := it.Value
	switch f >> 8 & 0xff {
	case compressNone:
	case compressS2:
		var err error
		if data, err = s.compress.decompress(data); err != nil {
			return v, &DecodeError{Key: key, Codec: s.codec.Name(), Err: err}
		}
	default:
		return v, &FormatError{Key: key, Flags: f, Want: "with codec " + s.codec.Name(), Got: fmt.Sprintf("with unknown compression %d", f>>8&0xff)}
	}
	if err := s.codec.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, &DecodeError{Key: key, Codec: s.codec.Name(), Err: err}
	}
	return v, nil
}

// encode turns a value into the item to write under the memcached key k,
// checked by the size guard.
func (s *Store[T]) encode(key, k string, v T) (*Item, error) {
	data, err := s.codec.Marshal(v)
	if err != nil {
		return nil, &EncodeError{Key: key, Codec: s.codec.Name(), Err: err}
	}
	comp := uint32(compressNone)
	if out, ok := s.compress.compress(data); ok {
		data, comp = out, compressS2
	}
	flags := makeFlags(s.codecID, comp)
	guard := s.SizeGuard()
	if len(data) > guard.Limit(k, flags) {
		if s.counters != nil {
			s.counters.Rejected.Add(1)
		}
		return nil, guard.Check(s.codec, key, k, len(data), flags, v)
	}
	return &Item{Key: k, Value: data, Flags: flags, Expiration: s.expirationAt(s.expiration)}, nil
}

// expirationAt converts a lifetime to memcached's expiration field: zero is
// never, up to 30 days relative seconds (rounded up, so a short lifetime is
// not zero), longer an absolute time, negative already expired.
func (s *Store[T]) expirationAt(d time.Duration) int32 {
	switch {
	case d == 0:
		return 0
	case d < 0:
		return -1
	case d <= maxRelativeExpiration*time.Second:
		return int32((d + time.Second - 1) / time.Second)
	default:
		return int32(s.now().Add(d).Unix())
	}
}

// Set stores v under key. An oversized value is refused with a
// *TooLargeError before any network I/O, and, as memcached itself does for a
// too-large set, the previous value under key is deleted so that no stale
// value outlives the write that failed.
func (s *Store[T]) Set(ctx context.Context, key string, v T) error {
	return s.write(ctx, OpSet, key, v, 0)
}

// Add stores v under key only if key holds no value; otherwise it returns
// ErrNotStored.
func (s *Store[T]) Add(ctx context.Context, key string, v T) error {
	return s.write(ctx, OpAdd, key, v, 0)
}

// Replace stores v under key only if key already holds a value; otherwise
// it returns ErrNotStored.
func (s *Store[T]) Replace(ctx context.Context, key string, v T) error {
	return s.write(ctx, OpReplace, key, v, 0)
}

func (s *Store[T]) write(ctx context.Context, op Op, key string, v T, cas uint64) error {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	it, err := s.encode(key, k, v)
	if err != nil {
		if op == OpSet && errors.Is(err, ErrTooLarge) {
			if derr := s.backend.Delete(ctx, k); derr != nil && !errors.Is(derr, ErrCacheMiss) {
				return errors.Join(err, derr)
			}
		}
		return err
	}
	it.CAS = cas
	_, err = s.handler(ctx, &Request{Op: op, Keys: []string{k}, Item: it})
	return err
}

// An Entry is a value read with its compare-and-swap token, for
// CompareAndSwap.
type Entry[T any] struct {
	Key   string // the caller's key
	Value T
	cas   uint64
}

// GetEntry is Get that also remembers the value's compare-and-swap token.
func (s *Store[T]) GetEntry(ctx context.Context, key string) (*Entry[T], error) {
	it, err := s.getItem(ctx, key)
	if err != nil {
		return nil, err
	}
	v, err := s.decode(key, it)
	if err != nil {
		return nil, err
	}
	return &Entry[T]{Key: key, Value: v, cas: it.CAS}, nil
}

// CompareAndSwap stores e.Value under e.Key only if the value has not
// changed since e was read by GetEntry: otherwise it returns ErrCASConflict,
// or ErrCacheMiss if the value is gone.
func (s *Store[T]) CompareAndSwap(ctx context.Context, e *Entry[T]) error {
	return s.write(ctx, OpCAS, e.Key, e.Value, e.cas)
}

// Delete removes key's value; ErrCacheMiss if there was none.
func (s *Store[T]) Delete(ctx context.Context, key string) error {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	_, err = s.handler(ctx, &Request{Op: OpDelete, Keys: []string{k}})
	return err
}

// Touch sets key's value to expire after d (zero: never) without reading
// it; ErrCacheMiss if there is none.
func (s *Store[T]) Touch(ctx context.Context, key string, d time.Duration) error {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	_, err = s.handler(ctx, &Request{Op: OpTouch, Keys: []string{k}, Expiration: s.expirationAt(d)})
	return err
}

// GetOrLoad returns the value under key, or on a miss calls load, stores
// its result and returns it. Concurrent callers for one key share one load.
// A load's error is returned to every caller sharing it and nothing is
// stored. A load runs to completion even if the caller that started it gives
// up, so the others (and the cache) still get its result; each caller waits
// only as long as its own ctx allows. If load panics, every caller waiting
// for it panics.
//
// A value that is there but will not decode (another codec, an older shape)
// is treated as a miss and overwritten. When the backend fails, GetOrLoad
// fails open by default: it answers from load without storing and reports
// the failure to the error handler; WithFailClosed returns the failure
// instead. It never returns a zero value as if it were data: a non-nil error
// always comes with the zero value.
func (s *Store[T]) GetOrLoad(ctx context.Context, key string, load func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	v, err := s.Get(ctx, key)
	if err == nil {
		return v, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return zero, err
	}
	store := true
	var fe *FormatError
	var de *DecodeError
	switch {
	case errors.Is(err, ErrCacheMiss):
	case errors.As(err, &fe), errors.As(err, &de):
		s.report(key, err)
	case errors.Is(err, ErrMalformedKey):
		return zero, err
	default:
		if s.failClosed {
			return zero, err
		}
		s.report(key, err)
		store = false // the backend is failing: don't wait on it twice
	}
	loadCtx := context.WithoutCancel(ctx)
	return s.loads.do(ctx, key, func() (T, error) {
		v, err := load(loadCtx)
		if err != nil {
			return v, err
		}
		if store {
			if err := s.Set(loadCtx, key, v); err != nil {
				if s.failClosed {
					return v, err
				}
				s.report(key, err)
			}
		}
		return v, nil
	})
}

func (s *Store[T]) report(key string, err error) {
	if s.onError != nil {
		s.onError(key, err)
	}
}

var errUnknownOp = errors.New("unknown operation")
