package memcache_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

var errChunksDown = errors.New("chunk fetch down")

// failNthGetMulti fails the n-th multi-get the store sends (from 1), and
// only that one.
func failNthGetMulti(n int32) memcache.Middleware {
	var seen atomic.Int32
	return func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
			if req.Op == memcache.OpGetMulti && seen.Add(1) == n {
				return nil, errChunksDown
			}
			return next(ctx, req)
		}
	}
}

// A failed fetch of chunks after the first multi-get costs the chunked
// values only: the plain values already decoded come back with the error,
// which names the keys whose chunks could not be read.
func TestGetMultiKeepsPlainValuesWhenChunkFetchFails(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	w := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithChunking())
	r := rand.New(rand.NewPCG(3, 4))
	big := randomBytes(r, 2<<20)
	require.NoError(t, w.Set(ctx, "small", []byte("s")))
	require.NoError(t, w.Set(ctx, "big", big))

	s := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithMiddleware(failNthGetMulti(2)))
	m, err := s.GetMulti(ctx, []string{"small", "big", "absent"})
	require.ErrorIs(t, err, errChunksDown)
	assert.Contains(t, err.Error(), `"big"`, "the error names the value it lost")
	assert.NotContains(t, err.Error(), `"small"`)
	assert.Equal(t, map[string][]byte{"small": []byte("s")}, m, "the plain value decoded before the failure is kept")

	m, err = w.GetMulti(ctx, []string{"small", "big"})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(big, m["big"]), "nothing was lost in the cache")
}
