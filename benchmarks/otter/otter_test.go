// Package otter measures the embedded backend beside
// github.com/maypok86/otter/v2, the fastest in-process cache for Go we know
// of. It is a module of its own so that otter enters no go.mod but this one:
// leancache's users never download it. Run
//
//	go test -run='^$' -bench=. -benchmem
package otter

import (
	"testing"

	"github.com/maypok86/otter/v2"

	"github.com/leancache/leancache/benchmarks/internal/embeddedbench"
	"github.com/leancache/leancache/memcache"
)

// newOtter builds otter bounded by bytes as Embedded is. With copies set it
// copies values in and out, keeping a Backend's contract that callers never
// share memory with the cache; without, it hands out the stored slice, which
// no Backend may do, and is the ceiling.
func newOtter(name string, copies bool) embeddedbench.New {
	return func(maxBytes int64) embeddedbench.Cache {
		c := otter.Must(&otter.Options[string, []byte]{
			MaximumWeight: uint64(maxBytes),
			Weigher: func(k string, v []byte) uint32 {
				return uint32(len(k) + len(v) + memcache.ItemOverhead)
			},
		})
		return embeddedbench.Cache{
			Name: name,
			Get: func(key string) ([]byte, bool) {
				v, ok := c.GetIfPresent(key)
				if ok && copies {
					v = append([]byte(nil), v...)
				}
				return v, ok
			},
			Set: func(key string, value []byte) {
				if copies {
					value = append([]byte(nil), value...)
				}
				c.Set(key, value)
			},
		}
	}
}

var contenders = []embeddedbench.New{
	embeddedbench.Embedded,
	newOtter("OtterCopy", true),
	newOtter("OtterShared", false),
	embeddedbench.MutexMap,
}

func BenchmarkEmbedded(b *testing.B) { embeddedbench.GetSet(b, contenders...) }

func BenchmarkEmbeddedMemory(b *testing.B) { embeddedbench.Memory(b, contenders...) }
