package benchmarks

import (
	"testing"

	"github.com/leancache/leancache/benchmarks/internal/embeddedbench"
)

// The embedded backend beside a mutex-guarded map. The same cases with
// otter beside them live in the module benchmarks/otter, so that otter
// stays out of this module's dependencies; run
//
//	cd benchmarks/otter && go test -run='^$' -bench=. -benchmem

func BenchmarkEmbedded(b *testing.B) {
	embeddedbench.GetSet(b, embeddedbench.Embedded, embeddedbench.MutexMap)
}

func BenchmarkEmbeddedMemory(b *testing.B) {
	embeddedbench.Memory(b, embeddedbench.Embedded, embeddedbench.MutexMap)
}
