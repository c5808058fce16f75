package memcache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/memcache/meta"
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

// bothClients runs f against one real memcached through the gomemcache
// Client and through meta.Client.
func bothClients(t *testing.T, f func(t *testing.T, srv *memcachetest.Server, b memcache.Backend)) {
	t.Run("gomemcache", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, Timeout: faultTimeout})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		f(t, srv, c)
	})
	t.Run("meta", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		c, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}, Timeout: faultTimeout})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		f(t, srv, c)
	})
}

func TestStoreSetMultiDeleteMulti(t *testing.T) {
	bothClients(t, func(t *testing.T, _ *memcachetest.Server, b memcache.Backend) {
		ctx := context.Background()
		var counters memcache.Counters
		s := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithChunking())
		r := rand.New(rand.NewPCG(5, 6))
		values := make(map[string][]byte)
		for i := range 100 {
			values[fmt.Sprintf("k%d", i)] = randomBytes(r, 1+r.IntN(2000))
		}
		values["big"] = randomBytes(r, 3<<20) // chunked
		values["has space"] = []byte("mapped to a legal key")
		require.NoError(t, s.SetMulti(ctx, values))

		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		got, err := s.GetMulti(ctx, keys)
		require.NoError(t, err)
		require.Len(t, got, len(values))
		for k, v := range values {
			require.True(t, bytes.Equal(v, got[k]), "value of %q", k)
		}

		// Without chunking, the big value is refused by the size guard on
		// its own: the others are stored, its previous value is gone.
		plain := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithCounters(&counters))
		err = plain.SetMulti(ctx, map[string][]byte{"k1": []byte("new"), "big": values["big"]})
		var me *memcache.MultiError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, []string{"big"}, me.Keys())
		require.ErrorIs(t, err, memcache.ErrTooLarge)
		assert.Contains(t, err.Error(), `"big"`)
		_, err = s.Get(ctx, "big")
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "as with Set, no stale value outlives the refused write")
		v, err := s.Get(ctx, "k1")
		require.NoError(t, err)
		assert.Equal(t, []byte("new"), v)
		assert.Equal(t, int64(1), counters.Rejected.Load())

		require.NoError(t, s.DeleteMulti(ctx, append(keys, "never set")), "a key that held nothing is not a failure")
		got, err = s.GetMulti(ctx, keys)
		require.NoError(t, err)
		assert.Empty(t, got)
	})
}

// A server that is gone fails every key, each named with its error; a
// value whose chunks failed leaves no index behind.
func TestStoreSetMultiNamesEveryKeyOfAFailingServer(t *testing.T) {
	bothClients(t, func(t *testing.T, srv *memcachetest.Server, b memcache.Backend) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithChunking())
		require.NoError(t, srv.Kill())
		err := s.SetMulti(ctx, map[string][]byte{"a": []byte("1"), "b": []byte("2"), "big": make([]byte, 2<<20)})
		var me *memcache.MultiError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, []string{"a", "b", "big"}, me.Keys())
		for k, e := range me.Errs {
			assert.False(t, memcache.IsCacheOutcome(e), "%s: %v is the server's failure", k, e)
		}
		err = s.DeleteMulti(ctx, []string{"a", "b"})
		require.ErrorAs(t, err, &me)
		assert.Equal(t, []string{"a", "b"}, me.Keys())

		require.NoError(t, srv.Restart())
		require.NoError(t, s.SetMulti(ctx, map[string][]byte{"a": []byte("1")}), "the client recovers")
	})
}
