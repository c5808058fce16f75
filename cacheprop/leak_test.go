package cacheprop_test

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leakInstances is how many Sessions each leak test creates and drops.
const leakInstances = 100_000

// liveHeap returns the bytes of live heap objects after a full collection.
// It collects several times so that objects freed by cleanups, which run
// after a collection, are gone too.
func liveHeap() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// settledHeap waits, for a few collections at most, for the live heap to come
// back within 10% of base, and returns the last figure. Waiting allows for
// noise such as the cleanup goroutine's own garbage; a leak of the Sessions
// (over 30 MB here) stays far above the bound however long it waits.
func settledHeap(base uint64) uint64 {
	h := liveHeap()
	for i := 0; i < 10 && h > base+base/10; i++ {
		time.Sleep(10 * time.Millisecond)
		h = liveHeap()
	}
	return h
}

func mechanism(t *testing.T, name string) func(*Session) any {
	for _, m := range mechanisms {
		if m.name == name {
			return m.use
		}
	}
	t.Fatalf("no mechanism %q", name)
	return nil
}

// TestLeakPackageLevelMap is the control: the same measurement as the
// mechanisms' tests shows the leak of a package-level map keyed by pointer,
// so those tests can tell a leak from none.
func TestLeakPackageLevelMap(t *testing.T) {
	require.Zero(t, stillAlive(1000, mechanism(t, "cacheprop.Memo field")), "warm-up, as in testNoLeak")
	base := liveHeap()
	alive := stillAlive(leakInstances, mechanism(t, "package-level map keyed by pointer"))
	leaked := liveHeap()
	assert.Equal(t, leakInstances, alive, "Sessions reachable from a global were freed")
	assert.Greater(t, leaked, base+leakInstances*uint64(unsafe.Sizeof(Session{})),
		"the leaked Sessions do not show in the live heap")

	leakyMu.Lock()
	leakyScores = map[*Session]map[string]int{} // clear would keep the buckets
	leakyMu.Unlock()
	after := settledHeap(base)
	t.Logf("live heap: %d B before, %d B with the leak, %d B once the map is cleared", base, leaked, after)
	assert.LessOrEqual(t, after, base+base/10, "clearing the map did not free the Sessions")
}

func TestLeakMemoField(t *testing.T) {
	testNoLeak(t, "cacheprop.Memo field", nil)
}

func TestLeakMemoizeFunc(t *testing.T) {
	testNoLeak(t, "cacheprop.MemoizeFunc", nil)
}

func TestLeakWeakTable(t *testing.T) {
	testNoLeak(t, "cacheprop.WeakTable", func() bool { return sessionScores.Len() == 0 })
}

// testNoLeak drops leakInstances Sessions memoized through the named
// mechanism and checks that every one is freed and that the live heap comes
// back to within 10% of where it started. emptied, if not nil, reports when
// the mechanism's own bookkeeping has caught up.
func testNoLeak(t *testing.T, name string, emptied func() bool) {
	// A small round first, so that what the runtime allocates once for
	// cleanups (their goroutine and queue) is in the baseline, not the result.
	use := mechanism(t, name)
	require.Zero(t, stillAlive(1000, use))
	base := liveHeap()
	alive := stillAlive(leakInstances, use)
	require.Zero(t, alive, "Sessions still alive after collection")
	if emptied != nil {
		require.Eventually(t, func() bool { runtime.GC(); return emptied() }, 10*time.Second, 5*time.Millisecond)
	}
	after := settledHeap(base)
	t.Logf("live heap: %d B before, %d B after %d Sessions were memoized and dropped", base, after, leakInstances)
	assert.LessOrEqual(t, after, base+base/10, "the live heap did not come back")
}
