package memcache

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/leancache/leancache/codec"
)

// A Store keeps values of type T in memcached: encoded by a codec that
// strips their cached properties, described in the item flags, marked with
// the fingerprint of T's wire schema, optionally compressed, and checked
// against the server's item size limit before any network I/O (or, with
// WithChunking, split over several items when it does not fit one), by the
// rules in the package documentation. Every call takes a context and
// returns when it is done, even on backends that cannot be interrupted.
//
// For struct types that hold cacheprop cells, use a pointer type
// (Store[*Product]): the cells must not be copied.
//
// A Store is safe for concurrent use.
type Store[T any] struct {
	backend     Backend
	handler     Handler
	direct      bool // no middleware: the hot paths call the backend themselves
	codec       codec.Codec
	codecID     uint32 // in the flags of what the store writes
	legacyID    uint32 // also read: what earlier versions wrote (see codecIDs)
	keys        keyMapper
	expiration  time.Duration
	compress    compressor
	itemSizeMax atomic.Int64
	topFields   int
	counters    storeCounters
	failClosed  bool
	onError     func(key string, err error)
	now         func() time.Time
	// fingerprinted: values carry fingerprint and must match it to be
	// read (format version 2).
	fingerprinted bool
	fingerprint   Fingerprint
	ownsOutput    bool // the codec's Marshal returns memory nobody else holds
	chunking      bool
	loadTimeout   time.Duration
	refreshAhead  time.Duration // WithRefreshAhead
	loads         loadGroup[T]
	obs           observer
	fresh         freshness     // WithTTLJitter, WithNegativeTTL
	loadsEnded    atomic.Uint64 // shared loads ended, see GetOrLoadMulti
	// WithInterop's profile (0: none), and WithOverwriteForeign.
	interop          Interop
	overwriteForeign bool
}

// NewStore returns a Store over b. A nil b means a new embedded backend
// (NewEmbedded with the default configuration): the zero-setup default for
// demos, unit tests and local development.
func NewStore[T any](b Backend, opts ...Option) (*Store[T], error) {
	cfg := storeConfig{codec: codec.JSON, now: time.Now, schema: defaultFingerprint}
	for _, opt := range opts {
		opt(&cfg)
	}
	if b == nil {
		b = NewEmbedded(EmbeddedConfig{})
	}
	if cfg.codec == nil {
		return nil, errors.New("memcache: NewStore: nil codec")
	}
	if err := cfg.fresh.check(); err != nil {
		return nil, err
	}
	ownsOutput := isPackageCodec(cfg.codec)
	if cfg.budget != nil {
		c, ok := codec.WithBudget(cfg.codec, *cfg.budget)
		if !ok {
			return nil, fmt.Errorf("memcache: NewStore: WithDecodeBudget cannot bound codec %s (%T)", cfg.codec.Name(), cfg.codec)
		}
		cfg.codec = c
	}
	keys, err := newKeyMapper(cfg.namespace, cfg.version)
	if err == nil && cfg.interop != 0 {
		keys, err = cfg.interopKeys(reflect.TypeFor[T](), keys)
	}
	if err != nil {
		return nil, err
	}
	var near *nearCache
	if cfg.near != nil {
		nc, err := cfg.near.resolved()
		if err != nil {
			return nil, err
		}
		near, b = newNearCache(b, nc, cfg.now, keys.prefix)
	}
	mws := cfg.middleware
	if cfg.counters != nil {
		mws = append([]Middleware{cfg.counters.Middleware()}, mws...)
	}
	next := chain(backendHandler(b), mws)
	s := &Store[T]{
		backend:    b,
		direct:     len(mws) == 0,
		codec:      cfg.codec,
		keys:       keys,
		expiration: cfg.expiration,
		compress:   cfg.compress,
		topFields:  cfg.topFields,
		failClosed: cfg.failClosed,
		onError:    cfg.onError,
		now:        cfg.now,
		chunking:   cfg.chunking,
		fresh:      cfg.fresh,
		interop:    cfg.interop,
		obs:        newObserver(cfg.recorder, StoreInfo{Name: cfg.name, Namespace: cfg.namespace, Codec: cfg.codec.Name()}, keys),
	}
	s.codecID, s.legacyID = codecID(cfg.codec)
	if cfg.schema {
		s.fingerprint, s.fingerprinted = codec.SchemaFingerprint(reflect.TypeFor[T](), cfg.codec)
		s.ownsOutput = ownsOutput
	}
	// Every request carries the store's counters, so that a Counters
	// middleware attached with WithMiddleware joins them too.
	s.handler = func(ctx context.Context, req *Request) (*Response, error) {
		req.counters = &s.counters
		return next(ctx, req)
	}
	if cfg.counters != nil {
		s.counters.join(cfg.counters)
	}
	if near != nil {
		near.obs = &s.obs
		// Counters see the store's events through WithCounters or, once a
		// request passed them, as middleware; a plain store has none.
		if !s.direct || cfg.counters != nil {
			near.counters = &s.counters
		}
		// Only the store sees its items then, and package codec's codecs
		// decode into memory of their own: the entries need no copy.
		near.share = s.direct && ownsOutput
	}
	s.itemSizeMax.Store(int64(cfg.itemSizeMax))
	s.loadTimeout, s.refreshAhead = cfg.loadTimeout, cfg.refresh
	s.overwriteForeign = cfg.overwriteForeign
	return s, nil
}

// isPackageCodec reports whether c is one of package codec's codecs, with
// or without a budget of its own: their Marshal returns a slice nobody else
// holds. Budgeted codecs are distinct values, so identity alone misses them;
// codec.WithBudget accepts exactly these.
func isPackageCodec(c codec.Codec) bool {
	switch c {
	case codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR:
		return true
	}
	_, ok := codec.WithBudget(c, codec.Budget{})
	return ok
}

// Fingerprint returns the fingerprint of T's wire schema that the store
// writes with every value and requires of every value it reads (WithInterop:
// in every key), and false if it uses none: without WithFingerprint, or with a codec whose wire
// schema it cannot describe (see codec.SchemaDescriber).
func (s *Store[T]) Fingerprint() (Fingerprint, bool) { return s.fingerprint, s.fingerprinted }

// Codec returns the store's codec.
func (s *Store[T]) Codec() codec.Codec { return s.codec }

// Key returns the memcached key the store uses for key: prefixed, and
// mapped to a digest if it would be illegal (see Keys in the package
// documentation); WithInterop, with the schema segment in the prefix,
// never mapped, and ErrMalformedKey if illegal.
func (s *Store[T]) Key(key string) (string, error) { return s.keys.storeKey(key) }

// LoadItemSizeMax reads the server's item_size_max (with `stats settings`
// on a real server) and makes the size guard use it from now on.
func (s *Store[T]) LoadItemSizeMax(ctx context.Context) error {
	m, ok := s.backend.(ItemSizeMaxer)
	if !ok {
		return errNoItemSizeMax(s.backend)
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

// errNoItemSizeMax is LoadItemSizeMax's error for a backend b that is no
// ItemSizeMaxer.
func errNoItemSizeMax(b Backend) error {
	return fmt.Errorf("memcache: backend %T cannot report its item size limit", b)
}

var errUnknownOp = errors.New("unknown operation")
