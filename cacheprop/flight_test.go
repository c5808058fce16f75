package cacheprop_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
)

// TestMemoErrorComesWithTheZeroValue: a computation that returns a value
// together with an error hands out the zero value with the error, to the
// goroutine that ran it and to those that waited, through every form of
// Get and MemoizeFunc; and nothing is stored.
func TestMemoErrorComesWithTheZeroValue(t *testing.T) {
	boom := errors.New("boom")
	gets := map[string]func(m *cacheprop.Memo[string, *int], compute func() (*int, error)) (*int, error){
		"GetErr": func(m *cacheprop.Memo[string, *int], compute func() (*int, error)) (*int, error) {
			return m.GetErr("k", func(string) (*int, error) { return compute() })
		},
		"GetContext": func(m *cacheprop.Memo[string, *int], compute func() (*int, error)) (*int, error) {
			return m.GetContext(context.Background(), "k", func(context.Context, string) (*int, error) { return compute() })
		},
	}
	for name, get := range gets {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var m cacheprop.Memo[string, *int]
				release := make(chan struct{})
				compute := func() (*int, error) {
					<-release
					return new(int), boom
				}
				type outcome struct {
					v   *int
					err error
				}
				got := make([]outcome, 4)
				var wg sync.WaitGroup
				for i := range got {
					wg.Go(func() {
						v, err := get(&m, compute)
						got[i] = outcome{v, err}
					})
				}
				synctest.Wait() // one computes, the others wait for it
				close(release)
				wg.Wait()
				for i, o := range got {
					require.ErrorIs(t, o.err, boom, "caller %d", i)
					assert.Nil(t, o.v, "caller %d: the zero value with the error", i)
				}
				assert.Zero(t, m.Len(), "an error is not stored")
			})
		})
	}
	t.Run("MemoizeFunc", func(t *testing.T) {
		f := cacheprop.MemoizeFunc(func(string) (*int, error) { return new(int), boom }, cacheprop.MemoOptions{})
		v, err := f("k")
		require.ErrorIs(t, err, boom)
		assert.Nil(t, v)
	})
}
