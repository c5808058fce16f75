// Package nearbench holds the values the near-cache benchmarks read, so
// that the module benchmarks/otter measures the very same cases as the
// core's benchmarks.
package nearbench

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
)

// Flag is a small hot value: a feature flag, read on every request.
type Flag struct {
	Name    string
	On      bool
	Rollout int
	Groups  []string
}

// A Case is one kind of value under one codec.
type Case[T any] struct {
	Name  string
	Codec codec.Codec
	Value T
}

// Flags is the small value, in msgpack: a near hit's map and copy show
// beside its decode.
var Flags = Case[*Flag]{"flag/msgpack", codec.Msgpack, &Flag{Name: "checkout-v2", On: true, Rollout: 25, Groups: []string{"staff", "beta"}}}

// Products is the 1 KB product of the store benchmarks, in JSON: its
// decode dominates a near hit.
var Products = Case[*fixtures.Product]{"product1KB/json", codec.JSON, fixtures.ProductOfSize(1 << 10)}

// A Contender is one way to read a value: Get(i) reads the i-th of a set
// of hot keys.
type Contender struct {
	Name string
	Get  func(i int) error
}

// slice is how many reads a contender makes before the next one's turn.
const slice = 2000

// Interleave measures contenders side by side in one benchmark: it runs
// them in turn, slice reads each, b.N turns each, with goroutines callers
// at once (the reads of a turn split among them), and reports each one's
// mean time per read as "<name>-ns/op" and its ratio to the first one's as
// "<name>/<first>". Taking turns in slices of milliseconds, the contenders
// see the same load on a machine shared with other work, which separate
// benchmarks seconds apart do not. With one goroutine, on Linux, it also
// reports the CPU time the reading thread spent ("<name>-cpu-ns/op",
// "<name>/<first>-cpu"), which other processes do not inflate.
func Interleave(b *testing.B, goroutines int, contenders ...Contender) {
	wall := make([]time.Duration, len(contenders))
	cpu := make([]time.Duration, len(contenders))
	cpuOK := goroutines == 1
	if cpuOK {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for n := 0; b.Loop(); n++ {
		for j := range contenders {
			k := (j + n) % len(contenders) // no one always goes first
			c := contenders[k]
			start := time.Now()
			if goroutines == 1 {
				cpu0, ok0 := threadCPU()
				for i := range slice {
					if err := c.Get(i); err != nil {
						b.Fatal(c.Name, err)
					}
				}
				cpu1, ok1 := threadCPU()
				cpu[k] += cpu1 - cpu0
				cpuOK = cpuOK && ok0 && ok1
			} else {
				var wg sync.WaitGroup
				for g := range goroutines {
					wg.Go(func() {
						for i := g; i < slice; i += goroutines {
							if err := c.Get(i); err != nil {
								b.Error(c.Name, err)
								return
							}
						}
					})
				}
				wg.Wait()
			}
			wall[k] += time.Since(start)
		}
	}
	reads := float64(b.N) * slice
	report := func(total []time.Duration, suffix string) {
		for i, c := range contenders {
			b.ReportMetric(float64(total[i].Nanoseconds())/reads, c.Name+suffix+"-ns/op")
			if i > 0 {
				b.ReportMetric(float64(total[i])/float64(total[0]), c.Name+"/"+contenders[0].Name+suffix)
			}
		}
	}
	report(wall, "")
	if cpuOK {
		report(cpu, "-cpu")
	}
}
