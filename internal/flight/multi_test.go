package flight_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/flight"
)

// TestDoMultiSharesKeysInFlight: a key in flight for Do, and one in flight
// for another DoMulti, are shared; the batch loads exactly the rest, once.
func TestDoMultiSharesKeysInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, string]
		release := make(chan struct{})
		var mu sync.Mutex
		var batches [][]string
		var wg sync.WaitGroup
		wg.Go(func() {
			v, err := g.Do(t.Context(), "a", 0, func(context.Context) (string, error) { <-release; return "A", nil })
			assert.NoError(t, err)
			assert.Equal(t, "A", v)
		})
		synctest.Wait()
		batch := func(_ context.Context, keys []string) ([]string, []error) {
			mu.Lock()
			batches = append(batches, keys)
			mu.Unlock()
			<-release
			out := make([]string, len(keys))
			for i, k := range keys {
				out[i] = k + "!"
			}
			return out, nil
		}
		wg.Go(func() {
			vals, errs := g.DoMulti(t.Context(), []string{"b", "c"}, 0, batch)
			assert.Equal(t, []string{"b!", "c!"}, vals)
			assert.Equal(t, []error{nil, nil}, errs)
		})
		synctest.Wait()
		var vals []string
		var errs []error
		wg.Go(func() { vals, errs = g.DoMulti(t.Context(), []string{"a", "b", "d", "d", "e"}, 0, batch) })
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.Equal(t, []string{"A", "b!", "d!", "d!", "e!"}, vals)
		assert.Equal(t, make([]error, 5), errs)
		assert.Equal(t, [][]string{{"b", "c"}, {"d", "e"}}, batches)
	})
}

func TestDoMultiErrorsPerKey(t *testing.T) {
	var g flight.Group[string, *int]
	boom := errors.New("boom")
	vals, errs := g.DoMulti(t.Context(), []string{"x", "y"}, 0, func(_ context.Context, keys []string) ([]*int, []error) {
		return []*int{new(int), new(int)}, []error{boom, nil}
	})
	require.ErrorIs(t, errs[0], boom)
	assert.Nil(t, vals[0], "the zero value with every error")
	assert.NoError(t, errs[1])
	assert.NotNil(t, vals[1])
}

func TestDoMultiTimeoutEndsTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		stuck := make(chan struct{})
		defer close(stuck)
		_, errs := g.DoMulti(t.Context(), []string{"x", "y"}, time.Second, func(context.Context, []string) ([]int, []error) {
			<-stuck
			return nil, nil
		})
		for _, err := range errs {
			require.ErrorIs(t, err, flight.ErrTimeout)
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}
		// The keys are free for a new load at once.
		v, err := g.Do(t.Context(), "x", 0, func(context.Context) (int, error) { return 1, nil })
		require.NoError(t, err)
		assert.Equal(t, 1, v)
	})
}

func TestDoMultiCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		release := make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, errs := g.DoMulti(ctx, []string{"x"}, 0, func(context.Context, []string) ([]int, []error) {
			<-release
			return []int{5}, nil
		})
		require.ErrorIs(t, errs[0], context.Canceled)
		var v int
		var err error
		done := make(chan struct{})
		go func() { v, err = g.Do(t.Context(), "x", 0, nil); close(done) }()
		synctest.Wait()
		close(release)
		<-done
		require.NoError(t, err, "the batch goes on for the others")
		assert.Equal(t, 5, v)
	})
}

func TestDoMultiPanicAndGoexit(t *testing.T) {
	var g flight.Group[string, int]
	func() {
		defer func() {
			p, ok := recover().(*flight.PanicError)
			require.True(t, ok)
			assert.Equal(t, "bad", p.Value)
		}()
		g.DoMulti(t.Context(), []string{"x"}, 0, func(context.Context, []string) ([]int, []error) { panic("bad") })
		t.Error("DoMulti returned after its load panicked")
	}()
	_, errs := g.DoMulti(t.Context(), []string{"x", "y"}, 0, func(context.Context, []string) ([]int, []error) {
		runtime.Goexit()
		return nil, nil
	})
	for _, err := range errs {
		require.ErrorIs(t, err, flight.ErrGoexit)
	}
}
