package cacheprop_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leancache/leancache/cacheprop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// node is a key type with a pointer in it, so the runtime never batches two
// nodes into one tiny allocation and every node's cleanup runs.
type node struct {
	name string
	next *node
}

func TestWeakTable(t *testing.T) {
	var tab cacheprop.WeakTable[node, int]
	a, b := &node{name: "a"}, &node{name: "a"}
	_, ok := tab.Get(a)
	assert.False(t, ok)
	tab.Set(a, 1)
	tab.Set(b, 2)
	v, ok := tab.Get(a)
	assert.True(t, ok)
	assert.Equal(t, 1, v)
	v, _ = tab.Get(b)
	assert.Equal(t, 2, v, "keys are compared by identity, not contents")
	tab.Set(a, 3)
	v, _ = tab.Get(a)
	assert.Equal(t, 3, v)
	assert.Equal(t, 2, tab.Len())
	tab.Delete(a)
	tab.Delete(a)
	_, ok = tab.Get(a)
	assert.False(t, ok)
	assert.Equal(t, 1, tab.Len())

	_, ok = tab.Get(nil)
	assert.False(t, ok)
	tab.Delete(nil)
	assert.PanicsWithValue(t, "cacheprop: WeakTable: nil key", func() { tab.Set(nil, 1) })
	assert.Panics(t, func() { tab.GetOrCompute(a, nil) })
	var zeroSize cacheprop.WeakTable[struct{}, int]
	assert.PanicsWithValue(t, "cacheprop: WeakTable: zero-size key type", func() { zeroSize.Set(&struct{}{}, 1) })
	runtime.KeepAlive(b)
}

func TestWeakTableGetOrCompute(t *testing.T) {
	var tab cacheprop.WeakTable[node, string]
	n := &node{name: "n"}
	var calls int
	compute := func(k *node) string { calls++; return k.name + "!" }
	assert.Equal(t, "n!", tab.GetOrCompute(n, compute))
	assert.Equal(t, "n!", tab.GetOrCompute(n, compute))
	assert.Equal(t, 1, calls)
	tab.Set(n, "set")
	assert.Equal(t, "set", tab.GetOrCompute(n, compute))
}

func TestWeakTableSetDuringCompute(t *testing.T) {
	var tab cacheprop.WeakTable[node, string]
	n := &node{name: "n"}
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan string)
	go func() {
		done <- tab.GetOrCompute(n, func(*node) string {
			close(entered)
			<-release
			return "computed"
		})
	}()
	<-entered
	tab.Set(n, "set")
	close(release)
	assert.Equal(t, "computed", <-done, "the computing caller gets its result")
	v, _ := tab.Get(n)
	assert.Equal(t, "set", v, "but Set, which came later, wins")
}

func TestWeakTableComputeOncePerKey(t *testing.T) {
	const goroutines, keys = 32, 64
	var tab cacheprop.WeakTable[node, int]
	nodes := make([]*node, keys)
	for i := range nodes {
		nodes[i] = &node{name: "k"}
	}
	var computes [keys]atomic.Int32
	hammer(goroutines, func(g int) {
		for i := range keys {
			k := (g + i) % keys
			got := tab.GetOrCompute(nodes[k], func(*node) int {
				computes[k].Add(1)
				runtime.Gosched()
				return k
			})
			assert.Equal(t, k, got)
			if i%16 == 0 {
				_, _ = tab.Get(nodes[k])
				_ = tab.Len()
			}
		}
	})
	for k := range keys {
		assert.EqualValues(t, 1, computes[k].Load(), "key %d", k)
	}
	assert.Equal(t, keys, tab.Len())
}

// TestWeakTableConcurrentChurn sets, deletes and drops keys from several
// goroutines while the garbage collector runs cleanups, for the race
// detector.
func TestWeakTableConcurrentChurn(t *testing.T) {
	var tab cacheprop.WeakTable[node, int]
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keep := &node{name: "kept"}
			for i := range 2000 {
				n := &node{name: "dropped"}
				tab.Set(n, i)
				tab.Set(keep, i)
				if i%3 == 0 {
					tab.Delete(n)
				}
				if i%500 == 0 {
					runtime.GC()
				}
				_ = tab.GetOrCompute(keep, func(*node) int { return g })
			}
			tab.Delete(keep)
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool { runtime.GC(); return tab.Len() == 0 }, 10*time.Second, 10*time.Millisecond,
		"entries of dropped keys are removed")
}

func TestWeakTablePanicReachesCallerAndWaiters(t *testing.T) {
	var tab cacheprop.WeakTable[node, int]
	n := &node{name: "n"}
	testPanicShared(t, func(compute func() int) int {
		return tab.GetOrCompute(n, func(*node) int { return compute() })
	})
	assert.Zero(t, tab.Len())
	assert.Equal(t, 1, tab.GetOrCompute(n, func(*node) int { return 1 }), "a panic is not stored")
}

func TestWeakTableRemovesEntryOfFreedKey(t *testing.T) {
	var tab cacheprop.WeakTable[node, string]
	var freed atomic.Int32
	func() {
		n := &node{name: "short-lived"}
		runtime.AddCleanup(n, func(*atomic.Int32) { freed.Add(1) }, &freed)
		tab.Set(n, "value that does not reference n")
	}()
	require.Eventually(t, func() bool { runtime.GC(); return freed.Load() == 1 && tab.Len() == 0 },
		10*time.Second, 5*time.Millisecond)
}

// TestWeakTableValueReferencingKeyKeepsIt proves the limitation the doc
// comment states: with no ephemerons, a value that points back to its key
// keeps the key, and the entry, alive.
func TestWeakTableValueReferencingKeyKeepsIt(t *testing.T) {
	var tab cacheprop.WeakTable[node, *node]
	var freed atomic.Int32
	func() {
		n := &node{name: "referenced by its value"}
		runtime.AddCleanup(n, func(*atomic.Int32) { freed.Add(1) }, &freed)
		tab.Set(n, &node{name: "value", next: n})
	}()
	for range 5 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	assert.Zero(t, freed.Load(), "the key was freed although its value references it")
	assert.Equal(t, 1, tab.Len())

	// The control: the same object is freed once nothing references it.
	var control cacheprop.WeakTable[node, *node]
	func() {
		n := &node{name: "control"}
		runtime.AddCleanup(n, func(*atomic.Int32) { freed.Add(1) }, &freed)
		control.Set(n, &node{name: "value"})
	}()
	require.Eventually(t, func() bool { runtime.GC(); return freed.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
	runtime.KeepAlive(&tab)
}

func TestWeakTableHitAllocatesNothing(t *testing.T) {
	var tab cacheprop.WeakTable[node, int]
	n := &node{name: "n"}
	offset := 1
	compute := func(k *node) int { return len(k.name) + offset }
	tab.GetOrCompute(n, compute)
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = tab.Get(n)
		_ = tab.GetOrCompute(n, compute)
	})
	assert.Zero(t, allocs)
}
