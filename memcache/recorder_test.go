package memcache_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// events is a Recorder that keeps the kinds of the events it is told, by
// call, and the calls' errors.
type events struct {
	mu    sync.Mutex
	kinds []string // "op:event"
	calls []string // "op" or "op!reason"
}

func (r *events) StartCall(ctx context.Context, c memcache.Call) context.Context { return ctx }

func (r *events) Record(_ context.Context, e memcache.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range max(e.Count, 1) {
		r.kinds = append(r.kinds, string(e.Op)+":"+e.Kind.String())
	}
}

func (r *events) EndCall(_ context.Context, c memcache.Call, _ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := string(c.Op)
	if reason := memcache.FailureReason(err); reason != "" {
		call += "!" + reason
	}
	r.calls = append(r.calls, call)
}

func (r *events) take() (kinds, calls []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kinds, calls = r.kinds, r.calls
	r.kinds, r.calls = nil, nil
	return kinds, calls
}

func TestRecorderSeesSharedLoads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := new(events)
		s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}), memcache.WithRecorder(rec))
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				_, err := s.GetOrLoad(context.Background(), "k", func(context.Context) (*page, error) {
					<-release
					return &page{Title: "t"}, nil
				})
				assert.NoError(t, err)
			})
		}
		synctest.Wait() // every caller has missed and waits on the one load
		close(release)
		wg.Wait()
		kinds, calls := rec.take()
		count := map[string]int{}
		for _, k := range kinds {
			count[k]++
		}
		assert.Equal(t, map[string]int{
			"getorload:miss": 5, "getorload:lease_won": 1, "getorload:load": 1, "getorload:shared_load": 4, "set:write": 1,
		}, count)
		assert.ElementsMatch(t, []string{"getorload", "getorload", "getorload", "getorload", "getorload", "set"}, calls)
	})
}

func TestRecorderSeesChunksSchemaMissesAndRefusals(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	rec := new(events)
	ctx := context.Background()
	chunked := newStore[[]byte](t, c, memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithRecorder(rec))
	big := bytes.Repeat([]byte("abcdefgh"), 300_000) // 2.4 MB: 3 chunks of memcached's 1 MB items
	require.NoError(t, chunked.Set(ctx, "big", big))
	got, err := chunked.Get(ctx, "big")
	require.NoError(t, err)
	require.Equal(t, big, got)
	kinds, _ := rec.take()
	assert.Equal(t, []string{"set:write", "set:chunked_write", "set:chunked_write", "set:chunked_write", "get:chunked_read", "get:chunked_read", "get:chunked_read", "get:hit"}, kinds)

	plain := newStore[[]byte](t, c, memcache.WithCodec(rawBytes{}), memcache.WithRecorder(rec))
	err = plain.Set(ctx, "big2", big)
	require.ErrorIs(t, err, memcache.ErrTooLarge)
	kinds, calls := rec.take()
	assert.Equal(t, []string{"set:too_large"}, kinds)
	assert.Equal(t, []string{"set!" + memcache.ReasonTooLarge}, calls)

	// A value of another schema, then read by GetMulti among a miss.
	type v1 struct{ A int }
	type v2 struct{ B string }
	old := newStore[v1](t, c, memcache.WithNamespace("s", "1"))
	require.NoError(t, old.Set(ctx, "x", v1{A: 1}))
	cur := newStore[v2](t, c, memcache.WithNamespace("s", "1"), memcache.WithRecorder(rec))
	m, err := cur.GetMulti(ctx, []string{"x", "y"})
	require.NoError(t, err)
	assert.Empty(t, m)
	kinds, _ = rec.take()
	assert.ElementsMatch(t, []string{"getmulti:miss", "getmulti:schema_miss", "getmulti:miss"}, kinds)
}

// TestFailuresAreLoggedByDefault: a store without recorder or error
// handler warns on slog's default logger when memcached is gone, without
// the key; an error handler takes the fail-open answers off the log.
func TestFailuresAreLoggedByDefault(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	srv := memcachetest.NewServer(t)
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	s := newStore[*page](t, c, memcache.WithCodec(plainJSON{}), memcache.WithName("pages"))
	require.NoError(t, srv.Kill())
	const token = "tok-7f3a9c0e5d1b2468ace0"
	p, err := s.GetOrLoad(context.Background(), token, func(context.Context) (*page, error) { return &page{Title: "t"}, nil })
	require.NoError(t, err, "fails open")
	require.Equal(t, "t", p.Title)
	_, err = s.Get(context.Background(), token)
	require.Error(t, err)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, buf.String())
	assert.Contains(t, lines[0], "answered from the loader")
	assert.Contains(t, lines[1], "cache backend failure")
	for _, l := range lines {
		assert.Contains(t, l, "level=WARN")
		assert.Contains(t, l, "store=pages")
		assert.Contains(t, l, memcache.HashKey(token))
		assert.NotContains(t, l, token)
	}

	buf.Reset()
	var told []error
	handled := newStore[*page](t, c, memcache.WithCodec(plainJSON{}), memcache.WithErrorHandler(func(_ string, err error) { told = append(told, err) }))
	_, err = handled.GetOrLoad(context.Background(), "k", func(context.Context) (*page, error) { return &page{}, nil })
	require.NoError(t, err)
	assert.Len(t, told, 1)
	assert.Empty(t, buf.String(), "the handler is told; the log is not")
}

// TestRecorderSeesLeasesAndStaleValues: on a backend with leases (the
// embedded one), the caller that loads a missing value wins its lease, and
// after Invalidate the stale value is served while one caller, winning the
// lease, reloads it in the background.
func TestRecorderSeesLeasesAndStaleValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		rec := new(events)
		s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}), memcache.WithRecorder(rec))
		loads := 0
		load := func(context.Context) (*page, error) {
			loads++
			return &page{Title: fmt.Sprint("v", loads)}, nil
		}
		got, err := s.GetOrLoad(ctx, "k", load)
		require.NoError(t, err)
		assert.Equal(t, "v1", got.Title)
		require.NoError(t, s.Invalidate(ctx, "k"))
		rec.take()

		got, err = s.GetOrLoad(ctx, "k", load)
		require.NoError(t, err)
		assert.Equal(t, "v1", got.Title, "the stale value is served")
		synctest.Wait() // the background reload
		kinds, _ := rec.take()
		assert.Contains(t, kinds, "getorload:serve_stale")
		assert.Contains(t, kinds, "getorload:lease_won")
		assert.Equal(t, 2, loads, "one reload")
		got, err = s.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "v2", got.Title)
	})
}

// TestLoaderNotFoundIsNotLogged: a loader's ErrNotFound is an answer about
// the data, not a failure of the cache, so it is no warning on the default
// logger and has no failure reason.
func TestLoaderNotFoundIsNotLogged(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	for _, opts := range [][]memcache.Option{nil, {memcache.WithNegativeTTL(time.Minute)}} {
		s := newStore[*page](t, memcache.NewEmbedded(memcache.EmbeddedConfig{}), opts...)
		_, err := s.GetOrLoad(context.Background(), "gone", func(context.Context) (*page, error) {
			return nil, fmt.Errorf("pages: row 7: %w", memcache.ErrNotFound)
		})
		require.ErrorIs(t, err, memcache.ErrNotFound)
		assert.Empty(t, memcache.FailureReason(err))
	}
	assert.Empty(t, buf.String())
}
