package codec

import (
	"errors"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGobDefsMemoKeepsTheBudget: the budget walk memoizes the type
// definitions that begin a stream; a stream that begins with the same
// definitions must get the answer a cold walk gives: an over-budget value
// is still refused, and a budget too shallow for the definitions
// themselves still refuses them.
func TestGobDefsMemoKeepsTheBudget(t *testing.T) {
	typ := reflect.TypeFor[[]bigReview]()
	small, err := Gob.Marshal(make([]bigReview, 2))
	require.NoError(t, err)
	bomb, err := Gob.Marshal(make([]bigReview, 100000)) // 10 MB from 100 KB
	require.NoError(t, err)
	require.Equal(t, string(gobDefsPrefix(small)), string(gobDefsPrefix(bomb)), "the same definitions")
	require.NotEmpty(t, gobDefsPrefix(small))

	cold := func(data []byte, c Codec) error {
		gobDefsMemo.Delete(typ)
		return c.Unmarshal(data, new([]bigReview))
	}
	warm := func(data []byte, c Codec) error {
		gobDefsMemo.Delete(typ)
		require.NoError(t, Gob.Unmarshal(small, new([]bigReview)))
		_, ok := gobDefsMemo.Load(typ)
		require.True(t, ok, "the definitions are memoized")
		return c.Unmarshal(data, new([]bigReview))
	}
	shallow, _ := WithBudget(Gob, Budget{MaxDepth: 1})
	for _, c := range []struct {
		name string
		data []byte
		c    Codec
	}{{"small", small, Gob}, {"bomb", bomb, Gob}, {"shallow", small, shallow}} {
		errCold, errWarm := cold(c.data, c.c), warm(c.data, c.c)
		assert.Equal(t, errCold == nil, errWarm == nil, "%s: cold %v, warm %v", c.name, errCold, errWarm)
		assert.Equal(t, errors.Is(errCold, ErrBudget), errors.Is(errWarm, ErrBudget), c.name)
		var bc, bw *BudgetError
		if errors.As(errCold, &bc) {
			require.ErrorAs(t, errWarm, &bw, c.name)
			assert.Equal(t, bc.Limit, bw.Limit, c.name)
		}
	}
	assert.ErrorIs(t, warm(bomb, Gob), ErrBudget)
	var be *BudgetError
	require.ErrorAs(t, warm(small, shallow), &be)
	assert.Equal(t, "depth", be.Limit)
}

type gobFlatLeaf struct {
	A    int
	HTML string `cacheprop:"cached"`
}

// TestGobDefsMemoKeepsTheDepth: a struct of scalars nests one level, its
// type definition two: a budget of one level refuses the stream whether
// or not the definitions were memoized under the default budget.
func TestGobDefsMemoKeepsTheDepth(t *testing.T) {
	data, err := Gob.Marshal(&gobFlatLeaf{A: 1})
	require.NoError(t, err)
	shallow, _ := WithBudget(Gob, Budget{MaxDepth: 1})
	gobDefsMemo.Delete(reflect.TypeFor[gobFlatLeaf]())
	var be *BudgetError
	require.ErrorAs(t, shallow.Unmarshal(data, new(gobFlatLeaf)), &be, "cold")
	require.NoError(t, Gob.Unmarshal(data, new(gobFlatLeaf)))
	require.ErrorAs(t, shallow.Unmarshal(data, new(gobFlatLeaf)), &be, "warm")
	assert.Equal(t, "depth", be.Limit)
}
