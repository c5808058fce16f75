// Package cachewrap generates caching wrappers: given an interface, or the
// method set of a named type, it writes a type with the same methods that
// forwards every call and caches the results, in process per wrapper
// instance (cacheprop.Memo) and/or in memcached (memcache.Store). The command
// github.com/leancache/leancache/cmd/cachewrap is its front end.
//
// # The generated API
//
// For a type T the generator writes, by default into t_cachewrap.go, only
// what is particular to T:
//
//	type CachedT struct{ ... }            // the methods of T
//	type CachedTConfig = cachewrap.Config // Backend, StoreOptions, NoLocal, TTL, MaxEntries
//	func NewCachedT(next T, cfg CachedTConfig) (*CachedT, error)
//
// (next is *T when a method of T has a pointer receiver; a generic T gives a
// generic wrapper.) Everything the methods share lives in the public runtime
// package github.com/leancache/leancache/cachewrap, which the generated file
// imports: the per-method caches (cachewrap.Entry), the configuration, and
// the key of a call (cachewrap.Key). A fix there reaches every wrapper
// without regenerating it. Each cached method looks in the wrapper's own
// memo table, then in memcached through a memcache.Store of its own, and only
// then calls next; concurrent callers of one key share one call. The tables
// are fields of the wrapper, so they die with it: nothing is global. Results
// found in process are shared by all callers; results from memcached are
// decoded copies. With NoLocal and no Backend nothing is cached, and a method
// kept local by a directive is then not cached either.
//
// # What is cached
//
// A method is cached when it returns at least one value besides a final
// error, its arguments can be keyed (see below), and neither a skip directive
// nor the -skip flag excludes it. Results (T) and (T, error) are cached as T;
// two or more results besides the error are cached together as a generated
// tuple struct. A method returning nothing, or only an error, has nothing to
// cache and is forwarded. A non-nil error is returned to the caller and never
// cached; the other results of a failed call are then the zero values.
// Methods forwarded uncached carry a generated comment saying why.
//
// A result goes to memcached only if the store's codec can give it back:
// the generator checks it by encoding/json's rules (exported fields,
// no interfaces, marshalers paired with unmarshalers), and keeps a method
// whose result fails the check in process, saying so in a comment. Cached
// properties (see package cacheprop) are no obstacle, to keys or results:
// the codecs leave them out, and a result read back from memcached computes
// them afresh. The generator asks package cacheprop which fields they are.
//
// # Keys
//
// The key of a call is the method's qualified name ("pkg.Type.Method"), a
// colon, and the JSON of the argument list as codec.JSON writes it: what
// encoding/json writes, without the arguments' cached properties. A leading
// context.Context is passed through and never keyed. JSON is stable
// across processes and Go versions: struct fields in declaration order, map
// keys sorted, floats in their shortest exact form. The generator only keys
// arguments whose JSON is injective, so that two different calls never share
// a key: it refuses funcs, channels, unsafe pointers, complex numbers,
// interfaces (JSON loses their dynamic type), type parameters whose
// constraint has no type terms, and structs with unexported fields, fields
// tagged json:"-", field names that collide or a marshaler promoted from one
// embedded field (JSON drops the rest). Types that implement json.Marshaler
// or encoding.TextMarshaler (time.Time, net.IP) are trusted to encode
// themselves canonically, and a top-level argument that implements only
// encoding.BinaryMarshaler (*url.URL) is keyed by its MarshalBinary bytes.
// At run time a call whose arguments JSON refuses (NaN) or would alter (a
// string that is not valid UTF-8) is forwarded uncached. In memcached the
// store's namespace and key rules apply: a key that is too long or not legal
// is replaced by its SHA-256 digest.
//
// # Directives
//
// Comment lines on an interface method (or a method declaration) control it:
//
//	//cachewrap:skip       forward uncached (side effects)
//	//cachewrap:ttl 5m     keep results 5 minutes (time.ParseDuration)
//	//cachewrap:max 1000   hold at most 1000 results in process
//	//cachewrap:local      cache in process only, never in memcached
//	//cachewrap:trust      key by JSON even where the generator cannot prove
//	                       it canonical (type parameters, unexported fields)
//
// The command's flags set the same things for all methods or for named
// methods; a flag naming a method overrides its directives, which override
// the flags' defaults. An unknown directive or a flag naming a missing method
// is an error.
package cachewrap
