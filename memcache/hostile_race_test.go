//go:build race

package memcache_test

// The race detector's shadow memory needs far more address space than any
// useful cap: under -race the children are capped by their timeout and the
// tests' own allocation checks only.
func init() { hostileMemory = 1 << 62 }
