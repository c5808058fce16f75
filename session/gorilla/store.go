package gorilla

import (
	"encoding/base32"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/session"
)

// DefaultPrefix is the key prefix of the session.Store NewStore makes when
// given none.
const DefaultPrefix = "gorilla:session"

// Errors reported by a Store; compare with errors.Is.
var (
	// ErrInvalidCookie means the session cookie does not verify: it was
	// tampered with, signed with a key the Store does not have, or is older
	// than MaxAge by its own signed timestamp. The securecookie error it
	// wraps is reachable with errors.As.
	ErrInvalidCookie = errors.New("gorilla: invalid session cookie")
	// ErrUnknownSession means the cookie verifies but names a session that
	// memcached no longer holds: expired, deleted or evicted.
	ErrUnknownSession = errors.New("gorilla: unknown session")
	// ErrKeyNotString means a session value's key is not a string; the
	// session.Codec records values by string keys, as most gorilla code
	// uses them.
	ErrKeyNotString = errors.New("gorilla: session value key is not a string")
)

// Store is a sessions.Store that keeps sessions in memcached. New and Get
// return a fresh session, together with an error matching
// ErrInvalidCookie or ErrUnknownSession, for a cookie that does not verify
// or names no stored session, as gorilla's stores do; they never panic on
// what a client sends.
//
// Save honours the session's Options.MaxAge: above zero, the session lives
// that many seconds in memcached and the cookie says so; zero or below, as
// in gorilla's FilesystemStore, the session is deleted from memcached and
// the cookie is expired (with MaxAge 0 too, where gorilla would leave an
// empty session cookie).
//
// A Store is safe for concurrent use as long as its fields are not changed.
type Store struct {
	// Codecs sign (and, with a block key, encrypt) the session ID in the
	// cookie; see securecookie.CodecsFromPairs.
	Codecs []securecookie.Codec
	// Options are the defaults of new sessions; each session has a copy.
	Options *sessions.Options

	store *session.Store
	codec *session.Codec
}

// Store implements sessions.Store.
var _ sessions.Store = (*Store)(nil)

// NewStore returns a Store that keeps sessions in st, encoded by sc, with
// the session ID signed by the keys in keyPairs: a hash key, then an
// optional block key (of 16, 24 or 32 bytes for AES), per pair, as
// sessions.NewCookieStore takes them. The first pair signs; all of them
// verify, so keys can be rotated.
//
// A nil st is a session.Store over a new embedded backend with
// DefaultPrefix; a nil sc is a session.Codec over codec.Gob with only the
// built-in types, which needs gob.Register for any other type, as gorilla's
// own stores do. It fails when no key pair is given.
//
// The default Options are gorilla's (Path "/", MaxAge 30 days) with HttpOnly
// set, since nothing but the server needs to read the session ID.
func NewStore(st *session.Store, sc *session.Codec, keyPairs ...[]byte) (*Store, error) {
	if len(keyPairs) == 0 || len(keyPairs[0]) == 0 {
		return nil, errors.New("gorilla: NewStore: no hash key to sign the session ID with")
	}
	var err error
	if st == nil {
		if st, err = session.NewStore(nil, session.WithPrefix(DefaultPrefix)); err != nil {
			return nil, err
		}
	}
	if sc == nil {
		if sc, err = session.NewCodec(codec.Gob); err != nil {
			return nil, err
		}
	}
	s := &Store{
		Codecs:  securecookie.CodecsFromPairs(keyPairs...),
		Options: &sessions.Options{Path: "/", MaxAge: 86400 * 30, HttpOnly: true},
		store:   st,
		codec:   sc,
	}
	s.MaxAge(s.Options.MaxAge)
	return s, nil
}

// MaxAge sets the lifetime of new sessions, in seconds, and the age beyond
// which the signed cookies are refused, as gorilla's stores do. A session
// can be deleted on its own by setting its Options.MaxAge to -1.
func (s *Store) MaxAge(age int) {
	s.Options.MaxAge = age
	for _, c := range s.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(age)
		}
	}
}

// Get returns the session called name, from the request's registry: the
// same session for every Get of one request.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New returns the session called name that the request's cookie names,
// without adding it to the registry. Without a cookie, or with an empty
// one, it returns a new session and no error. With a cookie that does not verify, or that names a
// session memcached no longer holds, it returns a new session with an error
// matching ErrInvalidCookie or ErrUnknownSession: callers that only want a
// working session may ignore the error, as gorilla's documentation allows.
// A stored session that does not decode is a *session.ValueError or
// matches session.ErrMalformed, with a new session.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	opts := *s.Options
	sess.Options = &opts
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		// No cookie, or the empty one a deleted session leaves with
		// clients that keep it: a new session, and nothing wrong.
		return sess, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.Codecs...); err != nil {
		return sess, fmt.Errorf("%w %q: %w", ErrInvalidCookie, name, err)
	}
	if err := s.load(r, sess, id); err != nil {
		return sess, err
	}
	sess.ID, sess.IsNew = id, false
	return sess, nil
}

// load fills sess with the values stored for id.
func (s *Store) load(r *http.Request, sess *sessions.Session, id string) error {
	b, found, err := s.store.FindCtx(r.Context(), id)
	if err != nil {
		return fmt.Errorf("gorilla: load session %q: %w", sess.Name(), err)
	}
	if !found {
		return fmt.Errorf("%w %q", ErrUnknownSession, sess.Name())
	}
	_, values, err := s.codec.Decode(b)
	if err != nil {
		return fmt.Errorf("gorilla: load session %q: %w", sess.Name(), err)
	}
	for k, v := range values {
		sess.Values[k] = v
	}
	return nil
}

// Values is a session's values as the Store encodes them; its name is where
// the size guard's message starts a value's path (Values["cart"]).
type Values map[string]any

// Save stores sess in memcached and sets its cookie, or, when its
// Options.MaxAge is zero or below, deletes it and expires the cookie.
// A session whose encoding will not fit one memcached item (by the item
// size limit of the session.Store, see session.WithItemSizeMax) is refused
// before any network I/O with a *memcache.TooLargeError whose message
// names the biggest values (Values["cart"]); the session stored before is
// left as it was. Other failures: a value that does not encode
// (*session.ValueError), a key that is not a string (ErrKeyNotString), and
// memcached's (*session.StoreError).
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	opts := sess.Options
	if opts == nil {
		opts = s.Options
	}
	if opts.MaxAge <= 0 {
		if sess.ID != "" {
			if err := s.store.DeleteCtx(r.Context(), sess.ID); err != nil {
				return fmt.Errorf("gorilla: delete session %q: %w", sess.Name(), err)
			}
		}
		// Expired whatever MaxAge said: with 0, gorilla would leave an
		// empty session cookie behind.
		gone := *opts
		gone.MaxAge = -1
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", &gone))
		return nil
	}
	values := make(Values, len(sess.Values))
	for k, v := range sess.Values {
		ks, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: %T key in session %q", ErrKeyNotString, k, sess.Name())
		}
		values[ks] = v
	}
	// A MaxAge past what a Duration holds (292 years) would wrap into the
	// past; memcached keeps nothing past 2038 anyway, and
	// session.Store.CommitCtx caps the expiration there with
	// memcache.Expiration.
	age := time.Duration(min(opts.MaxAge, int(math.MaxInt64/time.Second))) * time.Second
	expiry := time.Now().Add(age)
	b, err := s.codec.Encode(expiry, values)
	if err != nil {
		return err
	}
	id := sess.ID
	if id == "" {
		key := securecookie.GenerateRandomKey(32)
		if key == nil {
			return errors.New("gorilla: cannot generate a session ID: the system's random source failed")
		}
		id = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
	}
	if err := s.store.CheckSize(id, b, sess.Name(), s.codec.Codec(), values); err != nil {
		return err
	}
	if err := s.store.CommitCtx(r.Context(), id, b, expiry); err != nil {
		return fmt.Errorf("gorilla: save session %q: %w", sess.Name(), err)
	}
	sess.ID = id
	encoded, err := securecookie.EncodeMulti(sess.Name(), id, s.Codecs...)
	if err != nil {
		return fmt.Errorf("gorilla: sign session ID of %q: %w", sess.Name(), err)
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, opts))
	return nil
}
