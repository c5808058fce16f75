package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/backendtest"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/memcache/meta"
)

// nearPair returns a store with a near cache over b, its counters, and a
// store without one over other, which reaches the same data: another
// process, writing behind the first one's back.
func nearPair(t *testing.T, b, other memcache.Backend, cfg memcache.NearCacheConfig, opts ...memcache.Option) (near *memcache.Store[*page], c *memcache.Counters, far *memcache.Store[*page]) {
	t.Helper()
	c = new(memcache.Counters)
	opts = append([]memcache.Option{memcache.WithCodec(plainJSON{})}, opts...)
	near = newStore[*page](t, b, append(opts, memcache.WithNearCache(cfg), memcache.WithCounters(c))...)
	far = newStore[*page](t, other, opts...)
	return near, c, far
}

// nearBackends runs f against the embedded backend and against real
// memcached; other reaches the same data as b (for memcached, through a
// client of its own, as another process would).
func nearBackends(t *testing.T, f func(t *testing.T, b, other memcache.Backend)) {
	t.Run("embedded", func(t *testing.T) {
		e := memcache.NewEmbedded(memcache.EmbeddedConfig{})
		f(t, e, e)
	})
	t.Run("memcached", func(t *testing.T) {
		srv := memcachetest.NewServer(t)
		client := func() memcache.Backend {
			c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
			require.NoError(t, err)
			return c
		}
		f(t, client(), client())
	})
}

func title(t *testing.T, s *memcache.Store[*page], key string) string {
	t.Helper()
	p, err := s.Get(context.Background(), key)
	require.NoError(t, err)
	return p.Title
}

// TestNearCacheEntryEndsWithItsTTL: within its TTL an entry is served
// (another process's write unseen), and not a moment after.
func TestNearCacheEntryEndsWithItsTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e := memcache.NewEmbedded(memcache.EmbeddedConfig{})
		near, c, far := nearPair(t, e, e, memcache.NearCacheConfig{TTL: 2 * time.Second})
		require.NoError(t, far.Set(ctx, "k", &page{Title: "v1"}))
		assert.Equal(t, "v1", title(t, near, "k"))
		assert.Zero(t, c.NearHits.Load(), "the first read goes to the backend")

		require.NoError(t, far.Set(ctx, "k", &page{Title: "v2"}))
		time.Sleep(2*time.Second - time.Nanosecond)
		assert.Equal(t, "v1", title(t, near, "k"), "served from the near cache within its TTL")
		assert.EqualValues(t, 1, c.NearHits.Load())
		assert.EqualValues(t, 2, c.Hits.Load(), "a near hit is a hit too")

		time.Sleep(time.Nanosecond)
		assert.Equal(t, "v2", title(t, near, "k"), "the entry ends with its TTL")
		assert.EqualValues(t, 1, c.NearHits.Load())
	})
}

// TestNearCacheSeesOtherProcessesWithinTTL: two stores over one memcached,
// each with a near cache, see each other's writes at most TTL after they
// returned. A real server cannot run in a synctest bubble, so this one
// waits for the TTL on the wall clock: the wait is the property.
func TestNearCacheSeesOtherProcessesWithinTTL(t *testing.T) {
	srv := memcachetest.NewServer(t)
	ctx := context.Background()
	const ttl = 2 * time.Second
	open := func() *memcache.Store[*page] {
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
		require.NoError(t, err)
		return newStore[*page](t, c, memcache.WithCodec(plainJSON{}), memcache.WithNearCache(memcache.NearCacheConfig{TTL: ttl}))
	}
	a, b := open(), open()
	require.NoError(t, a.Set(ctx, "k", &page{Title: "v1"}))
	assert.Equal(t, "v1", title(t, b, "k"))
	assert.Equal(t, "v1", title(t, a, "k"))

	require.NoError(t, b.Set(ctx, "k", &page{Title: "v2"}))
	wrote := time.Now()
	assert.Equal(t, "v2", title(t, b, "k"), "the writer sees its own write at once")
	if time.Since(wrote) < ttl/2 { // the machine may stall; then the next check proves nothing
		assert.Equal(t, "v1", title(t, a, "k"), "the other store's entry is still served")
	}
	time.Sleep(time.Until(wrote.Add(ttl)))
	assert.Equal(t, "v2", title(t, a, "k"), "at most TTL after the write returned, the other store sees it")

	require.NoError(t, a.Delete(ctx, "k"))
	deleted := time.Now()
	_, err := a.Get(ctx, "k")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
	time.Sleep(time.Until(deleted.Add(ttl)))
	_, err = b.Get(ctx, "k")
	require.ErrorIs(t, err, memcache.ErrCacheMiss, "a delete too is seen after at most TTL")
}

// TestNearCacheLocalWritesEndEntries: every call of the store that changes
// a key ends its entry at once, on both backends. Each case fills the
// entry, has the other store change the key behind its back where the
// call itself does not, then checks the near store reads the new state
// without waiting for the TTL (an hour).
func TestNearCacheLocalWritesEndEntries(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// change changes "k" (holding v1, its entry filled), with the far
		// store's help when it must; want is then what the near store
		// reads ("" for a miss; Invalidate is a Delete without leases).
		change func(t *testing.T, near, far *memcache.Store[*page]) error
		want   string
	}{
		{"set", func(t *testing.T, near, far *memcache.Store[*page]) error {
			return near.Set(ctx, "k", &page{Title: "v2"})
		}, "v2"},
		{"replace", func(t *testing.T, near, far *memcache.Store[*page]) error {
			return near.Replace(ctx, "k", &page{Title: "v2"})
		}, "v2"},
		{"add after a delete elsewhere", func(t *testing.T, near, far *memcache.Store[*page]) error {
			require.NoError(t, far.Delete(ctx, "k"))
			return near.Add(ctx, "k", &page{Title: "v2"})
		}, "v2"},
		{"add refused", func(t *testing.T, near, far *memcache.Store[*page]) error {
			require.NoError(t, far.Set(ctx, "k", &page{Title: "v2"}))
			err := near.Add(ctx, "k", &page{Title: "v3"})
			require.ErrorIs(t, err, memcache.ErrNotStored)
			return nil
		}, "v2"},
		{"compare-and-swap", func(t *testing.T, near, far *memcache.Store[*page]) error {
			e, err := near.GetEntry(ctx, "k")
			require.NoError(t, err)
			e.Value = &page{Title: "v2"}
			return near.CompareAndSwap(ctx, e)
		}, "v2"},
		{"delete", func(t *testing.T, near, far *memcache.Store[*page]) error {
			return near.Delete(ctx, "k")
		}, ""},
		{"touch", func(t *testing.T, near, far *memcache.Store[*page]) error {
			require.NoError(t, far.Set(ctx, "k", &page{Title: "v2"}))
			return near.Touch(ctx, "k", time.Hour)
		}, "v2"},
		{"invalidate", func(t *testing.T, near, far *memcache.Store[*page]) error {
			require.NoError(t, far.Set(ctx, "k", &page{Title: "v2"}))
			return near.Invalidate(ctx, "k")
		}, "v2 or a miss"},
		{"setmulti", func(t *testing.T, near, far *memcache.Store[*page]) error {
			return near.SetMulti(ctx, map[string]*page{"k": {Title: "v2"}, "other": {Title: "o"}})
		}, "v2"},
		{"deletemulti", func(t *testing.T, near, far *memcache.Store[*page]) error {
			return near.DeleteMulti(ctx, []string{"k", "other"})
		}, ""},
		{"getorload after a delete", func(t *testing.T, near, far *memcache.Store[*page]) error {
			require.NoError(t, near.Delete(ctx, "k"))
			p, err := near.GetOrLoad(ctx, "k", func(context.Context) (*page, error) { return &page{Title: "v2"}, nil })
			require.NoError(t, err)
			require.Equal(t, "v2", p.Title)
			return nil
		}, "v2"},
	}
	nearBackends(t, func(t *testing.T, b, other memcache.Backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				near, c, far := nearPair(t, b, other, memcache.NearCacheConfig{TTL: time.Minute},
					memcache.WithNamespace("t", strconv.Itoa(int(time.Now().UnixNano()%1e9))))
				require.NoError(t, far.Set(ctx, "k", &page{Title: "v1"}))
				require.Equal(t, "v1", title(t, near, "k"))
				require.Equal(t, "v1", title(t, near, "k"))
				require.EqualValues(t, 1, c.NearHits.Load(), "the entry is filled and served")

				require.NoError(t, tc.change(t, near, far))
				p, err := near.Get(ctx, "k")
				if tc.want == "v2 or a miss" {
					if err == nil {
						assert.Equal(t, "v2", p.Title)
						return
					}
					require.ErrorIs(t, err, memcache.ErrCacheMiss)
					return
				}
				if tc.want == "" {
					require.ErrorIs(t, err, memcache.ErrCacheMiss)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tc.want, p.Title)
			})
		}
	})
}

// TestNearCacheChunkedValues: a chunked value is served whole from the
// near cache, and a local write or delete of it ends the entries of its
// index and chunks at once.
func TestNearCacheChunkedValues(t *testing.T) {
	ctx := context.Background()
	big := func(c byte) []byte {
		b := make([]byte, 300<<10)
		for i := range b {
			b[i] = c + byte(i%7)
		}
		return b
	}
	nearBackends(t, func(t *testing.T, b, other memcache.Backend) {
		c := new(memcache.Counters)
		opts := []memcache.Option{memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithItemSizeMax(64 << 10),
			memcache.WithNamespace("chunk", strconv.Itoa(int(time.Now().UnixNano()%1e9)))}
		near := newStore[[]byte](t, b, append(opts, memcache.WithNearCache(memcache.NearCacheConfig{TTL: time.Minute}), memcache.WithCounters(c))...)
		far := newStore[[]byte](t, other, opts...)

		require.NoError(t, far.Set(ctx, "big", big('a')))
		v, err := near.Get(ctx, "big")
		require.NoError(t, err)
		require.Equal(t, big('a'), v)
		hits := c.NearHits.Load()
		v, err = near.Get(ctx, "big")
		require.NoError(t, err)
		require.Equal(t, big('a'), v)
		assert.Greater(t, c.NearHits.Load(), hits+1, "the index and its chunks are served from the near cache")

		require.NoError(t, near.Set(ctx, "big", big('b')))
		v, err = near.Get(ctx, "big")
		require.NoError(t, err)
		require.Equal(t, big('b'), v, "a local write of a chunked value ends its entries")

		require.NoError(t, near.Delete(ctx, "big"))
		_, err = near.Get(ctx, "big")
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "a local delete of a chunked value ends its entries")
	})
}

// TestNearCacheNeverOutlivesAKnownExpiry: an item this store wrote to
// live 3 s is not served past that, whatever the near cache's TTL.
func TestNearCacheNeverOutlivesAKnownExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}), memcache.WithExpiration(3*time.Second),
			memcache.WithNearCache(memcache.NearCacheConfig{TTL: time.Minute}))
		require.NoError(t, s.Set(ctx, "k", &page{Title: "v1"}))
		for range 5 {
			time.Sleep(500 * time.Millisecond)
			assert.Equal(t, "v1", title(t, s, "k"))
		}
		time.Sleep(500 * time.Millisecond)
		_, err := s.Get(ctx, "k")
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "expired in the backend, and so in the near cache")

		// Through GetOrLoad (a lease read on the embedded backend), too.
		loads := 0
		load := func(context.Context) (*page, error) { loads++; return &page{Title: "v" + strconv.Itoa(loads)}, nil }
		p, err := s.GetOrLoad(ctx, "l", load)
		require.NoError(t, err)
		assert.Equal(t, "v1", p.Title)
		time.Sleep(2500 * time.Millisecond)
		p, err = s.GetOrLoad(ctx, "l", load)
		require.NoError(t, err)
		assert.Equal(t, "v1", p.Title)
		time.Sleep(time.Second)
		p, err = s.GetOrLoad(ctx, "l", load)
		require.NoError(t, err)
		assert.Equal(t, "v2", p.Title, "reloaded once the item expired")
	})
}

// TestNearCacheHitsDecodeAfresh: each hit is decoded into memory of its
// own, so a caller that changes its value changes nobody else's.
func TestNearCacheHitsDecodeAfresh(t *testing.T) {
	ctx := context.Background()
	s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}), memcache.WithNearCache(memcache.NearCacheConfig{}))
	require.NoError(t, s.Set(ctx, "k", &page{Title: "v1", Tags: []string{"a"}}))
	p1, err := s.Get(ctx, "k")
	require.NoError(t, err)
	p1.Title, p1.Tags[0] = "changed", "changed"
	p2, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, &page{Title: "v1", Tags: []string{"a"}}, p2)
	m, err := s.GetMulti(ctx, []string{"k"})
	require.NoError(t, err)
	assert.Equal(t, &page{Title: "v1", Tags: []string{"a"}}, m["k"])
	assert.NotSame(t, p2, m["k"])
}

// TestNearCacheGetMulti: a multi-get serves the keys it holds and asks the
// backend for the others only.
func TestNearCacheGetMulti(t *testing.T) {
	ctx := context.Background()
	c := new(memcache.Counters)
	e := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	s := newStore[*page](t, e, memcache.WithCodec(plainJSON{}), memcache.WithNearCache(memcache.NearCacheConfig{}), memcache.WithCounters(c))
	require.NoError(t, s.SetMulti(ctx, map[string]*page{"a": {Title: "A"}, "b": {Title: "B"}, "c": {Title: "C"}}))
	assert.Equal(t, "A", title(t, s, "a"))
	m, err := s.GetMulti(ctx, []string{"a", "b", "missing"})
	require.NoError(t, err)
	assert.Len(t, m, 2)
	assert.EqualValues(t, 1, c.NearHits.Load())
	m, err = s.GetMulti(ctx, []string{"a", "b", "c"})
	require.NoError(t, err)
	assert.Len(t, m, 3)
	assert.EqualValues(t, 3, c.NearHits.Load())
	assert.EqualValues(t, 1+2+3, c.Hits.Load(), "near hits count as hits")
}

// nearEvents counts EventNearHit and EventHit.
type nearEvents struct {
	near, hit atomic.Int64
}

func (r *nearEvents) StartCall(ctx context.Context, c memcache.Call) context.Context { return ctx }
func (r *nearEvents) EndCall(context.Context, memcache.Call, time.Duration, error)   {}
func (r *nearEvents) Record(_ context.Context, e memcache.Event) {
	switch e.Kind {
	case memcache.EventNearHit:
		r.near.Add(int64(e.Count))
	case memcache.EventHit:
		r.hit.Add(int64(e.Count))
	}
}

func TestNearCacheRecordsNearHits(t *testing.T) {
	ctx := context.Background()
	r := new(nearEvents)
	s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}), memcache.WithNearCache(memcache.NearCacheConfig{}), memcache.WithRecorder(r))
	require.NoError(t, s.Set(ctx, "k", &page{Title: "v1"}))
	for range 3 {
		assert.Equal(t, "v1", title(t, s, "k"))
	}
	assert.EqualValues(t, 2, r.near.Load())
	assert.EqualValues(t, 3, r.hit.Load())
	assert.Equal(t, "near_hit", memcache.EventNearHit.String())
}

func TestNearCacheConfigBounds(t *testing.T) {
	for _, cfg := range []memcache.NearCacheConfig{
		{TTL: memcache.MaxNearCacheTTL + time.Nanosecond},
		{TTL: -time.Second},
		{MaxBytes: -1},
	} {
		_, err := memcache.NewStore[*page](nil, memcache.WithNearCache(cfg))
		require.ErrorIs(t, err, memcache.ErrNearCacheConfig, "%+v", cfg)
		assert.Contains(t, err.Error(), "memcache: NewStore: invalid WithNearCache configuration: ")
	}
	_, err := memcache.NewStore[*page](nil, memcache.WithNearCache(memcache.NearCacheConfig{TTL: memcache.MaxNearCacheTTL}))
	require.NoError(t, err)
}

// TestNearCacheKeepsTheBackendsAbilities: over the embedded backend the
// store keeps its leases (Invalidate marks stale rather than deletes) and
// its item size limit; over a backend with neither, it has neither.
func TestNearCacheKeepsTheBackendsAbilities(t *testing.T) {
	ctx := context.Background()
	e := memcache.NewEmbedded(memcache.EmbeddedConfig{ItemSizeMax: 2 << 20})
	s := newStore[*page](t, e, memcache.WithCodec(plainJSON{}), memcache.WithNearCache(memcache.NearCacheConfig{}))
	require.NoError(t, s.LoadItemSizeMax(ctx))
	assert.Equal(t, 2<<20, s.SizeGuard().ItemSizeMax)
	require.NoError(t, s.Set(ctx, "k", &page{Title: "v1"}))
	require.NoError(t, s.Invalidate(ctx, "k"))
	assert.Equal(t, "v1", title(t, s, "k"), "a stale value stays readable: Invalidate went to the lease")

	plain := newStore[*page](t, onlyBackend{e}, memcache.WithCodec(plainJSON{}), memcache.WithNearCache(memcache.NearCacheConfig{}))
	err := plain.LoadItemSizeMax(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "memcache_test.onlyBackend cannot report its item size limit")
	require.NoError(t, plain.Set(ctx, "j", &page{Title: "v1"}))
	require.NoError(t, plain.Invalidate(ctx, "j"))
	_, err = plain.Get(ctx, "j")
	require.ErrorIs(t, err, memcache.ErrCacheMiss, "without leases, Invalidate deletes")
}

// onlyBackend hides every optional interface of its Backend.
type onlyBackend struct{ memcache.Backend }

// TestNearCacheConcurrentWritesAreSeen runs readers of a few keys against
// their writers, under -race: a writer always reads back what it just
// wrote, however many readers fill entries of the key around it, since a
// read that began before a write cannot fill after it.
func TestNearCacheConcurrentWritesAreSeen(t *testing.T) {
	nearBackends(t, func(t *testing.T, b, _ memcache.Backend) {
		ctx := context.Background()
		s := newStore[*page](t, b, memcache.WithCodec(plainJSON{}), memcache.WithNearCache(memcache.NearCacheConfig{TTL: time.Minute, MaxBytes: 64 << 10}),
			memcache.WithNamespace("race", strconv.Itoa(int(time.Now().UnixNano()%1e9))))
		const keys, writes = 4, 200
		var stop atomic.Bool
		var readers, writers sync.WaitGroup
		for r := range 6 {
			readers.Go(func() {
				for i := 0; !stop.Load(); i++ {
					key := "k" + strconv.Itoa((r+i)%keys)
					if i%5 == 0 {
						_, _ = s.GetMulti(ctx, []string{"k0", "k1", key})
						continue
					}
					_, err := s.Get(ctx, key)
					if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
						t.Error(err)
						return
					}
				}
			})
		}
		for k := range keys {
			writers.Go(func() {
				key := "k" + strconv.Itoa(k)
				for i := range writes {
					want := fmt.Sprintf("%s-%d", key, i)
					if i%10 == 9 {
						if err := s.Delete(ctx, key); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
							t.Error(err)
							return
						}
						if _, err := s.Get(ctx, key); !errors.Is(err, memcache.ErrCacheMiss) {
							t.Errorf("%s: read %v after its delete", key, err)
							return
						}
						continue
					}
					if err := s.Set(ctx, key, &page{Title: want}); err != nil {
						t.Error(err)
						return
					}
					p, err := s.Get(ctx, key)
					if err != nil || p.Title != want {
						t.Errorf("%s: wrote %q, read %v, %v", key, want, p, err)
						return
					}
				}
			})
		}
		writers.Wait()
		stop.Store(true)
		readers.Wait()
	})
}

// TestNearCacheConformance runs the backend conformance suite through a
// near cache, over the embedded backend and over memcached: to a single
// client, the near cache changes no outcome of any call.
func TestNearCacheConformance(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) backendtest.Target {
			target := embeddedTarget(memcache.DefaultItemSizeMax)(t)
			target.Backend = memcache.NearBackend(target.Backend)
			return target
		})
	})
	t.Run("memcached", func(t *testing.T) {
		backendtest.Run(t, backendtest.OnServer(t, memcachetest.Options{}, memcache.DefaultItemSizeMax, func(t *testing.T, addr string) memcache.Backend {
			return memcache.NearBackend(openClient(t, addr))
		}))
	})
}

// blob holds the fields a codec could decode by pointing into its input.
type blob struct {
	Data []byte
	Name string
	Raw  []byte
}

// TestNearCacheHitsNeverShareTheEntry: whatever a caller does to the bytes
// of a value it got, in every codec, the next hit decodes the value as it
// was stored, plain and compressed.
func TestNearCacheHitsNeverShareTheEntry(t *testing.T) {
	ctx := context.Background()
	want := blob{Data: []byte("0123456789abcdef"), Name: "name", Raw: make([]byte, 4096)}
	for _, c := range allCodecs {
		for _, compress := range []bool{false, true} {
			opts := []memcache.Option{memcache.WithCodec(c), memcache.WithNearCache(memcache.NearCacheConfig{TTL: time.Minute})}
			if compress {
				opts = append(opts, memcache.WithCompression(1))
			}
			s := newStore[*blob](t, nil, opts...)
			require.NoError(t, s.Set(ctx, "b", &want))
			for range 3 {
				got, err := s.Get(ctx, "b")
				require.NoError(t, err)
				require.Equal(t, &want, got, "%s, compressed %v", c.Name(), compress)
				for i := range got.Data {
					got.Data[i] = 'x'
				}
				for i := range got.Raw {
					got.Raw[i] = 'x'
				}
				got.Data = append(got.Data[:0], "overwritten"...)
			}
		}
	}
}

// TestNearCacheOverMeta: over memcache/meta's Client (leases, pipelined
// batches) and real memcached, GetOrLoad is served from the near cache,
// and the store's pipelined SetMulti and DeleteMulti end their entries.
func TestNearCacheOverMeta(t *testing.T) {
	srv := memcachetest.NewServer(t)
	ctx := context.Background()
	c, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	// A recorder, not Counters, which would put middleware in the way
	// of the pipelined batches.
	events := new(nearEvents)
	s := newStore[*page](t, c, memcache.WithCodec(plainJSON{}), memcache.WithRecorder(events),
		memcache.WithNearCache(memcache.NearCacheConfig{TTL: time.Minute}))
	loads := 0
	load := func(context.Context) (*page, error) { loads++; return &page{Title: "loaded"}, nil }
	for range 3 {
		p, err := s.GetOrLoad(ctx, "k", load)
		require.NoError(t, err)
		assert.Equal(t, "loaded", p.Title)
	}
	assert.Equal(t, 1, loads)
	// The load, a read that fills the entry, a hit.
	assert.EqualValues(t, 1, events.near.Load(), "GetOrLoad's first read is served from the near cache")

	require.NoError(t, s.SetMulti(ctx, map[string]*page{"k": {Title: "v2"}, "j": {Title: "j"}}))
	assert.Equal(t, "v2", title(t, s, "k"))
	assert.Equal(t, "v2", title(t, s, "k"))
	require.NoError(t, s.DeleteMulti(ctx, []string{"k", "j"}))
	_, err = s.Get(ctx, "k")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)

	// Invalidate goes to the lease: the value stays readable, stale.
	require.NoError(t, s.Set(ctx, "k", &page{Title: "v3"}))
	assert.Equal(t, "v3", title(t, s, "k"))
	require.NoError(t, s.Invalidate(ctx, "k"))
	assert.Equal(t, "v3", title(t, s, "k"))
}

// TestNearCacheLeavesRefreshAheadToTheBackend: with WithRefreshAhead, an
// entry whose item is known to be within the refresh window is not served,
// so that the read reaches the backend and wins the early refresh.
func TestNearCacheLeavesRefreshAheadToTheBackend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore[*page](t, nil, memcache.WithCodec(plainJSON{}), memcache.WithExpiration(10*time.Second),
			memcache.WithRefreshAhead(5*time.Second), memcache.WithNearCache(memcache.NearCacheConfig{TTL: time.Minute}))
		var loads atomic.Int32
		load := func(context.Context) (*page, error) {
			return &page{Title: "v" + strconv.Itoa(int(loads.Add(1)))}, nil
		}
		p, err := s.GetOrLoad(ctx, "k", load)
		require.NoError(t, err)
		require.Equal(t, "v1", p.Title)
		for range 4 { // served, from the backend then from the near cache, no refresh
			time.Sleep(time.Second)
			p, err = s.GetOrLoad(ctx, "k", load)
			require.NoError(t, err)
			require.Equal(t, "v1", p.Title)
		}
		synctest.Wait()
		require.EqualValues(t, 1, loads.Load())
		time.Sleep(2 * time.Second) // 4 s left: within the window
		p, err = s.GetOrLoad(ctx, "k", load)
		require.NoError(t, err)
		assert.Equal(t, "v1", p.Title, "served while it is refreshed")
		synctest.Wait()
		assert.EqualValues(t, 2, loads.Load(), "the read reached the backend and won the refresh")
		assert.Equal(t, "v2", title(t, s, "k"), "the refresh's write ended the entry")
	})
}
