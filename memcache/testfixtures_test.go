package memcache

import "github.com/leancache/leancache/memcache/memcachetest"

// The fixtures the package's internal tests share with the conformance
// suite (memcache/backendtest), which they cannot import.
var illegalKeys = memcachetest.IllegalKeys
