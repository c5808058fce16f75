package memcache

import (
	"time"

	"github.com/leancache/leancache/codec"
)

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
	refresh     time.Duration // WithRefreshAhead
	name        string        // WithName
	recorder    Recorder      // WithRecorder
	fresh       freshness     // WithTTLJitter, WithNegativeTTL
	// WithInterop, WithOverwriteForeign
	interop          Interop
	overwriteForeign bool

	near *NearCacheConfig // WithNearCache
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

// WithCompression turns compression on: encoded values of at least
// threshold bytes are compressed with S2 when that makes them smaller. As
// with other zero-valued settings in Go, a threshold of zero (or less)
// means the default, DefaultCompressThreshold (1 KiB), not "off":
// compression is off in a store without this option, and no threshold
// turns it off. Reads decompress whatever the flags say, with or without
// this option.
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

// WithCounters counts the store's traffic in c: c's Middleware goes first
// in the chain, outside the middleware of WithMiddleware, and the store
// counts its own events in c (see Counters). WithMiddleware(c.Middleware())
// counts the same at another place in the chain.
func WithCounters(c *Counters) Option { return func(o *storeConfig) { o.counters = c } }

// WithLoadTimeout bounds each load that GetOrLoad shares: the loader's
// context gets a deadline d after the load starts, and when it passes the
// load ends for its key with an error wrapping context.DeadlineExceeded,
// even if the loader ignores its context and never returns, so that later
// callers start a fresh load instead of joining a stuck one. The load's
// second read of the cache and its write count against d. Zero or negative
// (the default) means no bound: a load lasts as long as its loader. Each
// caller's own context still bounds how long that caller waits.
func WithLoadTimeout(d time.Duration) Option { return func(o *storeConfig) { o.loadTimeout = d } }

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
// the fingerprint of T's wire schema under its codec (see
// codec.WireSchema and codec.SchemaFingerprint), and reads a value
// written under another fingerprint, or without one, as a miss: Get
// returns a *FormatError for which errors.Is(err, ErrCacheMiss) holds,
// GetOrLoad reloads and overwrites it, GetMulti leaves it out, and
// Counters.SchemaMisses counts it. So a deploy that changes T's shape on
// the wire (a field added, removed, renamed or retyped) starts afresh
// instead of decoding old bytes into the new shape, and one that does not
// (a cached property added, fields reordered) keeps its cache. Values
// written before the option was on carry no fingerprint and read as misses
// once.
//
// A codec whose wire schema the store cannot describe (see
// codec.SchemaDescriber) gets no fingerprint: its values are written as
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
// Chunked values in the package documentation). A read fetches the index,
// checks it, then the chunks in multi-gets of at most 64 keys (see the read
// path's budget there); a chunk that is missing (evicted, expired) or
// belongs to another write makes the value a miss, so readers never see a
// torn or mixed value. Without it, such a value is refused with a
// *TooLargeError.
//
// With chunking, a value is refused only beyond the store's maximum
// decoded size (WithMaxDecodedSize, DefaultMaxDecodedSize by default),
// which readers would refuse. Touch reads the item first, to touch a
// chunked value's chunks too; Delete removes the index only, which makes
// the value a miss at once, and leaves the chunks to eviction. Reads
// assemble chunked values with or without this option.
func WithChunking() Option { return func(o *storeConfig) { o.chunking = true } }

// WithRefreshAhead makes GetOrLoad refresh a value before it expires: when
// a value it reads has less than d to live (in whole seconds, memcached's
// unit), one caller across all processes reloads it in the background
// while every caller, that one included, gets the current value. It needs
// a backend with leases (a Leaser: memcache/meta's Client, the Embedded
// backend); the gomemcache Client ignores it. Zero (the default) means no
// early refresh. d should be well under the store's expiration: a value
// written with less than d to live is refreshed on every read.
func WithRefreshAhead(d time.Duration) Option { return func(o *storeConfig) { o.refresh = d } }

// WithTTLJitter spreads the lifetime of each value the store writes
// (WithExpiration's, or a call's TTL, and WithNegativeTTL's) by a random
// part of up to the fraction f of it, so that values written together do
// not all expire in the same second and reload at once. It only shortens:
// a lifetime stays an upper bound, and with f = 0.1 a 10-minute TTL lasts
// between 9 and 10 minutes. memcached counts in whole seconds, rounded up,
// so a spread under a second does not show. Values that never expire are
// left alone. f must be in [0, 1] (NewStore returns an error wrapping
// ErrInvalidOption otherwise); zero, the default, turns jitter off.
func WithTTLJitter(f float64) Option { return func(o *storeConfig) { o.fresh.jitter = f } }

// WithNegativeTTL turns negative caching on: when GetOrLoad's loader (or
// GetOrLoadMulti's) says a key does not exist, by returning ErrNotFound
// (wrapped or not), the store remembers that absence in the backend for d,
// as an item of its own kind that other processes see (see Negative
// entries in the package documentation), and GetOrLoad returns an error
// wrapping ErrNotFound without loading again until it expires. Zero, the
// default, turns it off: a loader's ErrNotFound is returned and nothing is
// stored. A negative d is refused by NewStore (ErrInvalidOption).
func WithNegativeTTL(d time.Duration) Option { return func(o *storeConfig) { o.fresh.negativeTTL = d } }

// WithInterop writes and reads values in the convention of profile p, so
// that services in other languages share them (see Sharing a cache with
// other languages in the package documentation): flags of p instead of
// leancache's, no trailer, no chunking; the schema fingerprint, if on,
// becomes a segment of every key ("fp" and its 16 hex digits, after the
// namespace), so a value of another shape is a plain miss under another
// key and is never overwritten; keys are used as given, never mapped to a
// digest, and a key memcached would refuse is refused with ErrMalformedKey.
// Values other clients write in p's convention are read. Leases, stale
// marks and negative entries are not used under a profile (GetOrLoad shares
// loads within the process only, Invalidate deletes), since other clients
// would read their placeholders as values. NewStore refuses a profile that
// cannot carry the store's codec or compression, chunking or
// WithNegativeTTL.
func WithInterop(p Interop) Option { return func(o *storeConfig) { o.interop = p } }

// WithOverwriteForeign lets GetOrLoad overwrite a value it cannot read
// that leancache did not write (its flags lack leancache's marker; under
// WithInterop, any value it cannot read). By default GetOrLoad leaves such
// a value in place, since another service may be reading it, answers from
// the loader without storing, reports ErrForeignValue to the error handler
// and counts it in Counters.ForeignKept.
func WithOverwriteForeign() Option { return func(o *storeConfig) { o.overwriteForeign = true } }

// WithNearCache puts a near cache in front of the backend: an in-process
// cache of encoded items, as the backend returned them, bounded by
// c.MaxBytes and by c.TTL, the longest it serves an item after reading
// it, which bounds how stale a value another process replaced can be
// here. The store's own writes, deletes, touches, compare-and-swaps,
// SetMulti, DeleteMulti and Invalidate end the entries of their keys at
// once (of a chunked value, those of all its items). Every hit is decoded
// again, so each caller still gets memory of its own; Counters.NearHits
// and EventNearHit count the hits, which count as hits too. NewStore fails
// with an error wrapping ErrNearCacheConfig when c is out of bounds. The
// rules it keeps are in the package documentation (# Near cache).
func WithNearCache(c NearCacheConfig) Option { return func(o *storeConfig) { o.near = &c } }
