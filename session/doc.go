// Package session keeps web sessions in memcached for session managers such
// as github.com/alexedwards/scs/v2, without this module depending on them.
//
// Two pieces, used together or apart:
//
//   - Store holds each session's bytes under a key made from its token,
//     until its expiry to the nanosecond, though memcached counts whole
//     seconds. It satisfies scs's Store and CtxStore interfaces, so it
//     plugs into scs.New() as the Store, and passes scs's own store test
//     suite (examples/sessions runs it against real memcached). On the
//     embedded backend it also lists its sessions (scs's IterableStore).
//   - Codec turns a session's values into those bytes through one of
//     leancache's codecs (it satisfies scs's Codec interface). Domain
//     objects held in a session lose their cached properties on the way
//     out, as they do in a memcache.Store, and come back with the cached
//     properties empty, to be recomputed. scs's default codec, plain gob,
//     refuses a struct with an exported cacheprop.Lazy and writes tagged
//     cached fields. It decodes only the codecs its user allows (its own,
//     by default), whatever codec stored bytes claim to be written with.
//
// Session tokens are the manager's secrets: nothing in this package logs
// them, puts them in an error, or sends them to memcached (keys hold a
// digest of the token; only an embedded backend, which is in the process,
// keeps the tokens themselves, to list the sessions).
//
// Wiring it into scs:
//
//	sc, err := session.NewCodec(codec.Gob, session.TypeOf[*User]("user"))
//	...
//	st, err := session.NewStore(backend) // nil: an embedded backend
//	...
//	sessions := scs.New()
//	sessions.Store = st
//	sessions.Codec = sc
//
// examples/sessions is a runnable HTTP server built this way. For
// gorilla/sessions (and gin-contrib/sessions, echo-contrib/session and
// buffalo, which build on it), the module
// github.com/leancache/leancache/session/gorilla wraps the two in a
// sessions.Store; examples/gorilla is the same server built on it.
package session
