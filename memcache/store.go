package memcache

import (
	"cmp"
	"context"
	"encoding/binary"
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
// WithChunking, split over several items when it does not fit one). Every call takes a context and returns when it is done, even
// on backends that cannot be interrupted.
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
	// fingerprinted: values carry fingerprint and must match it to be
	// read (format version 2).
	fingerprinted bool
	fingerprint   Fingerprint
	ownsOutput    bool // the codec's Marshal returns memory nobody else holds
	chunking      bool
	loadTimeout   time.Duration
	loads         loadGroup[T]
}

// An Option configures a Store.
type Option func(*storeConfig)

type storeConfig struct {
	codec       codec.Codec
	namespace   string
	version     string
	expiration  time.Duration
	compress    compressor
	budget      *codec.Budget // WithDecodeBudget
	itemSizeMax int
	topFields   int
	middleware  []Middleware
	counters    *Counters
	failClosed  bool
	onError     func(key string, err error)
	now         func() time.Time
	schema      bool
	chunking    bool
	loadTimeout time.Duration
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

// WithMaxDecodedSize bounds the size a value may expand to on read, and
// what the store writes in chunks; the default is DefaultMaxDecodedSize.
func WithMaxDecodedSize(n int) Option { return func(o *storeConfig) { o.compress.maxDecoded = n } }

// WithMaxCompressionRatio bounds how many times its compressed size a
// value may expand to on read; the default is DefaultMaxCompressionRatio.
// The store writes compressed only what it can read back under it: a value
// that compresses better is written as it is.
func WithMaxCompressionRatio(r int) Option { return func(o *storeConfig) { o.compress.maxRatio = r } }

// WithDecodeBudget bounds what decoding one value costs the store's codec
// (see codec.Budget; the codecs' default budget applies without it). It
// wraps the codec with codec.WithBudget, so the codec must be one of
// package codec's: NewStore refuses any other rather than leave it
// unbounded.
func WithDecodeBudget(b codec.Budget) Option { return func(o *storeConfig) { o.budget = &b } }

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

// WithFingerprint, the default, marks every value the store writes with
// the fingerprint of T's wire schema under its codec (see Fingerprint and
// WireSchema), and
// reads a value written under another fingerprint, or without one, as a
// miss: Get returns a *FormatError for which errors.Is(err, ErrCacheMiss)
// holds, GetOrLoad reloads and overwrites it, GetMulti leaves it out, and
// Counters.SchemaMisses counts it. So a deploy that changes T's shape on
// the wire (a field added, removed, renamed or retyped) starts afresh
// instead of decoding old bytes into the new shape, and one that does not
// (a cached property added, fields reordered) keeps its cache. Values
// written before the option was on carry no fingerprint and read as misses
// once.
//
// A codec whose wire schema the store cannot describe (see
// SchemaDescriber) gets no fingerprint: its values are written as
// WithoutFingerprint writes them.
func WithFingerprint() Option { return func(o *storeConfig) { o.schema = true } }

// WithoutFingerprint turns schema fingerprints off, for users who manage
// versions by hand (with WithNamespace's version, say): values are written
// without one (format version 1, exactly as before fingerprints existed),
// and values are read whatever fingerprint they carry.
func WithoutFingerprint() Option { return func(o *storeConfig) { o.schema = false } }

// defaultFingerprint is whether stores fingerprint values without being
// told: yes, so a deploy that changes a type's wire shape never decodes old
// bytes into the new one unless its owner says WithoutFingerprint.
const defaultFingerprint = true

// WithChunking stores values that do not fit one item, even compressed, in
// chunks: pieces under keys of their own, written first, then an index
// item under the value's key that names them with a random token (see
// chunk.go for the format). A read fetches the index, checks it, then the
// chunks in multi-gets of at most 64 keys (see the package documentation
// on the read path's budget); a chunk that is missing (evicted, expired)
// or belongs to another write makes the value a miss, so readers never see
// a torn or mixed value. Without it, such a value is refused with a *TooLargeError.
//
// With chunking, a value is refused only beyond the store's maximum
// decoded size (WithMaxDecodedSize, DefaultMaxDecodedSize by default),
// which readers would refuse. Touch reads the item first, to touch a
// chunked value's chunks too; Delete removes the index only, which makes
// the value a miss at once, and leaves the chunks to eviction. Reads
// assemble chunked values with or without this option.
func WithChunking() Option { return func(o *storeConfig) { o.chunking = true } }

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
	ownsOutput := isPackageCodec(cfg.codec)
	if cfg.budget != nil {
		c, ok := codec.WithBudget(cfg.codec, *cfg.budget)
		if !ok {
			return nil, fmt.Errorf("memcache: NewStore: WithDecodeBudget cannot bound codec %s (%T)", cfg.codec.Name(), cfg.codec)
		}
		cfg.codec = c
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
		direct:     len(mws) == 0,
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
		chunking:   cfg.chunking,
	}
	if cfg.schema {
		s.fingerprint, s.fingerprinted = codec.SchemaFingerprint(reflect.TypeFor[T](), cfg.codec)
		s.ownsOutput = ownsOutput
	}
	s.itemSizeMax.Store(int64(cfg.itemSizeMax))
	s.loadTimeout = cfg.loadTimeout
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
// writes with every value and requires of every value it reads, and false
// if it uses none: without WithFingerprint, or with a codec whose wire
// schema it cannot describe (see SchemaDescriber).
func (s *Store[T]) Fingerprint() (Fingerprint, bool) { return s.fingerprint, s.fingerprinted }

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
// is none (or it was chunked and a chunk is gone), a *FormatError if it was
// written with another codec (or under another schema fingerprint, see
// WithFingerprint: then errors.Is(err, ErrCacheMiss) holds too), a
// *DecodeError naming the key if its bytes do not decode, and the
// backend's failure otherwise.
func (s *Store[T]) Get(ctx context.Context, key string) (T, error) {
	k, it, err := s.getItem(ctx, key)
	if err != nil {
		var zero T
		return zero, err
	}
	return s.read(ctx, key, k, it)
}

// read decodes an item read under the caller's key and the memcached key
// k, fetching its chunks if it is the index of a chunked value.
func (s *Store[T]) read(ctx context.Context, key, k string, it *Item) (T, error) {
	kind, comp, body, err := s.open(key, it)
	if err != nil {
		var zero T
		return zero, err
	}
	if kind == kindIndex {
		x, err := s.parseIndex(key, body)
		if err != nil {
			var zero T
			return zero, err
		}
		if body, err = s.fetchChunks(ctx, k, x); err != nil {
			var zero T
			return zero, err
		}
	}
	return s.decodePayload(key, comp, body)
}

// getItem reads the item under key, and returns it with its memcached key.
func (s *Store[T]) getItem(ctx context.Context, key string) (string, *Item, error) {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return "", nil, err
	}
	if s.direct {
		it, err := s.backend.Get(ctx, k)
		if err != nil {
			return "", nil, err
		}
		return k, it, nil
	}
	resp, err := s.handler(ctx, &Request{Op: OpGet, Keys: []string{k}})
	if err != nil {
		return "", nil, err
	}
	it := resp.items()[k]
	if it == nil {
		return "", nil, ErrCacheMiss
	}
	return k, it, nil
}

// items returns the items of r, which may be nil.
func (r *Response) items() map[string]*Item {
	if r == nil {
		return nil
	}
	return r.Items
}

// GetMulti returns the values found among keys, by the caller's keys; a key
// with no value is absent from the map. Values that fail to decode are left
// out of the map and reported together in the error (errors.Join of their
// *FormatError or *DecodeError), so one bad value does not hide the others;
// so are the keys of a failing server when the backend answered for the
// others.
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
	if err != nil && len(resp.items()) == 0 {
		return nil, err
	}
	// A backend error with items is a partial answer (a server down among
	// several): keep what came back and report the error with the rest.
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	type chunked struct {
		key, k string
		comp   uint32
		index  chunkIndex
	}
	var pending []chunked
	// decoded puts the value of key, whose payload body reading returned
	// with err, in out, or its error in errs (a miss in neither).
	decoded := func(key string, comp uint32, body []byte, err error) {
		var v T
		if err == nil {
			v, err = s.decodePayload(key, comp, body)
		}
		if err != nil {
			if !errors.Is(err, ErrCacheMiss) {
				errs = append(errs, err)
			}
			return
		}
		out[key] = v
	}
	for k, it := range resp.items() {
		key, ok := byStoreKey[k]
		if !ok {
			continue
		}
		kind, comp, body, err := s.open(key, it)
		if err == nil && kind == kindIndex {
			var x chunkIndex
			if x, err = s.parseIndex(key, body); err == nil {
				pending = append(pending, chunked{key, k, comp, x})
				continue
			}
		}
		decoded(key, comp, body, err)
	}
	// The chunks of the chunked values found: those of values with few
	// chunks together, chunkBatch keys at most per multi-get, and each
	// value with more on its own, in batches (see fetchChunks).
	for len(pending) > 0 {
		if int(pending[0].index.count) > chunkBatch {
			p := pending[0]
			pending = pending[1:]
			body, err := s.fetchChunks(ctx, p.k, p.index)
			if err != nil && !isCacheOutcome(err) {
				return nil, err
			}
			decoded(p.key, p.comp, body, err)
			continue
		}
		var batch []chunked
		var keys []string
		for len(pending) > 0 && int(pending[0].index.count) <= chunkBatch-len(keys) {
			p := pending[0]
			pending = pending[1:]
			batch = append(batch, p)
			keys = p.index.appendKeys(keys, s.keys.prefix, p.k, 0, int(p.index.count))
		}
		resp, err := s.handler(ctx, &Request{Op: OpGetMulti, Keys: keys})
		if err != nil {
			return nil, err
		}
		for _, p := range batch {
			n := int(p.index.count)
			a := s.newAssembly(p.index)
			a.add(keys[:n], resp.items())
			keys = keys[n:]
			body, err := s.assembled(a)
			decoded(p.key, p.comp, body, err)
		}
	}
	return out, errors.Join(errs...)
}

// open checks an item read under the caller's key: its flags, then its
// fingerprint. It returns the item's kind, the compression of its payload,
// and its value after the fingerprint. A value written under another
// fingerprint, or without one, is a miss (counted) when the store
// fingerprints its values.
func (s *Store[T]) open(key string, it *Item) (kind, comp uint32, body []byte, err error) {
	f := it.Flags
	v := flagsVersionOf(f)
	kind, comp = flagsKind(f), flagsCompression(f)
	if f>>24 != flagsMarker || v != flagsVersion && v != flagsV2 || f&0xff != s.codecID || kind != kindValue && kind != kindIndex {
		return 0, 0, nil, &FormatError{Key: key, Flags: f, Want: "with codec " + s.codec.Name(), Got: describeFlags(f)}
	}
	if comp != compressNone && comp != compressS2 {
		return 0, 0, nil, &FormatError{Key: key, Flags: f, Want: "with codec " + s.codec.Name(), Got: fmt.Sprintf("with unknown compression %d", comp)}
	}
	body = it.Value
	if v == flagsV2 {
		cut := len(body) - trailerLen
		if cut < 0 || int64(binary.BigEndian.Uint32(body[cut:])) != int64(cut) {
			return 0, 0, nil, &DecodeError{Key: key, Codec: s.codec.Name(), Err: errTrailer}
		}
		fp := Fingerprint(binary.BigEndian.Uint64(body[cut+4:]))
		body = body[:cut:cut]
		if s.fingerprinted && fp != s.fingerprint {
			return 0, 0, nil, s.schemaMiss(key, f, "under schema fingerprint "+fp.String())
		}
	} else if s.fingerprinted {
		return 0, 0, nil, s.schemaMiss(key, f, "without a schema fingerprint")
	}
	return kind, comp, body, nil
}

// schemaMiss counts a value of another schema and returns the miss it
// reads as.
func (s *Store[T]) schemaMiss(key string, flags uint32, got string) error {
	if s.counters != nil {
		s.counters.SchemaMisses.Add(1)
	}
	return &FormatError{Key: key, Flags: flags, Want: "under schema fingerprint " + s.fingerprint.String(), Got: got, schema: true}
}

// parseIndex reads the index of a chunked value, and checks it against
// its own length, the store's chunk capacity and maximum decoded size
// before any chunk is fetched.
func (s *Store[T]) parseIndex(key string, body []byte) (chunkIndex, error) {
	x, err := parseChunkIndex(body)
	if err == nil {
		err = x.check(chunkCapacity(int(s.itemSizeMax.Load())), s.maxDecodedSize())
	}
	if err != nil {
		return x, s.decodeError(key, err)
	}
	return x, nil
}

// newAssembly starts joining the chunks of x.
func (s *Store[T]) newAssembly(x chunkIndex) *assembly {
	return &assembly{index: x, codecID: s.codecID}
}

// fetchChunks reads the chunks of the chunked value under store key k,
// chunkBatch at a time, and stops at the first batch that shows a chunk
// gone or the index false: a forged index costs one batch.
func (s *Store[T]) fetchChunks(ctx context.Context, k string, x chunkIndex) ([]byte, error) {
	a := s.newAssembly(x)
	var keys []string
	for from := 0; from < int(x.count) && a.ok(); from += chunkBatch {
		keys = x.appendKeys(keys[:0], s.keys.prefix, k, from, min(from+chunkBatch, int(x.count)))
		resp, err := s.handler(ctx, &Request{Op: OpGetMulti, Keys: keys})
		if err != nil {
			return nil, err
		}
		a.add(keys, resp.items())
	}
	return s.assembled(a)
}

// assembled returns the value a has joined, or ErrCacheMiss (counted) if a
// chunk is gone or belongs to another write.
func (s *Store[T]) assembled(a *assembly) ([]byte, error) {
	body, ok := a.done()
	if !ok {
		if s.counters != nil {
			s.counters.ChunkMisses.Add(1)
		}
		return nil, ErrCacheMiss
	}
	if s.counters != nil {
		s.counters.ChunkedReads.Add(1)
	}
	return body, nil
}

// maxDecodedSize is the largest value the store reads (and, chunked,
// writes).
func (s *Store[T]) maxDecodedSize() int { return s.compress.maxDecodedSize() }

// decodeError wraps what made a value under the caller's key unreadable,
// and counts it in Counters.OverBudget if it was over the decode budget.
func (s *Store[T]) decodeError(key string, err error) *DecodeError {
	if s.counters != nil && errors.Is(err, codec.ErrBudget) {
		s.counters.OverBudget.Add(1)
	}
	return &DecodeError{Key: key, Codec: s.codec.Name(), Err: err}
}

// decodePayload decompresses and decodes the payload of a value read under
// the caller's key.
func (s *Store[T]) decodePayload(key string, comp uint32, data []byte) (T, error) {
	var v T
	if comp == compressS2 {
		var err error
		if data, err = s.compress.decompress(data); err != nil {
			return v, s.decodeError(key, err)
		}
	}
	if err := s.codec.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, s.decodeError(key, err)
	}
	return v, nil
}

// An encoded value is what a write sends: the item under the value's key,
// after its chunks if it is the index of a chunked value.
type encoded struct {
	item   *Item
	chunks []*Item
}

// encode turns a value into the items to write under the memcached key k:
// one item if it fits the size guard, else chunks and their index if the
// store chunks, else a *TooLargeError.
func (s *Store[T]) encode(key, k string, v T) (encoded, error) {
	data, err := s.codec.Marshal(v)
	if err != nil {
		return encoded{}, &EncodeError{Key: key, Codec: s.codec.Name(), Err: err}
	}
	rawLen := len(data)
	// Package codec's codecs return a slice of their own, as does S2, so
	// the fingerprint can be appended to it; another codec may return
	// memory its caller still holds (the value itself, for []byte).
	owned := s.ownsOutput
	comp := uint32(compressNone)
	if out, ok := s.compress.compress(data); ok {
		data, comp, owned = out, compressS2, true
	}
	version, trailer := uint32(flagsVersion), 0
	if s.fingerprinted {
		version, trailer = flagsV2, trailerLen
	}
	flags := makeFlagsOf(version, kindValue, comp, s.codecID)
	guard := s.SizeGuard()
	exp := s.expirationAt(s.expiration)
	if trailer+len(data) <= guard.Limit(k, flags) {
		return encoded{item: &Item{Key: k, Value: s.withFingerprint(data, owned), Flags: flags, Expiration: exp}}, nil
	}
	maxSize := s.maxDecodedSize()
	if capacity := chunkCapacity(guard.ItemSizeMax); s.chunking && rawLen <= maxSize && chunkable(len(data), capacity) {
		chunks, x := splitChunks(s.keys.prefix, k, data, capacity, makeFlagsOf(version, kindChunk, 0, s.codecID), exp)
		index := s.withFingerprint(x.appendTo(make([]byte, 0, chunkIndexLen+trailerLen)), true)
		return encoded{item: &Item{Key: k, Value: index, Flags: makeFlagsOf(version, kindIndex, comp, s.codecID), Expiration: exp}, chunks: chunks}, nil
	}
	if s.counters != nil {
		s.counters.Rejected.Add(1)
	}
	if s.chunking {
		return encoded{}, newTooLargeError(s.codec, key, rawLen, maxSize, v, cmp.Or(max(s.topFields, 0), 5))
	}
	return encoded{}, guard.Check(s.codec, key, k, trailer+len(data), flags, v)
}

// withFingerprint returns data followed by the trailer with its length and
// the store's fingerprint, or data itself when the store writes none. It
// appends to data only if owned (nobody else holds data's memory);
// otherwise it copies.
func (s *Store[T]) withFingerprint(data []byte, owned bool) []byte {
	if !s.fingerprinted {
		return data
	}
	if !owned {
		data = append(make([]byte, 0, len(data)+trailerLen), data...)
	}
	data = binary.BigEndian.AppendUint32(data, uint32(len(data)))
	return binary.BigEndian.AppendUint64(data, uint64(s.fingerprint))
}

var errTrailer = errors.New("value cut short or corrupt: its trailer does not state its length")

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
	enc, err := s.encode(key, k, v)
	if err != nil {
		if op == OpSet && errors.Is(err, ErrTooLarge) {
			if derr := s.backend.Delete(ctx, k); derr != nil && !errors.Is(derr, ErrCacheMiss) {
				return errors.Join(err, derr)
			}
		}
		return err
	}
	if len(enc.chunks) > 0 {
		if err := writeChunks(ctx, s.handler, enc.chunks); err != nil {
			return err
		}
	}
	enc.item.CAS = cas
	err = s.put(ctx, op, enc.item)
	if len(enc.chunks) > 0 {
		switch {
		case err == nil:
			if s.counters != nil {
				s.counters.ChunkedWrites.Add(1)
			}
		case isCacheOutcome(err):
			// The server is fine but refused the index (Add, Replace,
			// CompareAndSwap): its chunks can go now.
			dropChunks(ctx, s.handler, enc.chunks)
		}
	}
	return err
}

// put sends a write: straight to the backend when the store has no
// middleware, so that a plain store pays for no Request on its hot path.
func (s *Store[T]) put(ctx context.Context, op Op, it *Item) error {
	if !s.direct {
		_, err := s.handler(ctx, &Request{Op: op, Keys: []string{it.Key}, Item: it})
		return err
	}
	switch op {
	case OpSet:
		return s.backend.Set(ctx, it)
	case OpAdd:
		return s.backend.Add(ctx, it)
	case OpReplace:
		return s.backend.Replace(ctx, it)
	case OpCAS:
		return s.backend.CompareAndSwap(ctx, it)
	}
	return &OpError{Op: string(op), Key: it.Key, Err: errUnknownOp}
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
	k, it, err := s.getItem(ctx, key)
	if err != nil {
		return nil, err
	}
	v, err := s.read(ctx, key, k, it)
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

// Delete removes key's value; ErrCacheMiss if there was none. Of a chunked
// value it removes the index, which makes the value a miss at once; the
// chunks are left to eviction.
func (s *Store[T]) Delete(ctx context.Context, key string) error {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	_, err = s.handler(ctx, &Request{Op: OpDelete, Keys: []string{k}})
	return err
}

// Touch sets key's value to expire after d (zero: never) without reading
// it; ErrCacheMiss if there is none. A store WithChunking does read the
// item first, so that a chunked value's chunks get the new expiration as
// well (and do not expire before their index).
func (s *Store[T]) Touch(ctx context.Context, key string, d time.Duration) error {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	exp := s.expirationAt(d)
	if s.chunking {
		resp, err := s.handler(ctx, &Request{Op: OpGet, Keys: []string{k}})
		if err != nil {
			return err
		}
		if it := resp.items()[k]; it != nil && flagsKind(it.Flags) == kindIndex && it.Flags>>24 == flagsMarker {
			body := it.Value
			if flagsVersionOf(it.Flags) == flagsV2 && len(body) >= trailerLen {
				body = body[:len(body)-trailerLen]
			}
			if x, err := s.parseIndex(key, body); err == nil {
				// A few chunks at a time; a chunk gone makes the value a
				// miss, so the rest need no touch.
				err := sendChunks(ctx, s.handler, int(x.count), func(i int) *Request {
					return &Request{Op: OpTouch, Keys: []string{chunkKey(s.keys.prefix, k, i, x.token)}, Expiration: exp}
				})
				if err != nil && !errors.Is(err, ErrCacheMiss) {
					return err
				}
			}
		}
	}
	_, err = s.handler(ctx, &Request{Op: OpTouch, Keys: []string{k}, Expiration: exp})
	return err
}

var errUnknownOp = errors.New("unknown operation")
