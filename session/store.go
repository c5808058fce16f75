package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/leancache/leancache/memcache"
)

// DefaultPrefix is the key prefix of a Store without WithPrefix, as in
// scs's own memcachedstore.
const DefaultPrefix = "scs:session"

// maxRelative is the longest expiration memcached reads as seconds from now
// (30 days); larger values are absolute unix times.
const maxRelative = 30 * 24 * 60 * 60

// A Store keeps session data in memcached for a session manager such as
// github.com/alexedwards/scs/v2, whose Store and CtxStore interfaces it
// satisfies without this module depending on scs:
//
//	sessions := scs.New()
//	sessions.Store, err = session.NewStore(backend)
//
// It stores the bytes the manager hands it unchanged, with no flags, so it
// works with whatever encodes them: a [Codec] over any of leancache's
// codecs, or scs's own.
//
// Session tokens are secrets. A Store never logs, and its errors name the
// operation that failed, never the token or the key made from it. Nor does
// it put tokens in memcached: a session's key holds a SHA-256 digest of its
// token, so whoever can list memcached's keys (lru_crawler metadump needs no
// more than a connection) cannot take over the sessions listed.
//
// It does not implement scs's IterableStore (All): memcached cannot list
// its keys, short of debugging commands that walk the whole cache.
//
// A Store is safe for concurrent use.
type Store struct {
	backend memcache.Backend
	keys    *memcache.Store[[]byte] // only for its key mapping
	now     func() time.Time
}

// An Option configures a Store.
type Option func(*storeConfig)

type storeConfig struct {
	prefix string
	now    func() time.Time
}

// WithPrefix sets the namespace of the store's keys: a session's key is
// prefix, a colon and the token's digest. The default is DefaultPrefix. The prefix
// must be printable ASCII without spaces.
func WithPrefix(prefix string) Option {
	return func(c *storeConfig) { c.prefix = prefix }
}

// WithClock sets the clock that expiry times are measured against when they
// are turned into memcached expirations; the default is time.Now. Tests
// pair it with the clock of an embedded backend (memcache.EmbeddedConfig.Now)
// to move time without sleeping.
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
	return &Store{backend: b, keys: keys, now: cfg.now}, nil
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
	return it.Value, true, nil
}

// Commit stores b as the session data of token until expiry, replacing what
// was there. It is CommitCtx with context.Background.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx stores b as the session data of token until expiry, replacing
// what was there.
//
// Memcached counts expirations in whole seconds, from now up to 30 days and
// as an absolute unix time beyond, and so does CommitCtx: an expiry up to
// 30 days away is sent as the seconds left, rounded down, and a later one
// as its unix time. Rounding down means the session never outlives its
// expiry in memcached, whose clock ticks once a second; an expiry less than
// a second away, or in the past, deletes the session instead. Expiries past
// the year 2038, which memcached cannot represent, are capped there.
//
// Failures are a *StoreError; data larger than the server's item size limit
// matches memcache.ErrTooLarge, and memcached then deletes the session it
// held for token.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
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
	err = s.backend.Set(ctx, &memcache.Item{Key: key, Value: b, Expiration: exp})
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

// expiration turns expiry into a memcached expiration as of now, and
// reports false when the session should not be stored at all.
func expiration(expiry, now time.Time) (int32, bool) {
	d := expiry.Sub(now)
	if d < time.Second {
		return 0, false
	}
	if secs := int64(d / time.Second); secs <= maxRelative {
		return int32(secs), true
	}
	abs := expiry.Unix()
	if abs > math.MaxInt32 {
		abs = math.MaxInt32
	}
	return int32(abs), true
}
