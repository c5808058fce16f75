package cacheprop_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/leancache/leancache/cacheprop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiClient stands for a third-party client whose methods we memoize without
// being able to add a field to it.
type apiClient struct {
	name    string
	fetches atomic.Int32
	fail    atomic.Bool
}

var errUnavailable = errors.New("unavailable")

func (c *apiClient) Fetch(id int) (string, error) {
	c.fetches.Add(1)
	if c.fail.Load() {
		return "", errUnavailable
	}
	return fmt.Sprintf("%s#%d", c.name, id), nil
}

type tenantKey struct{}

func (c *apiClient) FetchContext(ctx context.Context, id int) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	tenant, _ := ctx.Value(tenantKey{}).(string)
	v, err := c.Fetch(id)
	return v + "/" + tenant, err
}

func TestMemoizeFunc(t *testing.T) {
	c := &apiClient{name: "a"}
	fetch := cacheprop.MemoizeFunc(c.Fetch, cacheprop.MemoOptions{})
	for range 3 {
		v, err := fetch(1)
		require.NoError(t, err)
		assert.Equal(t, "a#1", v)
	}
	assert.EqualValues(t, 1, c.fetches.Load())

	other := &apiClient{name: "b"}
	v, err := cacheprop.MemoizeFunc(other.Fetch, cacheprop.MemoOptions{})(1)
	require.NoError(t, err)
	assert.Equal(t, "b#1", v, "each memoized function is bound to its own client")
}

func TestMemoizeFuncDoesNotStoreErrors(t *testing.T) {
	c := &apiClient{name: "a"}
	c.fail.Store(true)
	fetch := cacheprop.MemoizeFunc(c.Fetch, cacheprop.MemoOptions{})
	_, err := fetch(1)
	require.ErrorIs(t, err, errUnavailable)
	c.fail.Store(false)
	v, err := fetch(1)
	require.NoError(t, err)
	assert.Equal(t, "a#1", v)
	assert.EqualValues(t, 2, c.fetches.Load())
}

func TestMemoizeFuncOptions(t *testing.T) {
	c := &apiClient{name: "a"}
	fetch := cacheprop.MemoizeFunc(c.Fetch, cacheprop.MemoOptions{MaxEntries: 1})
	for _, id := range []int{1, 2, 1} {
		_, err := fetch(id)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, c.fetches.Load(), "a bound of one entry evicts 1 when 2 is stored")
}

func TestMemoizeFuncContext(t *testing.T) {
	c := &apiClient{name: "a"}
	fetch := cacheprop.MemoizeFuncContext(c.FetchContext, cacheprop.MemoOptions{})
	v, err := fetch(context.WithValue(context.Background(), tenantKey{}, "t1"), 1)
	require.NoError(t, err)
	assert.Equal(t, "a#1/t1", v, "the context is passed through")
	v, err = fetch(context.WithValue(context.Background(), tenantKey{}, "t2"), 1)
	require.NoError(t, err)
	assert.Equal(t, "a#1/t1", v, "the context is not part of the key")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = fetch(ctx, 2)
	require.ErrorIs(t, err, context.Canceled)
	v, err = fetch(context.Background(), 2)
	require.NoError(t, err, "a cancellation is not stored")
	assert.Equal(t, "a#2/", v)
	assert.EqualValues(t, 2, c.fetches.Load())
}

func TestMemoizeFuncNil(t *testing.T) {
	assert.Panics(t, func() { cacheprop.MemoizeFunc[int, string](nil, cacheprop.MemoOptions{}) })
	assert.Panics(t, func() { cacheprop.MemoizeFuncContext[int, string](nil, cacheprop.MemoOptions{}) })
}

func TestMemoizeFuncComputeOncePerKey(t *testing.T) {
	c := &apiClient{name: "a"}
	fetch := cacheprop.MemoizeFuncContext(c.FetchContext, cacheprop.MemoOptions{})
	const goroutines, keys = 16, 8
	hammer(goroutines, func(g int) {
		for k := range keys {
			id := (g + k) % keys
			v, err := fetch(context.Background(), id)
			assert.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("a#%d/", id), v)
		}
	})
	assert.EqualValues(t, keys, c.fetches.Load())
}
