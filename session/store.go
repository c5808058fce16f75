package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// DefaultPrefix is the key prefix of a Store without WithPrefix, as in
// scs's own memcachedstore.
const DefaultPrefix = "scs:session"

// A Store keeps session data in memcached for a session manager such as
// github.com/alexedwards/scs/v2, whose Store and CtxStore interfaces it
// satisfies without this module depending on scs:
//
//	sessions := scs.New()
//	sessions.Store, err = session.NewStore(backend)
//
// It stores the bytes the manager hands it unchanged, after a small header
// that records the session's expiry to the nanosecond (see CommitCtx), so
// it works with whatever encodes them: a [Codec] over any of leancache's
// codecs, or scs's own.
//
// Session tokens are secrets. A Store never logs, and its errors name the
// operation that failed, never the token or the key made from it. Nor does
// it put tokens in memcached: a session's key holds a SHA-256 digest of its
// token, so whoever can list memcached's keys (lru_crawler metadump needs no
// more than a connection) cannot take over the sessions listed.
//
// It implements scs's IterableStore and IterableCtxStore (All) on an
// embedded backend (memcache.Embedded), which can list its keys and lives
// in the process, so each of its items also holds its token. On any other
// backend All returns an error matching ErrNotIterable: memcached cannot
// list its keys, short of debugging commands that walk the whole cache, and
// holds only digests of the tokens, from which no session can be named.
//
// A Store is safe for concurrent use.
type Store struct {
	backend memcache.Backend
	keys    *memcache.Store[[]byte] // only for its key mapping
	now     func() time.Time
	// embedded is the backend when it can list its keys; then items hold
	// their tokens, for All, and listPrefix begins every key of the Store.
	embedded   *memcache.Embedded
	listPrefix string
	guard      memcache.SizeGuard // for CheckSize
}

// An Option configures a Store.
type Option func(*storeConfig)

type storeConfig struct {
	prefix      string
	now         func() time.Time
	itemSizeMax int
}

// WithItemSizeMax sets the server's item_size_max (memcached's -I) that
// CheckSize measures against. The default is the embedded backend's own
// limit, and memcache.DefaultItemSizeMax (-I 1m) for any other backend.
func WithItemSizeMax(n int) Option {
	return func(c *storeConfig) { c.itemSizeMax = n }
}

// WithPrefix sets the namespace of the store's keys: a session's key is
// prefix, a colon and the token's digest. The default is DefaultPrefix. The prefix
// must be printable ASCII without spaces.
func WithPrefix(prefix string) Option {
	return func(c *storeConfig) { c.prefix = prefix }
}

// WithClock sets the clock that expiry times are measured against when they
// are turned into memcached expirations; the default is time.Now. Tests in
// a testing/synctest bubble need no clock of their own: there time.Now is
// the bubble's, for the store and an embedded backend alike, and
// time.Sleep moves it at once.
func WithClock(now func() time.Time) Option {
	return func(c *storeConfig) { c.now = now }
}

// NewStore returns a Store over b. A nil b means a new embedded backend
// (memcache.NewEmbedded with the default configuration), for demos, tests
// and a single process. It fails, with an error matching
// memcache.ErrMalformedKey, only for an illegal prefix.
func NewStore(b memcache.Backend, opts ...Option) (*Store, error) {
	cfg := storeConfig{prefix: DefaultPrefix, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.prefix == "" {
		return nil, fmt.Errorf("session: %w: empty prefix", memcache.ErrMalformedKey)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if b == nil {
		b = memcache.NewEmbedded(memcache.EmbeddedConfig{})
	}
	// A Store[T] is where the key rules live (prefix and its checks);
	// borrowing its mapping keeps the two from drifting apart. It never
	// reads or writes.
	keys, err := memcache.NewStore[[]byte](b, memcache.WithNamespace(cfg.prefix, ""))
	if err != nil {
		return nil, fmt.Errorf("session: prefix: %w", err)
	}
	st := &Store{backend: b, keys: keys, now: cfg.now, guard: memcache.SizeGuard{ItemSizeMax: cfg.itemSizeMax}}
	if emb, ok := b.(*memcache.Embedded); ok {
		if cfg.itemSizeMax <= 0 {
			// In process: no network, and the context cannot end.
			st.guard.ItemSizeMax, _ = emb.ItemSizeMax(context.Background())
		}
		// Every key is the prefix's mapping followed by a digest, which
		// is a legal key and kept as it is.
		k, err := keys.Key("x")
		if err != nil {
			return nil, fmt.Errorf("session: prefix: %w", err)
		}
		st.embedded, st.listPrefix = emb, strings.TrimSuffix(k, "x")
	}
	return st, nil
}

// Key returns the memcached key that holds the session of token: the
// prefix and the unpadded base64url SHA-256 of the token (43 bytes),
// whatever the token holds. It is meant for tests and tools that inspect
// the stored bytes. An empty token is an error matching
// memcache.ErrMalformedKey.
func (s *Store) Key(token string) (string, error) {
	if token == "" {
		return "", fmt.Errorf("session: key: %w: empty token", memcache.ErrMalformedKey)
	}
	sum := sha256.Sum256([]byte(token))
	// The digest is always a legal key; the Store's rules add the prefix.
	return s.keys.Key(base64.RawURLEncoding.EncodeToString(sum[:]))
}

// CheckSize returns nil if data fits in one memcached item as the session
// of token, and otherwise, before any network I/O, the size guard's
// *memcache.TooLargeError (errors.Is(err, memcache.ErrTooLarge)) for the
// session called name, whose Fields break v down as encoded by c: given the
// session's values, its message names the value that grew. It counts what
// CommitCtx adds to data (its header, and on an embedded backend the token)
// and measures against the item size limit of WithItemSizeMax. Neither the
// token nor the key appears in the error.
func (s *Store) CheckSize(token string, data []byte, name string, c codec.Codec, v any) error {
	key, err := s.Key(token)
	if err != nil {
		return err
	}
	return s.guard.Check(c, name, key, recordLen(s.named(token), len(data)), recordFlags, v)
}

// named is the token as a record holds it: only an embedded backend's
// records name their token, for All.
func (s *Store) named(token string) string {
	if s.embedded != nil {
		return token
	}
	return ""
}

// Find returns the session data stored for token; found is false, with
// a nil error, when there is none or it has expired. It is FindCtx with
// context.Background.
func (s *Store) Find(token string) (b []byte, found bool, err error) {
	return s.FindCtx(context.Background(), token)
}

// FindCtx returns the session data stored for token; found is false, with a
// nil error, when there is none, it has expired, or the token is empty.
// Other failures are a *StoreError.
func (s *Store) FindCtx(ctx context.Context, token string) (b []byte, found bool, err error) {
	if token == "" {
		return nil, false, nil
	}
	key, err := s.Key(token)
	if err != nil {
		return nil, false, err
	}
	it, err := s.backend.Get(ctx, key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, &StoreError{Op: "find", Err: redact(err, token, key)}
	}
	r, ok := parseRecord(it)
	if !ok || r.expired(s.now()) {
		// Malformed data is no session, as scs asks of its stores: the
		// manager starts a new one, which overwrites it.
		return nil, false, nil
	}
	return r.data, true, nil
}

// Commit stores b as the session data of token until expiry, replacing what
// was there. It is CommitCtx with context.Background.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx stores b as the session data of token until expiry, replacing
// what was there. An empty token is a no-op, as it is for FindCtx and
// DeleteCtx.
//
// A session lives exactly until its expiry, to the nanosecond: scs's idle
// timeouts can be a fraction of a second. The expiry is stored with the
// data and FindCtx checks it, because memcached counts expirations in whole
// seconds and its clock ticks once a second, so an item given n seconds
// lives between n-1 and n there. The memcached expiration is therefore the
// time left rounded up to whole seconds, plus the one second of that tick,
// so that memcached never drops a session before its expiry (and frees it
// at most two seconds after): sent as seconds up to 30 days, and as an
// absolute unix time beyond, as memcached reads it. Expiries past the year
// 2038, which memcached cannot represent, are capped there. An expiry that
// has passed deletes the session instead. Expiries are measured by the
// clock of the process that reads the session (WithClock), so servers whose
// clocks disagree see a session end that much apart.
//
// Failures are a *StoreError; data larger than the server's item size limit
// matches memcache.ErrTooLarge, and memcached then deletes the session it
// held for token.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if token == "" {
		return nil
	}
	key, err := s.Key(token)
	if err != nil {
		return err
	}
	exp, live := expiration(expiry, s.now())
	if !live {
		err := s.backend.Delete(ctx, key)
		if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			return &StoreError{Op: "commit", Err: redact(err, token, key)}
		}
		return nil
	}
	err = s.backend.Set(ctx, &memcache.Item{Key: key, Value: appendRecord(expiry, s.named(token), b), Flags: recordFlags, Expiration: exp})
	if err != nil {
		return &StoreError{Op: "commit", Err: redact(err, token, key)}
	}
	return nil
}

// Delete removes the session data of token; a token with none is not an
// error. It is DeleteCtx with context.Background.
func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// DeleteCtx removes the session data of token; a token with none, or an
// empty token, is not an error. Other failures are a *StoreError.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	key, err := s.Key(token)
	if err != nil {
		return err
	}
	err = s.backend.Delete(ctx, key)
	if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return &StoreError{Op: "delete", Err: redact(err, token, key)}
	}
	return nil
}

// All returns the data of every live session, by token; it is AllCtx with
// context.Background.
func (s *Store) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}

// AllCtx returns the data of every live session of this Store (its prefix),
// by token, for scs's Iterate; with none, the map is empty, not nil. It
// needs an embedded backend (see Store): on any other it returns a
// *StoreError matching ErrNotIterable. It lists every key of the embedded
// backend, in time proportional to the whole cache, and reading the
// sessions counts as a use of each for the backend's eviction.
func (s *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	if s.embedded == nil {
		return nil, &StoreError{Op: "all", Err: ErrNotIterable}
	}
	keys := s.embedded.Keys(s.listPrefix)
	items, err := s.embedded.GetMulti(ctx, keys)
	if err != nil {
		return nil, &StoreError{Op: "all", Err: redact(err, keys...)}
	}
	now := s.now()
	all := make(map[string][]byte, len(items))
	for key, it := range items {
		r, ok := parseRecord(it)
		if !ok || r.token == "" || r.expired(now) {
			continue
		}
		// A record must sit under its own token's key, or it names a
		// session that is not there.
		if k, err := s.Key(r.token); err != nil || k != key {
			continue
		}
		all[r.token] = r.data
	}
	return all, nil
}

// expiration turns expiry into a memcached expiration as of now (see
// CommitCtx), and reports false when the session should not be stored at
// all. memcache.Expiration applies memcached's rules; the second added is
// memcached's tick, so that the item outlives the session's own expiry.
func expiration(expiry, now time.Time) (int32, bool) {
	d := expiry.Sub(now)
	if d <= 0 {
		return 0, false
	}
	// d may be the largest Duration (Sub saturates): nothing can be added.
	return memcache.Expiration(min(d, math.MaxInt64-time.Second)+time.Second, now), true
}
