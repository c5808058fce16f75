package memcache

import "time"

// NearBackend returns b behind a near cache of the default size and a TTL
// of a second, as NewStore installs it, for the conformance suite.
func NearBackend(b Backend) Backend {
	_, nb := newNearCache(b, NearCacheConfig{MaxBytes: DefaultNearCacheMaxBytes, TTL: time.Second}, time.Now, "")
	return nb
}
