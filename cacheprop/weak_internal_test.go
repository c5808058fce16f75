package cacheprop

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type item struct {
	id int
	//lint:ignore U1000 never read: a pointer keeps items out of tiny, batched allocations
	next *item
}

func TestWeakTableShrinksItsMap(t *testing.T) {
	var tab WeakTable[item, int]
	keys := make([]*item, 1000)
	for i := range keys {
		keys[i] = &item{id: i}
		tab.Set(keys[i], i)
	}
	s := tab.s.Load()
	m := s.items
	for _, k := range keys[:749] {
		tab.Delete(k)
	}
	assert.True(t, sameMap(m, s), "the map is kept while above a quarter of its peak")
	tab.Delete(keys[749])
	assert.False(t, sameMap(m, s), "the map was not rebuilt at a quarter of its peak")
	assert.Equal(t, 250, tab.Len())
	for i, k := range keys[750:] {
		v, ok := tab.Get(k)
		require.True(t, ok)
		require.Equal(t, 750+i, v)
	}
	for _, k := range keys[750:] {
		tab.Delete(k)
	}
	assert.Nil(t, tab.s.Load().items, "an empty table drops its map")
	assert.Zero(t, tab.s.Load().peak)
}

// sameMap reports whether s still holds the map m.
func sameMap(m map[uintptr]weakEntry[item, int], s *weakState[item, int]) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Maps are references: writing through one is seen through the other
	// only if they are the same map.
	const probe = 1 // no object lives at address 1
	m[probe] = weakEntry[item, int]{}
	_, same := s.items[probe]
	delete(m, probe)
	return same
}

// TestWeakTableDroppedBeforeItsKeys checks that the cleanups attached to
// long-lived keys do not keep a dropped table, and its values, alive.
func TestWeakTableDroppedBeforeItsKeys(t *testing.T) {
	key := &item{id: 1}
	var freed atomic.Bool
	func() {
		tab := new(WeakTable[item, []byte])
		tab.Set(key, make([]byte, 1<<20))
		runtime.AddCleanup(tab.s.Load(), func(*atomic.Bool) { freed.Store(true) }, &freed)
	}()
	require.Eventually(t, func() bool { runtime.GC(); return freed.Load() }, 10*time.Second, 5*time.Millisecond)
	runtime.KeepAlive(key)
}

// TestWeakTableAddressReuse stands in for a freed key whose address a new key
// got before the old key's cleanup ran: the stale entry is not the new key's,
// and the late cleanup does not remove the new key's entry.
func TestWeakTableAddressReuse(t *testing.T) {
	var tab WeakTable[item, int]
	live, freed := &item{id: 1}, &item{id: 2}
	tab.Set(live, 0)
	s := tab.s.Load()
	stale := weak.Make(freed)
	s.mu.Lock()
	s.items[addrOf(live)] = weakEntry[item, int]{key: stale, val: 99}
	s.mu.Unlock()

	_, ok := tab.Get(live)
	assert.False(t, ok, "a stale entry at the key's address was taken for the key's")
	assert.Equal(t, 7, tab.GetOrCompute(live, func(*item) int { return 7 }))
	removeWeakEntry(weakCleanupArg[item, int]{state: s.self, key: stale, addr: addrOf(live)})
	v, ok := tab.Get(live)
	assert.True(t, ok, "the stale entry's cleanup removed the live key's entry")
	assert.Equal(t, 7, v)
	runtime.KeepAlive(freed)
}
