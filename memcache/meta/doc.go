// Package meta is a memcached client speaking the meta protocol (mg, ms,
// md, ma, mn): a memcache.Backend, ItemSizeMaxer, MultiSetter and
// MultiDeleter that takes contexts natively and pipelines calls on many
// keys.
//
// # Compared with the gomemcache Client
//
// It reads and writes the same memcached keys and item flags, picks the same
// server for a key (the same default selector, or any
// gomemcache.ServerSelector such as ketama.Selector), and so shares one cache
// with memcache.Client: a service can switch from one to the other, or run
// both, without a flush.
//
// Use this Client when calls carry contexts that can end (every HTTP
// handler's does): a deadline becomes the connection's deadline and a
// cancellation interrupts the connection, with no goroutine per call, where
// the gomemcache Client must run each such call on a goroutine of its own.
// Each open connection has one watcher goroutine for this, woken by a
// timer at most once a millisecond while calls run: a call that lasts over
// a millisecond has it wait on the call's context (so a cancellation
// interrupts the call at once, or a millisecond into it), and a call costs
// no allocation for its context (context.AfterFunc would cost two), no
// goroutine switch and no timer of its own. Use it too for batches (GetMulti, SetMulti and
// DeleteMulti are one pipelined round trip per server) and for the lease,
// stale and early-refresh tokens of memcached 1.6 (GetLease, Invalidate),
// which the text protocol cannot express. Keep the gomemcache Client for
// servers older than memcached 1.6, or proxies that speak only the text
// protocol.
//
// # Faults
//
// Every value returned is the value of the key asked for: each mg asks for
// the key back (k) and, in a pipeline, an opaque index (O), and a reply that
// names another key is a protocol error. A connection that saw a protocol
// error, a CLIENT_ERROR or SERVER_ERROR reply, a timeout, or a cancellation
// in the middle of a call is closed, never reused, so no later call can read
// a stale reply. Unexpected replies are ErrProtocol (*ProtocolError) or
// *ServerError, wrapped in a *memcache.OpError.
//
// # Keys
//
// Keys follow memcached's text-protocol rule (memcache.ValidKey): the meta
// protocol on memcached 1.6 takes the same bytes, 0x21 to 0xff but 0x7f,
// verbatim; base64 keys (the b flag) are not needed and not used.
package meta
