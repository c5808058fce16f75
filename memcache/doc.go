// Package memcache stores typed values in memcached, with their cached
// properties stripped by a codec, and checks every value's size before it
// reaches the network.
//
// A Store[T] sits on a Backend: the real server through gomemcache, or an
// embedded in-process backend with memcached's semantics that is the default
// when no server is configured.
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
