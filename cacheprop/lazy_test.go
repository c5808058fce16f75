package cacheprop_test

import (
	"errors"
	"os/exec"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
)

func TestLazyZeroValueIsEmpty(t *testing.T) {
	var l cacheprop.Lazy[string]
	v, ok := l.Peek()
	assert.False(t, ok)
	assert.Empty(t, v)
	assert.Equal(t, "x", l.Get(func() string { return "x" }))
	v, ok = l.Peek()
	assert.True(t, ok)
	assert.Equal(t, "x", v)
	assert.Equal(t, "x", l.Get(func() string { t.Fatal("computed twice"); return "" }))
}

func TestLazySetAndReset(t *testing.T) {
	var l cacheprop.Lazy[int]
	l.Set(7)
	assert.Equal(t, 7, l.Get(func() int { return 1 }))
	l.Reset()
	_, ok := l.Peek()
	assert.False(t, ok)
	assert.Equal(t, 1, l.Get(func() int { return 1 }))
	var zero cacheprop.Lazy[int]
	zero.Set(0)
	v, ok := zero.Peek()
	assert.True(t, ok, "a computed zero value is computed")
	assert.Zero(t, v)
}

func TestLazyComputesOnceUnderContention(t *testing.T) {
	for round := 0; round < 50; round++ {
		var l cacheprop.Lazy[int]
		var computes atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		results := make([]int, 32)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i] = l.Get(func() int {
					runtime.Gosched()
					return int(computes.Add(1)) * 100
				})
			}()
		}
		close(start)
		wg.Wait()
		require.EqualValues(t, 1, computes.Load(), "round %d", round)
		for _, r := range results {
			require.Equal(t, 100, r, "every caller gets the one result")
		}
	}
}

func TestLazyPanicLeavesTheCellEmpty(t *testing.T) {
	var l cacheprop.Lazy[string]
	assert.PanicsWithValue(t, "boom", func() { l.Get(func() string { panic("boom") }) })
	_, ok := l.Peek()
	assert.False(t, ok, "no poisoned cell")
	assert.Equal(t, "ok", l.Get(func() string { return "ok" }), "no deadlock: the next Get computes")
}

func TestLazyPanicDoesNotBlockWaiters(t *testing.T) {
	var l cacheprop.Lazy[int]
	entered := make(chan struct{})
	release := make(chan struct{})
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		l.Get(func() int {
			close(entered)
			<-release
			panic("first caller fails")
		})
	}()
	<-entered
	got := make(chan int, 1)
	go func() { got <- l.Get(func() int { return 42 }) }()
	close(release)
	assert.Equal(t, "first caller fails", <-panicked)
	assert.Equal(t, 42, <-got, "a waiter computes after the panic")
}

func TestLazyGetErrDoesNotCacheErrors(t *testing.T) {
	var l cacheprop.Lazy[string]
	boom := errors.New("boom")
	calls := 0
	_, err := l.GetErr(func() (string, error) { calls++; return "", boom })
	require.ErrorIs(t, err, boom)
	_, ok := l.Peek()
	assert.False(t, ok)
	v, err := l.GetErr(func() (string, error) { calls++; return "v", nil })
	require.NoError(t, err)
	assert.Equal(t, "v", v)
	v, err = l.GetErr(func() (string, error) { calls++; return "", boom })
	require.NoError(t, err)
	assert.Equal(t, "v", v)
	assert.Equal(t, 2, calls)
}

func TestLazyHitAllocatesNothing(t *testing.T) {
	var l cacheprop.Lazy[[]string]
	l.Get(func() []string { return []string{"a"} })
	compute := func() []string { return nil }
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = l.Get(compute) }))
}

// TestLazyConcurrentResetIsSafe documents what is safe: Get, Peek, Set and
// Reset from any goroutines at once. Every Get returns a value some
// computation or Set produced; a Reset during a computation is overtaken by
// that computation's result.
func TestLazyConcurrentResetIsSafe(t *testing.T) {
	var l cacheprop.Lazy[string]
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l.Reset()
				l.Set("set")
			}
		}()
	}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 2000; n++ {
				v := l.Get(func() string { return "computed" })
				if v != "computed" && v != "set" {
					t.Errorf("Get returned %q", v)
					return
				}
				if p, ok := l.Peek(); ok && p != "computed" && p != "set" {
					t.Errorf("Peek returned %q", p)
					return
				}
			}
		}()
	}
	// Let the readers finish, then the resetters.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			runtime.Gosched()
		}
	}()
	<-done
	close(stop)
	wg.Wait()
}

func TestLazyIsACachedPropertyWithoutATag(t *testing.T) {
	type user struct {
		Name  string
		Perms cacheprop.Lazy[[]string]
		HTML  string `cacheprop:"cached"`
		Empty string `cacheprop:""`
		Other string `json:"other"`
	}
	typ := reflect.TypeFor[user]()
	want := map[string]bool{"Name": false, "Perms": true, "HTML": true, "Empty": true, "Other": false}
	for name, cached := range want {
		f, ok := typ.FieldByName(name)
		require.True(t, ok)
		assert.Equal(t, cached, cacheprop.IsCached(f), name)
	}
}

// TestCopyingALazyIsReportedByVet runs go vet on a package that copies a
// struct holding a Lazy.
func TestCopyingALazyIsReportedByVet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	out, err := exec.Command("go", "vet", "./testdata/copylock").CombinedOutput()
	require.Error(t, err, "go vet must fail:\n%s", out)
	assert.Contains(t, string(out), "copies lock value")
}
