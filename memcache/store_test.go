package memcache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// plainJSON is encoding/json as a codec, without stripping: it lets these
// tests exercise the store's own mechanics, and stands for "a codec that
// ships cached properties" where the guard must explain a big value.
type plainJSON struct{}

func (plainJSON) Name() string                       { return "plain-json" }
func (plainJSON) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (plainJSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// rawBytes stores []byte as is, so sizes on the wire are exact.
type rawBytes struct{}

func (rawBytes) Name() string { return "raw" }
func (rawBytes) Marshal(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("raw: %T is not []byte", v)
	}
	return b, nil
}
func (rawBytes) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw: %T is not *[]byte", v)
	}
	*p = append([]byte(nil), data...)
	return nil
}

type page struct {
	Title  string
	Body   string
	Tags   []string
	Review []review
}

type review struct {
	Author string
	Text   string
}

func newStore[T any](t *testing.T, b memcache.Backend, opts ...memcache.Option) *memcache.Store[T] {
	t.Helper()
	s, err := memcache.NewStore[T](b, opts...)
	require.NoError(t, err)
	return s
}

// backends runs f against the embedded backend and a real memcached.
func backends(t *testing.T, f func(t *testing.T, b memcache.Backend)) {
	t.Run("embedded", func(t *testing.T) { f(t, memcache.NewEmbedded(memcache.EmbeddedConfig{})) })
	t.Run("memcached", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
		require.NoError(t, err)
		f(t, c)
	})
}

func TestStoreRoundTripAndMiss(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		ctx := context.Background()
		s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}), memcache.WithNamespace("pages", "v1"))
		_, err := s.Get(ctx, "home")
		require.ErrorIs(t, err, memcache.ErrCacheMiss)

		want := &page{Title: "Home", Body: "hello", Tags: []string{"a"}}
		require.NoError(t, s.Set(ctx, "home", want))
		got, err := s.Get(ctx, "home")
		require.NoError(t, err)
		assert.Equal(t, want, got)

		require.ErrorIs(t, s.Add(ctx, "home", want), memcache.ErrNotStored)
		require.ErrorIs(t, s.Replace(ctx, "absent", want), memcache.ErrNotStored)
		require.NoError(t, s.Touch(ctx, "home", time.Hour))
		require.NoError(t, s.Delete(ctx, "home"))
		require.ErrorIs(t, s.Delete(ctx, "home"), memcache.ErrCacheMiss)
		require.ErrorIs(t, s.Touch(ctx, "home", time.Hour), memcache.ErrCacheMiss)
	})
}

func TestStoreCompareAndSwap(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		ctx := context.Background()
		s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}))
		require.NoError(t, s.Set(ctx, "p", &page{Title: "v1"}))
		e1, err := s.GetEntry(ctx, "p")
		require.NoError(t, err)
		e2, err := s.GetEntry(ctx, "p")
		require.NoError(t, err)
		e1.Value.Title = "v2"
		require.NoError(t, s.CompareAndSwap(ctx, e1))
		e2.Value.Title = "lost update"
		require.ErrorIs(t, s.CompareAndSwap(ctx, e2), memcache.ErrCASConflict)
		got, err := s.Get(ctx, "p")
		require.NoError(t, err)
		assert.Equal(t, "v2", got.Title)
	})
}

func TestStoreGetMulti(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		ctx := context.Background()
		s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}))
		other := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}))
		require.NoError(t, s.Set(ctx, "a", &page{Title: "A"}))
		require.NoError(t, s.Set(ctx, "b c", &page{Title: "B"})) // a mapped key
		require.NoError(t, other.Set(ctx, "raw", []byte("not json")))

		got, err := s.GetMulti(ctx, []string{"a", "b c", "missing", "raw", "a"})
		var fe *memcache.FormatError
		require.ErrorAs(t, err, &fe, "the raw value is another codec's")
		_ = fe
		assert.Equal(t, "raw", fe.Key)
		assert.Len(t, got, 2, "good values are not lost to the bad one")
		assert.Equal(t, "A", got["a"].Title)
		assert.Equal(t, "B", got["b c"].Title)
	})
}

func TestStoreKeys(t *testing.T) {
	ctx := context.Background()
	s := newStore[[]byte](t, nil, memcache.WithCodec(rawBytes{}), memcache.WithNamespace("users", "v2"))
	raw := memcache.WithCodec(rawBytes{})

	k, err := s.Key("alice")
	require.NoError(t, err)
	assert.Equal(t, "users:v2:alice", k)

	hostile := []string{
		"two words", "line\r\nset x 0 0 1\r\nX", "tab\tkey", strings.Repeat("k", 10<<10),
		"\xff\xfe invalid utf-8", "with#hash", "nul\x00byte", "del\x7f",
	}
	seen := map[string]string{}
	for i, key := range hostile {
		mk, err := s.Key(key)
		require.NoError(t, err, "key %q", key)
		assert.True(t, memcache.ValidKey(mk), "mapped key %q must be legal", mk)
		assert.True(t, strings.HasPrefix(mk, "users:v2:#"), "mapped form %q", mk)
		if prev, dup := seen[mk]; dup {
			t.Fatalf("keys %q and %q collide on %q", prev, key, mk)
		}
		seen[mk] = key
		val := []byte(fmt.Sprint("value-", i))
		require.NoError(t, s.Set(ctx, key, val))
		got, err := s.Get(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, val, got)
	}
	// A verbatim key can never equal a mapped one: mapped keys hold '#',
	// which sends any caller's key holding one to the mapped form too.
	mk, _ := s.Key("with#hash")
	verbatim, _ := s.Key(strings.TrimPrefix(mk, "users:v2:"))
	assert.NotEqual(t, mk, verbatim)

	_, err = s.Key("")
	require.ErrorIs(t, err, memcache.ErrMalformedKey)
	require.ErrorIs(t, s.Set(ctx, "", []byte("x")), memcache.ErrMalformedKey)

	_, err = memcache.NewStore[[]byte](nil, raw, memcache.WithNamespace("bad space", "v1"))
	require.ErrorIs(t, err, memcache.ErrMalformedKey)
	_, err = memcache.NewStore[[]byte](nil, raw, memcache.WithNamespace(strings.Repeat("n", 220), ""))
	require.ErrorIs(t, err, memcache.ErrMalformedKey)
}

func TestStoreHostileKeysNeverReachTheWireRaw(t *testing.T) {
	// Against a real server: a key carrying a memcached command must not
	// execute it.
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	ctx := context.Background()
	s := newStore[[]byte](t, c, memcache.WithCodec(rawBytes{}))
	require.NoError(t, s.Set(ctx, "x 0 0 1\r\nset injected 0 0 1\r\nZ", []byte("v")))
	_, err = c.Get(ctx, "injected")
	require.ErrorIs(t, err, memcache.ErrCacheMiss, "the injected set must not have run")
}

func TestStoreFlagsNameTheCodec(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	js := newStore[*page](t, b, memcache.WithCodec(plainJSON{}))
	raw := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}))
	require.NoError(t, raw.Set(ctx, "k", []byte(`{"Title":"looks like json"}`)))

	_, err := js.Get(ctx, "k")
	require.ErrorIs(t, err, memcache.ErrFormat, "two custom codecs get different ids")

	// A value written by something else entirely (flags 0).
	require.NoError(t, b.Set(ctx, &memcache.Item{Key: "foreign", Value: []byte(`{}`)}))
	_, err = js.Get(ctx, "foreign")
	var fe *memcache.FormatError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Error(), "other than a leancache store")
}

func TestStoreDecodeErrorNamesTheKey(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}))
	require.NoError(t, s.Set(ctx, "k", &page{Title: "t"}))
	it, err := b.Get(ctx, "k")
	require.NoError(t, err)
	it.Value = it.Value[:len(it.Value)/2] // truncated, flags intact
	require.NoError(t, b.Set(ctx, it))

	_, err = s.Get(ctx, "k")
	var de *memcache.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "k", de.Key)
	var syntax *json.SyntaxError
	assert.ErrorAs(t, err, &syntax, "the codec's error is wrapped")
}

func TestStoreCompression(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	counters := &memcache.Counters{}
	// A word repeated compresses past the default ratio: these stores
	// allow any (TestCompressionRatioBound checks the default).
	ratio := memcache.WithMaxCompressionRatio(1 << 20)
	s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}), memcache.WithCompression(0), memcache.WithCounters(counters), ratio)
	big := &page{Title: "t", Body: strings.Repeat("compressible ", 50000)}
	require.NoError(t, s.Set(ctx, "big", big))
	plain, _ := json.Marshal(big)
	assert.Less(t, counters.BytesWritten.Load(), int64(len(plain)/10), "stored compressed")

	// A reader without the option still reads it: the flags say S2.
	reader := newStore[*page](t, b, memcache.WithCodec(plainJSON{}), ratio)
	got, err := reader.Get(ctx, "big")
	require.NoError(t, err)
	assert.Equal(t, big, got)

	// Small values stay uncompressed.
	require.NoError(t, s.Set(ctx, "small", &page{Title: "t"}))
	it, err := b.Get(ctx, "small")
	require.NoError(t, err)
	assert.JSONEq(t, `{"Title":"t","Body":"","Tags":null,"Review":null}`, string(it.Value))

	// An oversized value that compresses under the limit is accepted.
	huge := &page{Body: strings.Repeat("z", 3<<20)}
	require.NoError(t, s.Set(ctx, "huge", huge))
}

func TestStoreCorruptCompressedValue(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}), memcache.WithCompression(16))
	require.NoError(t, s.Set(ctx, "k", &page{Body: strings.Repeat("ab", 1000)}))
	it, err := b.Get(ctx, "k")
	require.NoError(t, err)

	// A header claiming 4 GiB decompressed, and nothing behind it.
	it.Value = []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}
	require.NoError(t, b.Set(ctx, it))
	var ms0, ms1 runtimeMem
	ms0.read()
	_, err = s.Get(ctx, "k")
	ms1.read()
	var de *memcache.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Less(t, ms1.totalAlloc-ms0.totalAlloc, uint64(1<<20), "a few bytes must not allocate gigabytes")

	it.Value = []byte("garbage that is not s2")
	require.NoError(t, b.Set(ctx, it))
	_, err = s.Get(ctx, "k")
	require.ErrorAs(t, err, &de)
}

func TestSizeGuardRejectsBeforeTheNetwork(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		ctx := context.Background()
		var calls []memcache.Op
		var mu sync.Mutex
		spy := func(next memcache.Handler) memcache.Handler {
			return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
				mu.Lock()
				calls = append(calls, req.Op)
				mu.Unlock()
				return next(ctx, req)
			}
		}
		counters := &memcache.Counters{}
		s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}), memcache.WithMiddleware(spy), memcache.WithCounters(counters))
		require.NoError(t, s.Set(ctx, "p", &page{Title: "old"}))

		big := &page{Title: "new", Body: strings.Repeat("x", 1200<<10), Review: []review{{Author: "a", Text: "short"}, {Author: "b", Text: strings.Repeat("y", 300<<10)}}}
		calls = nil
		err := s.Set(ctx, "p", big)
		require.ErrorIs(t, err, memcache.ErrTooLarge)
		var tl *memcache.TooLargeError
		require.ErrorAs(t, err, &tl)
		assert.Equal(t, "p", tl.Key)
		assert.Greater(t, tl.Size, tl.Limit)
		assert.Equal(t, memcache.DefaultItemSizeMax-59-len("p")-4, tl.Limit)
		require.GreaterOrEqual(t, len(tl.Fields), 2)
		assert.Equal(t, "page.Body", tl.Fields[0].Path)
		assert.Equal(t, "page.Review[1].Text", tl.Fields[1].Path)
		assert.Contains(t, err.Error(), "page.Body: 1.2 MB")
		assert.NotContains(t, calls, memcache.OpSet, "nothing was sent")
		assert.EqualValues(t, 1, counters.Rejected.Load())

		_, err = s.Get(ctx, "p")
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "like memcached, a rejected set removes the stale value")

		// Add does not delete what is there.
		require.NoError(t, s.Set(ctx, "q", &page{Title: "keep"}))
		require.ErrorIs(t, s.Add(ctx, "q", big), memcache.ErrTooLarge)
		got, err := s.Get(ctx, "q")
		require.NoError(t, err)
		assert.Equal(t, "keep", got.Title)
	})
}

func TestSizeGuardLimitIsTheServers(t *testing.T) {
	// The guard's limit is exact: the largest value it lets through, the
	// real server accepts; one byte more it refuses itself.
	for _, size := range []string{"1m", "2m"} {
		t.Run(size, func(t *testing.T) {
			srv := memcachetest.NewServer(t, memcachetest.Options{ItemSize: size, MemoryMB: 64})
			c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
			require.NoError(t, err)
			ctx := context.Background()
			s := newStore[[]byte](t, c, memcache.WithCodec(rawBytes{}))
			require.NoError(t, s.LoadItemSizeMax(ctx))
			key := "exact-size-key"
			k, _ := s.Key(key)
			limit := s.SizeGuard().Limit(k, 1) // any non-zero flags

			require.NoError(t, s.Set(ctx, key, bytes.Repeat([]byte("a"), limit)), "the server takes the guard's limit")
			got, err := s.Get(ctx, key)
			require.NoError(t, err)
			assert.Len(t, got, limit)

			err = s.Set(ctx, key, bytes.Repeat([]byte("a"), limit+1))
			var tl *memcache.TooLargeError
			require.ErrorAs(t, err, &tl, "one byte more is refused by the guard, not the server")
		})
	}
}

// sharesOneLoad has 20 callers of GetOrLoad for one key wait on a loader
// until release is called; whenever they come, they share one load.
func sharesOneLoad(t *testing.T, s *memcache.Store[*page], release func(release func())) {
	ctx := context.Background()
	var loads atomic.Int32
	gate := make(chan struct{})
	load := func(ctx context.Context) (*page, error) {
		loads.Add(1)
		<-gate
		return &page{Title: "loaded"}, nil
	}
	var wg sync.WaitGroup
	results := make(chan string, 20)
	for range 20 {
		wg.Go(func() {
			p, err := s.GetOrLoad(ctx, "k", load)
			if err != nil {
				results <- "error: " + err.Error()
				return
			}
			results <- p.Title
		})
	}
	release(func() { close(gate) })
	wg.Wait()
	close(results)
	for r := range results {
		assert.Equal(t, "loaded", r)
	}
	assert.EqualValues(t, 1, loads.Load(), "concurrent callers share the load")

	// Now it is cached: no further load.
	p, err := s.GetOrLoad(ctx, "k", load)
	require.NoError(t, err)
	assert.Equal(t, "loaded", p.Title)
	assert.EqualValues(t, 1, loads.Load())
}

func TestGetOrLoadSharesOneLoad(t *testing.T) {
	// In a bubble, the callers are known to wait on the load before it
	// ends.
	t.Run("embedded", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}))
			sharesOneLoad(t, s, func(release func()) {
				synctest.Wait() // all 20 blocked: one in the loader, the rest on its flight
				release()
			})
		})
	})
	// A real server cannot run in a bubble: the load is released at once,
	// and callers that come after it find the value it stored.
	t.Run("memcached", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
		require.NoError(t, err)
		sharesOneLoad(t, newStore[*page](t, c, memcache.WithCodec(plainJSON{})), func(release func()) { release() })
	})
}

func TestGetOrLoadErrorIsNotStored(t *testing.T) {
	ctx := context.Background()
	s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}))
	boom := errors.New("boom")
	_, err := s.GetOrLoad(ctx, "k", func(context.Context) (*page, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
	_, err = s.Get(ctx, "k")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
}

func TestGetOrLoadHonoursTheCallersContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}))
		release := make(chan struct{})
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		p, err := s.GetOrLoad(ctx, "slow", func(context.Context) (*page, error) {
			<-release
			return &page{}, nil
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Nil(t, p, "no zero value passed off as data")
		assert.Equal(t, 20*time.Millisecond, time.Since(start), "the caller waits exactly as long as its context allows")
	})
}

func TestGetOrLoadPanicReachesTheCaller(t *testing.T) {
	s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}))
	assert.Panics(t, func() {
		_, _ = s.GetOrLoad(context.Background(), "k", func(context.Context) (*page, error) { panic("loader bug") })
	})
	// The key is not stuck: the next call loads again.
	p, err := s.GetOrLoad(context.Background(), "k", func(context.Context) (*page, error) { return &page{Title: "ok"}, nil })
	require.NoError(t, err)
	assert.Equal(t, "ok", p.Title)
}

func TestGetOrLoadFailsOpenWhenTheServerIsDown(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	ctx := context.Background()
	var reported atomic.Int32
	open := newStore[*page](t, c, memcache.WithCodec(plainJSON{}),
		memcache.WithErrorHandler(func(string, error) { reported.Add(1) }))
	closed := newStore[*page](t, c, memcache.WithCodec(plainJSON{}), memcache.WithFailClosed())
	srv.Kill()

	p, err := open.GetOrLoad(ctx, "k", func(context.Context) (*page, error) { return &page{Title: "from db"}, nil })
	require.NoError(t, err)
	assert.Equal(t, "from db", p.Title)
	assert.EqualValues(t, 1, reported.Load())

	p, err = closed.GetOrLoad(ctx, "k", func(context.Context) (*page, error) { return &page{Title: "from db"}, nil })
	require.Error(t, err)
	assert.Nil(t, p)
}

func TestStoreHonoursACancelledContext(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, s.Set(ctx, "k", &page{}), context.Canceled)
		_, err := s.Get(ctx, "k")
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestCountersAndLogging(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	counters := &memcache.Counters{}
	s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}), memcache.WithCounters(counters),
		memcache.WithMiddleware(memcache.Logging(logger)))
	secret := "session-token-5f2c9a"
	require.NoError(t, s.Set(ctx, secret, &page{Title: "t"}))
	_, err := s.Get(ctx, secret)
	require.NoError(t, err)
	_, err = s.Get(ctx, "absent")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
	_, err = s.GetMulti(ctx, []string{secret, "absent"})
	require.NoError(t, err)

	assert.EqualValues(t, 2, counters.Hits.Load())
	assert.EqualValues(t, 2, counters.Misses.Load())
	assert.EqualValues(t, 1, counters.Writes.Load())
	assert.Positive(t, counters.BytesWritten.Load())
	assert.Equal(t, 2*counters.BytesWritten.Load(), counters.BytesRead.Load())
	assert.Zero(t, counters.Errors.Load())

	assert.Contains(t, logs.String(), "op=set")
	assert.NotContains(t, logs.String(), secret, "keys can be session tokens: never logged")
}

func TestStoreExpiration(t *testing.T) {
	ctx := context.Background()
	var sent atomic.Int32
	spy := func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
			if req.Item != nil {
				sent.Store(req.Item.Expiration)
			} else if req.Op == memcache.OpTouch {
				sent.Store(req.Expiration)
			}
			return next(ctx, req)
		}
	}
	for _, tc := range []struct {
		ttl  time.Duration
		want func() int32
	}{
		{0, func() int32 { return 0 }},
		{1500 * time.Millisecond, func() int32 { return 2 }}, // rounded up, never to zero (= forever)
		{30 * 24 * time.Hour, func() int32 { return 2592000 }},
		{40 * 24 * time.Hour, func() int32 { return int32(time.Now().Add(40 * 24 * time.Hour).Unix()) }},
		{-time.Second, func() int32 { return -1 }},
	} {
		s := newStore[[]byte](t, nil, memcache.WithCodec(rawBytes{}), memcache.WithExpiration(tc.ttl), memcache.WithMiddleware(spy))
		require.NoError(t, s.Set(ctx, "k", []byte("v")))
		assert.InDelta(t, tc.want(), sent.Load(), 2, "ttl %v", tc.ttl)
		if tc.ttl > 0 {
			require.NoError(t, s.Touch(ctx, "k", tc.ttl))
			assert.InDelta(t, tc.want(), sent.Load(), 2, "touch %v", tc.ttl)
		}
	}
}

type runtimeMem struct{ totalAlloc uint64 }
