package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// notFoundLoader counts its calls and says the row does not exist, with
// ErrNotFound wrapped as a data layer would.
type notFoundLoader struct{ calls atomic.Int32 }

func (l *notFoundLoader) load(context.Context) (*page, error) {
	l.calls.Add(1)
	return nil, fmt.Errorf("products: row 42: %w", memcache.ErrNotFound)
}

// TestNegativeCachingRemembersAbsence: a loader's ErrNotFound is stored
// for WithNegativeTTL; GetOrLoad answers it without loading, here and in
// another store on the same cache (another process); Get reads it as a
// miss that is also ErrNotFound, GetMulti leaves it out.
func TestNegativeCachingRemembersAbsence(t *testing.T) {
	allBackends(t, func(t *testing.T, b memcache.Backend) {
		ctx := t.Context()
		s := newStore[*page](t, b, memcache.WithNegativeTTL(time.Minute))
		var l notFoundLoader
		_, err := s.GetOrLoad(ctx, "k", l.load)
		require.ErrorIs(t, err, memcache.ErrNotFound)
		require.ErrorContains(t, err, "row 42", "the loader's own error, unwrapped")
		for range 3 {
			p, err := s.GetOrLoad(ctx, "k", l.load)
			require.ErrorIs(t, err, memcache.ErrNotFound)
			require.NotErrorIs(t, err, memcache.ErrCacheMiss, "GetOrLoad answers misses")
			assert.Nil(t, p)
		}
		other := newStore[*page](t, b, memcache.WithNegativeTTL(time.Minute))
		_, err = other.GetOrLoad(ctx, "k", l.load)
		require.ErrorIs(t, err, memcache.ErrNotFound)
		assert.EqualValues(t, 1, l.calls.Load(), "loaded once: the absence is in the backend")

		_, err = s.Get(ctx, "k")
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "Get: a negative entry is no value")
		require.ErrorIs(t, err, memcache.ErrNotFound, "Get: and it says why")
		got, err := s.GetMulti(ctx, []string{"k"})
		require.NoError(t, err)
		assert.Empty(t, got)

		// A write replaces it.
		require.NoError(t, s.Set(ctx, "k", &page{Title: "now it exists"}))
		p, err := s.GetOrLoad(ctx, "k", l.load)
		require.NoError(t, err)
		assert.Equal(t, "now it exists", p.Title)
	})
}

// TestNegativeCachingOffByDefault: without WithNegativeTTL a loader's
// ErrNotFound is returned and nothing is stored; a negative entry another
// store wrote is a miss, loaded and overwritten.
func TestNegativeCachingOffByDefault(t *testing.T) {
	allBackends(t, func(t *testing.T, b memcache.Backend) {
		ctx := t.Context()
		s := newStore[*page](t, b)
		var l notFoundLoader
		for range 2 {
			_, err := s.GetOrLoad(ctx, "k", l.load)
			require.ErrorIs(t, err, memcache.ErrNotFound)
		}
		assert.EqualValues(t, 2, l.calls.Load())
		_, err := s.Get(ctx, "k")
		require.ErrorIs(t, err, memcache.ErrCacheMiss)
		require.NotErrorIs(t, err, memcache.ErrNotFound, "nothing stored")

		neg := newStore[*page](t, b, memcache.WithNegativeTTL(time.Minute))
		_, err = neg.GetOrLoad(ctx, "k", l.load)
		require.ErrorIs(t, err, memcache.ErrNotFound)
		p, err := s.GetOrLoad(ctx, "k", func(context.Context) (*page, error) { return &page{Title: "found"}, nil })
		require.NoError(t, err, "a store without negative caching loads over a negative entry")
		assert.Equal(t, "found", p.Title)
		p, err = neg.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "found", p.Title)
	})
}

// TestNegativeEntriesExpire: after WithNegativeTTL the key is loaded
// again (embedded, in a synctest bubble).
func TestNegativeEntriesExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore[*page](t, memcache.NewEmbedded(memcache.EmbeddedConfig{}), memcache.WithNegativeTTL(5*time.Second))
		var l notFoundLoader
		_, err := s.GetOrLoad(ctx, "k", l.load)
		require.ErrorIs(t, err, memcache.ErrNotFound)
		time.Sleep(4 * time.Second)
		_, err = s.GetOrLoad(ctx, "k", l.load)
		require.ErrorIs(t, err, memcache.ErrNotFound)
		assert.EqualValues(t, 1, l.calls.Load(), "within the negative TTL: not loaded")
		time.Sleep(2 * time.Second)
		_, err = s.GetOrLoad(ctx, "k", l.load)
		require.ErrorIs(t, err, memcache.ErrNotFound)
		assert.EqualValues(t, 2, l.calls.Load(), "after it: loaded again")
	})
}

// TestNegativeEntriesExpireOnMemcached: the same on a real server, whose
// clock ticks in seconds: a 1 s entry is gone within 3 s.
func TestNegativeEntriesExpireOnMemcached(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	s := newStore[*page](t, c, memcache.WithNegativeTTL(time.Second))
	ctx := t.Context()
	var l notFoundLoader
	_, err = s.GetOrLoad(ctx, "k", l.load)
	require.ErrorIs(t, err, memcache.ErrNotFound)
	_, err = s.Get(ctx, "k")
	require.ErrorIs(t, err, memcache.ErrNotFound, "the negative entry is there")
	require.Eventually(t, func() bool {
		_, err := s.Get(ctx, "k")
		return errors.Is(err, memcache.ErrCacheMiss) && !errors.Is(err, memcache.ErrNotFound)
	}, 5*time.Second, 50*time.Millisecond, "the negative entry expires")
	_, err = s.GetOrLoad(ctx, "k", l.load)
	require.ErrorIs(t, err, memcache.ErrNotFound)
	assert.EqualValues(t, 2, l.calls.Load())
}

// TestNegativeEntryFormat: a negative entry is an item of kind 3 with an
// empty payload (and the trailer), which no reader takes for a value: a
// store of another codec gets a *FormatError, Inspect names its kind.
func TestNegativeEntryFormat(t *testing.T) {
	ctx := t.Context()
	e := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	s := newStore[*page](t, e, memcache.WithCodec(codec.Msgpack), memcache.WithNegativeTTL(time.Minute))
	var l notFoundLoader
	_, err := s.GetOrLoad(ctx, "k", l.load)
	require.ErrorIs(t, err, memcache.ErrNotFound)
	k, err := s.Key("k")
	require.NoError(t, err)
	it, err := e.Get(ctx, k)
	require.NoError(t, err)
	assert.EqualValues(t, 0x4C, it.Flags>>24, "a leancache item")
	assert.EqualValues(t, 3, it.Flags>>12&0xf, "of kind 3: negative")
	assert.EqualValues(t, 0x0B, it.Flags&0xff, "of the writer's codec (msgpack)")
	assert.Len(t, it.Value, 12, "an empty payload and the trailer")

	other := newStore[*page](t, e, memcache.WithCodec(codec.JSON))
	_, err = other.Get(ctx, "k")
	require.ErrorIs(t, err, memcache.ErrFormat)
	in, err := memcache.Inspect(ctx, e, k)
	require.NoError(t, err)
	assert.Equal(t, "negative", in.Kind)

	plain := newStore[*page](t, e, memcache.WithCodec(codec.Msgpack), memcache.WithoutFingerprint(), memcache.WithNegativeTTL(time.Minute))
	_, err = plain.GetOrLoad(ctx, "v1", l.load)
	require.ErrorIs(t, err, memcache.ErrNotFound)
	k1, _ := plain.Key("v1")
	it, err = e.Get(ctx, k1)
	require.NoError(t, err)
	assert.Empty(t, it.Value, "format version 1: no trailer")
	_, err = plain.Get(ctx, "v1")
	require.ErrorIs(t, err, memcache.ErrNotFound)
}

func TestNegativeTTLMustNotBeNegative(t *testing.T) {
	_, err := memcache.NewStore[string](nil, memcache.WithNegativeTTL(-time.Second))
	require.ErrorIs(t, err, memcache.ErrInvalidOption)
}
