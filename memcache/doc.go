// Package memcache stores typed values in memcached, with their cached
// properties stripped by a codec, and checks every value's size before it
// reaches the network.
//
// A Store[T] sits on a Backend: the real server through gomemcache, or an
// embedded in-process backend with memcached's semantics that is the default
// when no server is configured.
//
// This documentation is where the rules a Store writes by are stated; the
// code refers here.
//
// # Keys
//
// A store key is the prefix (namespace and version, "users:v2:", see
// WithNamespace) followed by the caller's key, used verbatim when the whole
// is legal for memcached (ValidKey) and the caller's key holds no '#'. Any
// other key (too long, with spaces, control characters, "\r\n", invalid
// UTF-8 or a '#') is mapped to the prefix, '#' and the unpadded base64url
// SHA-256 of the caller's key (43 bytes). Verbatim keys never contain '#'
// and mapped keys always do, so the two forms cannot collide, and SHA-256
// keeps mapped keys apart: whatever a caller passes reaches the wire as one
// legal key, so it cannot inject a memcached command. Only the empty key is
// refused (ErrMalformedKey): it is almost always a bug. Store.Key returns
// the store key of a caller's key. A store WithInterop maps no key (see
// Sharing a cache with other languages).
//
// # Item flags
//
// A Store describes a value in memcached's 32 item flags, so that a reader
// knows how the bytes were made and a reader with another codec gets a
// *FormatError instead of garbage:
//
//	bits 24-31  0x4C ('L'): the value was written by a leancache Store
//	bits 16-23  format version: 1, the value is the payload; 2, the value
//	            is the payload followed by the trailer (see below)
//	bits 12-15  kind: 0 a value; 1 the index of a chunked value; 2 a chunk;
//	            3 a negative entry (see below)
//	bits  8-11  compression of the payload: 0 none, 1 S2
//	bits  0-7   codec: 9 json, 10 gob, 11 msgpack, 12 cbor; a codec of your
//	            own gets one of 64 ids from 0x88 to 0xFF from a hash of its
//	            name, so two custom codecs almost always differ (a clash
//	            only weakens the check). Bit 3 is set in every id, so that
//	            other clients, which read the low bits as their own value
//	            types (php-memcached's type, pylibmc's and pymemcache's
//	            zlib flag), fail to read a leancache value instead of
//	            returning a wrong one. Stores also read the ids of earlier
//	            versions: 1-4, and 128-254 for custom codecs.
//
// # Trailer and schema fingerprints
//
// A store WithFingerprint (the default) writes format version 2: every value
// ends with a trailer of 12 bytes, the payload's length (uint32) and the
// fingerprint of T's wire schema under the store's codec (8 bytes,
// codec.SchemaFingerprint of T), both big-endian. A reader compares the
// fingerprint before decompressing or decoding anything: a value written
// under another fingerprint, or without one (version 1), reads as a miss
// that Counters.SchemaMisses counts, and the write that follows replaces it
// under the same key. The fingerprint goes in the value rather than in the
// flags, which have no room for enough bits to rule out a clash, or in the
// key, which would make a value of the old shape an ordinary miss that
// nobody could count, left in memory until evicted. It goes at the end, so
// that a write appends it to the codec's output (package codec's codecs and
// S2 return slices of their own, mostly with room to spare) instead of
// copying the whole value behind a header. The length before it tells a
// value cut short or corrupted (a *DecodeError) from a whole value of
// another schema (a miss): a trailer read from the wrong place does not
// state the length it ends. Version 1 (no trailer) is what a store
// WithoutFingerprint writes, exactly as before fingerprints existed. The
// trailer counts against the size guard like the payload.
//
// # Sharing a cache with other languages
//
// The format above describes itself to leancache only: php-memcached,
// pylibmc and pymemcache read the low bits of the flags as their own value
// types, and no JSON or msgpack parser reads the trailer or S2. A store
// WithInterop(p) writes and reads in the convention of profile p instead
// (interop.go holds the flag values, from the clients' sources):
//
//	InteropRaw     flags 0, the codec's bytes exactly; reads flags 0
//	InteropPHP     flags 6 (MEMC_VAL_IS_JSON) for json, 7 (MEMC_VAL_IS_MSGPACK)
//	               for msgpack; compressed: | 0x30 (compressed, zlib), the
//	               value the length (uint32, little-endian) then a zlib
//	               stream. Reads those, FastLZ (| 0x50, php-memcached's
//	               default), and for json also types 0, 1, 2 (strings and
//	               numbers, as JSON text); not zstd (| 0x90), nor any value
//	               with bits 8-31 set (user flags)
//	InteropPython  flags 0, the codec's bytes; compressed: 8 (ZLIB) and a
//	               zlib stream. Reads those, and for json also text (16, the
//	               UTF-8 of a str) and integers (2, 4), with or without 8
//
// Any other flags are a *FormatError: a value that reads as another type
// would give a wrong value, never an error, which is why msgpack reads only
// PHP's msgpack type. For the same reason InteropPHP refuses to write (an
// *EncodeError) a msgpack value holding an extension type, such as
// time.Time, which php-memcached reads as NULL. Values carry no trailer; the schema fingerprint, if
// on, is a segment of every key instead ("fp" and 16 hex digits after the
// namespace and version), so a value of another shape is an ordinary miss
// under another key, never overwritten and not counted in SchemaMisses.
// Keys are used as given when legal (ValidKey), '#' included, and an
// illegal key is refused with ErrMalformedKey rather than mapped to a
// digest no other client would look up. No chunking (NewStore refuses it),
// and no compression with InteropRaw. Decompression is held to the read
// path's budget, the length a PHP header claims checked before anything is
// inflated. Under InteropRaw and InteropPython the flags say nothing of the
// encoding: every service writing a namespace must use the store's codec.
//
// # Values another program wrote
//
// GetOrLoad overwrites a value it cannot read only when leancache wrote it
// (the marker is in its flags: another codec, format version, schema, or
// corrupt bytes). Another program's value, and under WithInterop any value
// that does not read, is left in place: GetOrLoad answers from the loader,
// reports ErrForeignValue to the error handler and counts it in
// Counters.ForeignKept, unless WithOverwriteForeign.
//
// # Chunked values
//
// With WithChunking, a value that does not fit one item even compressed is
// split over several, in the manner of mcrouter's big-value route: the
// chunks go first, under keys of their own, then an index item under the
// value's key names them. For a store key k, a random 8-byte token T (t in
// 16 hex digits) drawn for each write, and n chunks:
//
//	chunk i    key    k + ":c" + i + ":" + t, or when that is longer than
//	                  250 bytes: the store's prefix, '#' and the unpadded
//	                  base64url SHA-256 of "chunk\x00" and that key
//	           flags  kind 2 (chunk), the store's format version and codec
//	           value  T | i (uint32) | the i-th piece of the payload
//	index      key    k
//	           flags  kind 1 (index), the payload's compression, the
//	                  store's format version and codec
//	           value  T | n (uint32) | payload length (uint32) |
//	                  CRC-32C of the payload (uint32) | [the trailer of
//	                  format version 2]
//
// Integers are big-endian. The payload is the encoded value, compressed if
// the index says so, cut into pieces that fill an item each under the
// longest possible key. Since the token is in the chunk keys, writers never
// overwrite each other's chunks: whatever index a reader finds, its chunks
// are those of that one write, or gone (evicted, expired, deleted), and
// then the value reads as a miss. Concurrent writers of one key thus leave
// one whole version or a miss, never a mix.
//
// Chunks replaced by a newer write, or left behind by a write that failed
// half way, are not deleted: nothing reaches them any more, and memcached
// evicts them (they carry the value's expiration). Those of a conditional
// write whose index the server refused (Add, Replace, CompareAndSwap) are
// deleted at once. Under that memory pressure memcached 1.6 sometimes
// refuses a set of a large item ("SERVER_ERROR out of memory storing
// object"); the write then fails before its index, and the previous value
// stays whole.
//
// # Negative entries
//
// With WithNegativeTTL, a key whose loader returned ErrNotFound holds a
// negative entry: flags of kind 3, the store's format version and codec,
// no compression; a value of an empty payload (with the trailer and the
// store's fingerprint in format version 2), living the negative TTL. Its
// kind is what makes it one, never its bytes, so no reader takes it for a
// value: a Store reads it as a miss that is also ErrNotFound (Get,
// GetEntry; GetMulti leaves it out), GetOrLoad and GetOrLoadMulti answer
// it without loading when negative caching is on and load over it when it
// is off; a store of another codec or schema fingerprint reads it as it
// reads any value of theirs, and a version of leancache that predates kind
// 3 as a *FormatError, both of which GetOrLoad loads over. An empty value
// with flags is not a lease placeholder (those have zero flags).
//
// # Expirations
//
// Lifetimes become memcached expirations by the rules of Expiration: zero
// is never, up to 30 days relative seconds rounded up, beyond an absolute
// time capped at 2038. A write's lifetime is the store's (WithExpiration)
// or the call's (TTL), shortened by WithTTLJitter's random part before it
// is converted, so that TTLs remain upper bounds.
//
// # Near cache
//
// WithNearCache keeps, in the process, the items a Store read from its
// backend: encoded, as the backend returned them, so that every hit is
// decoded again and each caller gets memory of its own, as without it. It
// is a Backend decorator that NewStore puts between the store's middleware
// and the backend, so every write path of the store passes through it,
// and the middleware sees a near hit as a get that found its item
// (Counters.Hits counts it, and Counters.NearHits; a Recorder gets
// EventNearHit besides EventHit). The decorator keeps the backend's
// ItemSizeMaxer, its Leaser, and its MultiSetter and MultiDeleter where
// the store sends it batches.
//
// Staleness. An entry is served until the near cache's TTL after the read
// that filled it began, never later, so a write by another process is seen
// by this one at most TTL after it returned. A write, delete, touch,
// compare-and-swap, Invalidate or lease release by this store ends the
// entry of its key at once, whether or not it succeeded (a failed call may
// still have changed the server), and so do SetMulti and DeleteMulti for
// each of their keys; a read that began before such a call cannot fill
// the entry after it: each shard counts its invalidations, and a fill is
// dropped if its shard's count moved while the backend answered. Ending
// the index of a chunked value ends the entries of its chunks too.
//
// Expirations. Where the near cache knows when an item itself expires, it
// never serves it past that, less a second for memcached's clock, which
// ticks once a second: items this store wrote or touched, while the near
// cache still holds their key (the write leaves a small hint, counted in
// MaxBytes like an entry), and items read through a lease, whose reply
// states their TTL. A plain get does not say, so an item another process
// wrote with a lifetime shorter than the near cache's TTL may be served up
// to that TTL past its end. A value with less than a second to live is not
// kept.
//
// Leases. A lease read without LeaseTTL (GetOrLoad's first read) is served
// from an entry, with Won, Pending and Stale false and the TTL the near
// cache knows (-1 when it knows none). That costs the process
// the stale and early-refresh tokens memcached would hand it meanwhile,
// which another process, or this one once the entry ends, gets instead:
// with WithRefreshAhead, choose its d well above the near cache's TTL. An
// entry whose known expiry falls within the read's RefreshBelow is not
// served. A lease read with LeaseTTL (a miss about to be loaded under a
// lease) always goes to the backend, and a reply that is stale, a
// placeholder or a won token fills no entry. After this store's own
// Invalidate of a key, no read fills its entry until a local write or the
// stale mark's lifetime ends (a minute when it keeps the item's), since a
// plain get of a stale item does not say it is stale: GetOrLoad then reads
// the backend and one caller wins the reload.
//
// Its map is the embedded backend's structure cut down to what a near
// cache needs: shards of a map under a read-write lock, each with its
// share of the byte bound and a queue in fill order that evicts the oldest
// entry, sparing once one read since (CLOCK). otter v2 was measured in its
// place (benchmarks/otter, BenchmarkNearHit): a near hit, the whole
// Store.Get, costs what otter's own Get of the same bytes plus the decode
// costs (0.98x the CPU time for the 1 KB product in JSON, 0.76x for a
// small flag in msgpack), and a Store over a Backend kept in otter costs
// more (1.06x and 1.38x), so otter would bring a dependency and no speed.
// A hit's time is the decode: a plain store (no middleware, a codec of
// package codec, which decodes into memory of its own) hands its decoder
// the entry itself, other stores a copy.
//
// # The read path's budget
//
// Whatever sits under a key may have been written by anyone who reaches
// memcached, so a Store reads it at a cost in proportion to its length, as
// a legitimate value of that length would cost, and refuses the rest before
// spending it:
//
//   - Decompression: a value expands to at most DefaultMaxCompressionRatio
//     (32) times its compressed size and at most DefaultMaxDecodedSize
//     (64 MiB) in all, refused from the S2 header before the output is
//     allocated (WithMaxCompressionRatio, WithMaxDecodedSize). A store
//     never writes compressed what it could not read back: a value that
//     compresses better than the ratio is written as it is.
//   - Decoding: the codec's decode budget (codec.Budget: nesting depth
//     codec.DefaultMaxDepth, allocation codec.DefaultAllocFactor times the
//     decompressed length plus codec.AllocSlack), which WithDecodeBudget
//     sets for the store.
//   - Chunked values: an index must claim a count that its length needs in
//     chunks of 1 KiB to the store's chunk capacity, and a length within the
//     maximum decoded size, or it is refused unread; chunks are fetched at
//     most 64 keys per multi-get, in order, and the read stops at the first
//     batch that shows a chunk gone or the index false, so a forged index
//     costs one batch. GetMulti fetches the chunks of values of up to 64
//     chunks together, 64 keys per multi-get, and each larger value on its
//     own the same way. Touch touches a chunked value's chunks 4 at a time
//     and stops at the first one gone.
//
// A value over the budget is a *DecodeError for which errors.Is(err,
// codec.ErrBudget) holds; Counters.OverBudget counts it (with WithCounters),
// and GetOrLoad takes it for a miss and overwrites it.
//
// On the write side, a TooLargeError's field breakdown (Breakdown) encodes
// at most 4 times the value's own size, so a deep value just over the limit
// is refused promptly; its message says when the breakdown stopped early.
package memcache
