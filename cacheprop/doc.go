// Package cacheprop marks and holds cached properties: values derived from
// an object on demand that belong to this process and never to the wire.
//
// A struct field is a cached property when its tag has the key cacheprop
// (documented form `cacheprop:"cached"`; `cacheprop:""` counts too), whatever
// its type, or when its type is one of this package's cells ([Lazy], [Memo]), with or
// without the tag. The codecs in package codec leave every cached property out
// of what they write and reset it in whatever they decode into, so a value
// read back from a cache recomputes its derived data instead of trusting a
// stale copy.
//
// # Concurrency
//
// Every method of Lazy, Memo and WeakTable may be called from any number of
// goroutines at once, Reset included, and a reader sees either a value some
// computation or Set produced, or an empty cell that it fills. A Reset that
// races with a computation differs by type: a Lazy stores the computation's
// result after the Reset; a Memo (Reset or Forget) hands the result to the
// computation's callers but does not store it.
//
// Decoding is different. codec.Unmarshal writes the target's fields and
// resets its cached properties, like any Unmarshal: decoding into an object
// that other goroutines are reading is a data race. Decode into a fresh
// value and publish it, as memcache.Store does: every value a Store returns
// is decoded into memory of its own and shared with no other caller, so its
// cells may be used from many goroutines at once.
package cacheprop
