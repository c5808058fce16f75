// Package gorilla keeps the sessions of github.com/gorilla/sessions in
// memcached, through leancache's session package: the Store it offers is a
// sessions.Store, usable wherever gorilla's are (directly, and through
// gin-contrib/sessions, echo-contrib/session and buffalo).
//
// gorilla's default stores are cookies, which hold 4096 bytes at most, and
// the filesystem, which one server owns. This Store keeps only a session ID
// in the cookie, signed (and, given a block key, encrypted) with
// securecookie as gorilla's own stores sign it, and the session's values in
// memcached:
//
//   - encoded by a session.Codec over any of leancache's codecs, so domain
//     objects held in a session lose their cached properties on the way out
//     and come back with them empty, to be recomputed;
//   - under a key that holds a digest of the session ID, never the ID
//     itself, with the session's MaxAge as its lifetime, by memcached's
//     expiration rules (see session.Store.CommitCtx);
//   - refused before any network I/O when they would not fit one memcached
//     item, with the size guard's message naming the value that grew.
//
// It is a module of its own so that leancache's core module does not depend
// on gorilla.
package gorilla
