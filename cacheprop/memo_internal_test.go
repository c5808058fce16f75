package cacheprop

import (
	"math"
	"testing"

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
