package cacheprop

import (
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

func TestMemoNaNKeyLeavesNoCallBehind(t *testing.T) {
	var m Memo[float64, int]
	for range 3 {
		m.Get(math.NaN(), func(float64) int { return 1 })
	}
	assert.Empty(t, m.t.Load().calls)
}

func TestMemoIdleHasNoCallsMap(t *testing.T) {
	// Most instances' Memos sit idle: they must not keep an empty map.
	var m Memo[string, int]
	m.Get("a", func(string) int { return 1 })
	assert.Nil(t, m.t.Load().calls)
}

func TestMemoIndexesOnlyPastSmall(t *testing.T) {
	var m Memo[int, int]
	m.Configure(MemoOptions{MaxEntries: smallMemo + 4})
	computes := map[int]int{}
	square := func(k int) int { computes[k]++; return k * k }
	for k := range smallMemo {
		m.Get(k, square)
	}
	tab := m.t.Load()
	assert.Nil(t, tab.items, "a small Memo scans its list rather than keep a map")
	m.Get(smallMemo, square)
	assert.Len(t, tab.items, smallMemo+1)

	for k := range smallMemo + 4 { // 0..8 are held; 9..11 are new
		assert.Equal(t, k*k, m.Get(k, square))
	}
	m.Get(100, square) // evicts the least recently used: 0
	assert.Equal(t, smallMemo+4, m.Len())
	assert.Len(t, tab.items, smallMemo+4, "the map follows evictions")
	m.Forget(5)
	assert.Len(t, tab.items, smallMemo+3)
	for k := 1; k < smallMemo+4; k++ {
		if k != 5 {
			m.Get(k, square)
			assert.Equal(t, 1, computes[k], "key %d was not held", k)
		}
	}
	m.Get(5, square)
	assert.Equal(t, 2, computes[5], "a forgotten key is computed again")
	m.Get(0, square)
	assert.Equal(t, 2, computes[0], "an evicted key is computed again")
}

// TestMemoCostsAsDocumented keeps the figures in Memo's doc comment true.
func TestMemoCostsAsDocumented(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the documented figures are for 64-bit platforms")
	}
	const kv = unsafe.Sizeof("") + unsafe.Sizeof(0)
	assert.Equal(t, 112+kv, unsafe.Sizeof(memoTable[string, int]{}))
	assert.Equal(t, 24+kv, unsafe.Sizeof(memoEntry[string, int]{}))
}
