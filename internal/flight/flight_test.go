package flight_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/flight"
)

func TestGroupSharesOneLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		var loads atomic.Int32
		release := make(chan struct{})
		load := func(context.Context) (int, error) {
			loads.Add(1)
			<-release
			return 7, nil
		}
		got := make([]int, 10)
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() {
				v, err := g.Do(context.Background(), "k", 0, load)
				assert.NoError(t, err)
				got[i] = v
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.EqualValues(t, 1, loads.Load())
		for _, v := range got {
			assert.Equal(t, 7, v)
		}
	})
}

func TestGroupErrorComesWithTheZeroValue(t *testing.T) {
	var g flight.Group[string, *int]
	boom := errors.New("boom")
	v, err := g.Do(t.Context(), "k", 0, func(context.Context) (*int, error) { return new(int), boom })
	require.ErrorIs(t, err, boom)
	assert.Nil(t, v)
}

// TestGroupCallerGivesUpLoadGoesOn: a caller's context bounds its own wait
// only; the load, whose context keeps the caller's values but not its
// cancellation, goes on for the others.
func TestGroupCallerGivesUpLoadGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, string]
		type ctxKey struct{}
		release := make(chan struct{})
		var loadErr error
		load := func(ctx context.Context) (string, error) {
			<-release
			loadErr = ctx.Err()
			return ctx.Value(ctxKey{}).(string), nil
		}
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "from the first caller"))
		first := make(chan error)
		go func() {
			_, err := g.Do(ctx, "k", 0, load)
			first <- err
		}()
		synctest.Wait()
		cancel()
		require.ErrorIs(t, <-first, context.Canceled)

		second := make(chan string)
		go func() {
			v, err := g.Do(context.Background(), "k", 0, func(context.Context) (string, error) {
				t.Error("the load in progress was abandoned")
				return "", nil
			})
			assert.NoError(t, err)
			second <- v
		}()
		synctest.Wait()
		close(release)
		assert.Equal(t, "from the first caller", <-second)
		assert.NoError(t, loadErr, "the load's context is not cancelled with its caller's")
	})
}

// TestGroupTimeoutEndsTheCall: a load that never heeds its context holds
// its key only until its timeout; its late end does not disturb the load
// that replaced it.
func TestGroupTimeoutEndsTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = time.Minute
		var g flight.Group[string, int]
		hung := make(chan struct{})
		deadlines := make(chan time.Time, 1) // the loader outlives its callers
		start := time.Now()
		_, err := g.Do(context.Background(), "k", d, func(ctx context.Context) (int, error) {
			dl, _ := ctx.Deadline()
			deadlines <- dl
			<-hung
			return 1, nil
		})
		require.ErrorIs(t, err, flight.ErrTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, d, time.Since(start))
		assert.Equal(t, start.Add(d), <-deadlines)

		// The next caller starts afresh and others join it, even after
		// the hung load ends.
		release := make(chan struct{})
		var loads atomic.Int32
		load := func(context.Context) (int, error) {
			loads.Add(1)
			<-release
			return 2, nil
		}
		got := make([]int, 3)
		var wg sync.WaitGroup
		wg.Go(func() { got[0], _ = g.Do(context.Background(), "k", d, load) })
		synctest.Wait()
		close(hung)
		synctest.Wait()
		for i := 1; i < len(got); i++ {
			wg.Go(func() { got[i], _ = g.Do(context.Background(), "k", d, load) })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.Equal(t, []int{2, 2, 2}, got)
		assert.EqualValues(t, 1, loads.Load(), "the hung load's end did not free the key of the one that replaced it")
	})
}

// TestGroupTimeoutOfAHeedingLoad: a load that returns its context's error
// at the deadline reports the timeout as one that does not.
func TestGroupTimeoutOfAHeedingLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		_, err := g.Do(context.Background(), "k", time.Second, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 1, ctx.Err()
		})
		require.ErrorIs(t, err, flight.ErrTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestGroupPanicReachesEveryCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		errBug := errors.New("bug")
		release := make(chan struct{})
		got := make([]any, 3)
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() {
				defer func() { got[i] = recover() }()
				_, _ = g.Do(context.Background(), "k", 0, func(context.Context) (int, error) {
					<-release
					panic(errBug)
				})
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		for _, r := range got {
			pe, ok := r.(*flight.PanicError)
			require.True(t, ok, "%T %v", r, r)
			assert.ErrorIs(t, pe, errBug)
			assert.Contains(t, string(pe.Stack), "flight_test.go")
		}
		v, err := g.Do(context.Background(), "k", 0, func(context.Context) (int, error) { return 3, nil })
		require.NoError(t, err, "the key is free after a panic")
		assert.Equal(t, 3, v)
	})
}

func TestGroupGoexitIsAnError(t *testing.T) {
	var g flight.Group[string, *int]
	v, err := g.Do(t.Context(), "k", 0, func(context.Context) (*int, error) {
		runtime.Goexit()
		return new(int), nil
	})
	require.ErrorIs(t, err, flight.ErrGoexit)
	assert.Nil(t, v)
}

func TestPanicErrorUnwrapsToItsValue(t *testing.T) {
	errBad := errors.New("bad")
	var err error = &flight.PanicError{Value: errBad}
	assert.ErrorIs(t, err, errBad)
	assert.NoError(t, (&flight.PanicError{Value: "not an error"}).Unwrap())
}
