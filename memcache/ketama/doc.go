// Package ketama spreads keys over several memcached servers by consistent
// hashing, the way libmemcached does, and steers calls away from servers
// that stop answering.
//
// A [Selector] implements gomemcache's ServerSelector. Give it to
// gomemcache.NewFromSelector, or as the Selector of a memcache.ClientConfig,
// and every key goes to the server libmemcached would pick for it, so Go
// services share one cache with C, PHP, Python and Java services that use
// libmemcached's ketama distribution.
//
// # Compatibility
//
// The ring is libmemcached's weighted ketama continuum, the one it builds
// with MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED set (php-memcached's
// OPT_LIBKETAMA_COMPATIBLE, pylibmc's "ketama_weighted"), and the one
// MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA with the MD5 key hash builds as
// soon as one server has a weight above 1:
//
//   - a server gets floor(weight/total * 40 * servers) * 4 points,
//     computed in float32 as libmemcached does: 160 when all weights are
//     equal, except that float32 rounding gives 156 for some server counts
//     (25, 47, 50, 100, ...) and this selector rounds the same way;
//   - a point is 4 bytes of the MD5 digest of "host:port-i", or of "host-i"
//     when the port is 11211, or of "path:0-i" for a unix socket, for i from
//     0; each digest gives 4 points, read little-endian;
//   - a key's hash is the first 4 bytes of its MD5 digest, little-endian,
//     and its server owns the first point at or after that hash, wrapping
//     to the first point; points of equal value are ordered by the servers'
//     places in the list.
//
// The host is hashed as written in the server list, so every client must
// name the servers the same way ("cache1:11211" and "10.0.0.1:11211" are
// different servers to the ring). spymemcached's KetamaNodeLocator, with
// the LIBMEMCACHED key format and no weights, builds the same points except
// where libmemcached's rounding gives 156 points: it always uses 160.
//
// # Client settings that share placement
//
// Measured with the real clients against 3 servers (go test ./memcache -run
// TestInteropPlacement -v; 5,000 keys written under the prefix "svc:v1:";
// the highest share of three runs, on other ports each time):
//
//   - php-memcached: OPT_LIBKETAMA_COMPATIBLE true, and with OPT_PREFIX_KEY
//     also OPT_HASH_WITH_PREFIX_KEY true: 100% of the keys found. Without
//     OPT_HASH_WITH_PREFIX_KEY libmemcached hashes the key without its
//     prefix: 34% found. OPT_DISTRIBUTION consistent without
//     OPT_LIBKETAMA_COMPATIBLE (unweighted points): 33%.
//     The defaults (modula): 35%.
//   - pylibmc: behaviors {"ketama_weighted": True}: 100%. {"ketama": True}
//     (unweighted points): 33%; no behavior (modula): 35%.
//   - pymemcache: its HashClient hashes by rendezvous, which shares nothing
//     with ketama; with a hasher of libmemcached's continuum (as in
//     memcache/testdata/interop/py_client.py): 100%. It picks the server
//     before adding its key_prefix (pymemcache/client/hash.py), so prefix
//     keys by hand.
//
// With 3 servers a wrong setting finds about a third of the keys, those it
// happens to place on the same server, and looks for the other two thirds
// elsewhere.
// Every client must list the same servers, spelled the same way.
//
// # Failures
//
// The client reports the outcome of each call through [Selector.Report]. After
// [Config.FailureThreshold] consecutive failures a server is down: for
// [Config.RetryDelay] its keys fail at once with a *[ServerDownError]
// ([FailFast], the default) or move to the next live server on the ring
// ([Rehash]). When the delay has passed, one call is let through to probe
// the server; success brings it back, failure keeps it down for another
// delay. No call waits for a dead server's timeout while it is down.
//
// # Changing the cluster
//
// [Selector.SetServers], [Selector.Add] and [Selector.Remove] build a new
// ring beside the old one and swap it in atomically, so picks never wait
// for a change and never see half a ring. Adding a server to n moves about
// 1/(n+1) of the keys, all to the new server; removing one moves only its
// own keys.
package ketama
