package memcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache/memcachetest"
)

// conformanceTarget is one backend under the conformance suite, with what
// the suite must know about it.
type conformanceTarget struct {
	backend Backend
	// itemSizeMax is the limit the backend was set up with.
	itemSizeMax int
	// now is the backend's clock, for absolute expirations.
	now func() time.Time
	// sleep lets d pass on the backend's clock.
	sleep func(d time.Duration)
}

// fakeClock is a clock that moves only when told, so expiration tests of
// the embedded backend need no sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func embeddedTarget(itemSizeMax int) func(t *testing.T) conformanceTarget {
	return func(t *testing.T) conformanceTarget {
		clock := newFakeClock()
		b := NewEmbedded(EmbeddedConfig{ItemSizeMax: itemSizeMax, Now: clock.Now})
		return conformanceTarget{backend: b, itemSizeMax: itemSizeMax, now: clock.Now, sleep: clock.Sleep}
	}
}

// clientTarget starts one memcached for the whole suite and gives each case
// a Client of its own on it; cases keep apart by key.
func clientTarget(t *testing.T, opts memcachetest.Options, itemSizeMax int) func(t *testing.T) conformanceTarget {
	srv := memcachetest.NewServer(t, opts)
	return func(t *testing.T) conformanceTarget {
		// Generous: megabyte values under -race on a loaded machine.
		c, err := NewClient(ClientConfig{Servers: []string{srv.Addr}, Timeout: 5 * time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return conformanceTarget{backend: c, itemSizeMax: itemSizeMax, now: time.Now, sleep: time.Sleep}
	}
}

func TestConformanceEmbedded(t *testing.T) {
	t.Parallel()
	testBackendConformance(t, embeddedTarget(DefaultItemSizeMax))
}

func TestConformanceEmbedded2m(t *testing.T) {
	t.Parallel()
	testBackendConformance(t, embeddedTarget(2<<20))
}

func TestConformanceClient(t *testing.T) {
	t.Parallel()
	testBackendConformance(t, clientTarget(t, memcachetest.Options{}, DefaultItemSizeMax))
}

func TestConformanceClient2m(t *testing.T) {
	t.Parallel()
	testBackendConformance(t, clientTarget(t, memcachetest.Options{ItemSize: "2m", MemoryMB: 64}, 2<<20))
}

// illegalKeys are keys memcached refuses, by why.
var illegalKeys = map[string]string{
	"empty":     "",
	"space":     "a b",
	"crlf":      "a\r\nb",
	"nul":       "a\x00b",
	"control":   "\x01",
	"tab":       "a\tb",
	"del":       "a\x7f",
	"251 bytes": strings.Repeat("k", MaxKeyLen+1),
}

// testBackendConformance runs the cases every Backend must pass exactly as
// memcached 1.6 does. Cases run in parallel, each on its own keys.
func testBackendConformance(t *testing.T, newTarget func(t *testing.T) conformanceTarget) {
	ctx := context.Background()
	run := func(name string, f func(t *testing.T, tg conformanceTarget, key func(string) string)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t)
			key := func(s string) string { return t.Name() + "/" + s }
			f(t, tg, key)
		})
	}
	mustGet := func(t *testing.T, b Backend, key string) *Item {
		t.Helper()
		it, err := b.Get(ctx, key)
		require.NoError(t, err, "Get(%q)", key)
		require.NotNil(t, it)
		return it
	}
	assertMiss := func(t *testing.T, b Backend, key string) {
		t.Helper()
		it, err := b.Get(ctx, key)
		assert.ErrorIs(t, err, ErrCacheMiss, "Get(%q) = %+v", key, it)
		assert.Nil(t, it)
	}
	set := func(t *testing.T, b Backend, key, value string, exp int32) {
		t.Helper()
		require.NoError(t, b.Set(ctx, &Item{Key: key, Value: []byte(value), Expiration: exp}), "Set(%q)", key)
	}

	run("get miss", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		assertMiss(t, tg.backend, key("k"))
		m, err := tg.backend.GetMulti(ctx, []string{key("a"), key("b")})
		require.NoError(t, err)
		assert.Empty(t, m)
		assert.NotNil(t, m)
	})

	run("set then get", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		require.NoError(t, tg.backend.Set(ctx, &Item{Key: k, Value: []byte("hello"), Flags: 42}))
		it := mustGet(t, tg.backend, k)
		assert.Equal(t, k, it.Key)
		assert.Equal(t, []byte("hello"), it.Value)
		assert.Equal(t, uint32(42), it.Flags)
		assert.NotZero(t, it.CAS)

		set(t, tg.backend, k, "again", 0)
		assert.Equal(t, []byte("again"), mustGet(t, tg.backend, k).Value)
	})

	run("flags round trip", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		for _, f := range []uint32{0, 1, 0x8000_0000, 0xdead_beef, 0xffff_ffff} {
			k := key("k")
			require.NoError(t, tg.backend.Set(ctx, &Item{Key: k, Value: []byte("v"), Flags: f}))
			assert.Equal(t, f, mustGet(t, tg.backend, k).Flags)
		}
	})

	run("empty and binary values", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		require.NoError(t, tg.backend.Set(ctx, &Item{Key: key("empty")}))
		assert.Empty(t, mustGet(t, tg.backend, key("empty")).Value)
		bin := []byte("\x00\r\nEND\r\n\xff")
		require.NoError(t, tg.backend.Set(ctx, &Item{Key: key("bin"), Value: bin}))
		assert.Equal(t, bin, mustGet(t, tg.backend, key("bin")).Value)
	})

	run("values are copied", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		v := []byte("original")
		require.NoError(t, tg.backend.Set(ctx, &Item{Key: k, Value: v}))
		v[0] = 'X'
		got := mustGet(t, tg.backend, k)
		assert.Equal(t, []byte("original"), got.Value)
		got.Value[0] = 'Y'
		assert.Equal(t, []byte("original"), mustGet(t, tg.backend, k).Value)
	})

	run("get multi", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		a, b, missing := key("a"), key("b"), key("missing")
		require.NoError(t, tg.backend.Set(ctx, &Item{Key: a, Value: []byte("A"), Flags: 1}))
		set(t, tg.backend, b, "B", 0)
		m, err := tg.backend.GetMulti(ctx, []string{a, missing, b, a})
		require.NoError(t, err)
		require.Len(t, m, 2)
		assert.Equal(t, []byte("A"), m[a].Value)
		assert.Equal(t, uint32(1), m[a].Flags)
		assert.Equal(t, a, m[a].Key)
		assert.Equal(t, []byte("B"), m[b].Value)
		assert.Equal(t, mustGet(t, tg.backend, b).CAS, m[b].CAS)

		m, err = tg.backend.GetMulti(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, m)
	})

	run("add", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		require.NoError(t, tg.backend.Add(ctx, &Item{Key: k, Value: []byte("first")}))
		assert.ErrorIs(t, tg.backend.Add(ctx, &Item{Key: k, Value: []byte("second")}), ErrNotStored)
		assert.Equal(t, []byte("first"), mustGet(t, tg.backend, k).Value)
	})

	run("replace", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		assert.ErrorIs(t, tg.backend.Replace(ctx, &Item{Key: k, Value: []byte("x")}), ErrNotStored)
		assertMiss(t, tg.backend, k)
		set(t, tg.backend, k, "old", 0)
		require.NoError(t, tg.backend.Replace(ctx, &Item{Key: k, Value: []byte("new"), Flags: 3}))
		it := mustGet(t, tg.backend, k)
		assert.Equal(t, []byte("new"), it.Value)
		assert.Equal(t, uint32(3), it.Flags)
	})

	run("compare and swap", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		assert.ErrorIs(t, tg.backend.CompareAndSwap(ctx, &Item{Key: k, Value: []byte("x"), CAS: 1}), ErrCacheMiss)
		set(t, tg.backend, k, "v1", 0)
		read := mustGet(t, tg.backend, k)
		read.Value = []byte("v2")
		require.NoError(t, tg.backend.CompareAndSwap(ctx, read))
		assert.Equal(t, []byte("v2"), mustGet(t, tg.backend, k).Value)

		read.Value = []byte("v3") // the token is stale now
		assert.ErrorIs(t, tg.backend.CompareAndSwap(ctx, read), ErrCASConflict)
		read.CAS = 0 // never a real token
		assert.ErrorIs(t, tg.backend.CompareAndSwap(ctx, read), ErrCASConflict)
		assert.Equal(t, []byte("v2"), mustGet(t, tg.backend, k).Value)
	})

	run("every write changes the CAS token, touch does not", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		seen := map[uint64]string{}
		note := func(step string) {
			t.Helper()
			c := mustGet(t, tg.backend, k).CAS
			if prev, dup := seen[c]; dup {
				t.Errorf("CAS token %d after %s repeats the one after %s", c, step, prev)
			}
			seen[c] = step
		}
		set(t, tg.backend, k, "v", 0)
		note("set")
		set(t, tg.backend, k, "v", 0)
		note("set of the same value")
		require.NoError(t, tg.backend.Replace(ctx, &Item{Key: k, Value: []byte("v")}))
		note("replace")
		require.NoError(t, tg.backend.CompareAndSwap(ctx, mustGet(t, tg.backend, k)))
		note("cas")
		require.NoError(t, tg.backend.Delete(ctx, k))
		require.NoError(t, tg.backend.Add(ctx, &Item{Key: k, Value: []byte("v")}))
		note("add")

		before := mustGet(t, tg.backend, k).CAS
		require.NoError(t, tg.backend.Touch(ctx, k, 3600))
		assert.Equal(t, before, mustGet(t, tg.backend, k).CAS)
	})

	run("delete", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		assert.ErrorIs(t, tg.backend.Delete(ctx, k), ErrCacheMiss)
		set(t, tg.backend, k, "v", 0)
		require.NoError(t, tg.backend.Delete(ctx, k))
		assertMiss(t, tg.backend, k)
		assert.ErrorIs(t, tg.backend.Delete(ctx, k), ErrCacheMiss)
	})

	run("touch", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		assert.ErrorIs(t, tg.backend.Touch(ctx, k, 10), ErrCacheMiss)
		set(t, tg.backend, k, "v", 0)
		require.NoError(t, tg.backend.Touch(ctx, k, 3600))
		assert.Equal(t, []byte("v"), mustGet(t, tg.backend, k).Value)
		require.NoError(t, tg.backend.Touch(ctx, k, -1))
		assertMiss(t, tg.backend, k)
		assert.ErrorIs(t, tg.backend.Touch(ctx, k, 10), ErrCacheMiss)

		set(t, tg.backend, k, "v", 0)
		require.NoError(t, tg.backend.Touch(ctx, k, maxRelativeExpiration+1))
		assertMiss(t, tg.backend, k)

		// Two seconds, not one: memcached's clock may tick between Set and
		// Touch, and a 1-second item would be gone by then.
		set(t, tg.backend, k, "v", 2)
		require.NoError(t, tg.backend.Touch(ctx, k, 0), "touch to never expire")
		tg.sleep(2100 * time.Millisecond)
		assert.Equal(t, []byte("v"), mustGet(t, tg.backend, k).Value)
	})

	run("expiration already past", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		// 2592001 is the first absolute time: one second into 1970.
		for _, exp := range []int32{maxRelativeExpiration + 1, -1, -2592000, int32(tg.now().Add(-time.Hour).Unix())} {
			k := key("k")
			set(t, tg.backend, k, "old", 0)
			require.NoError(t, tg.backend.Set(ctx, &Item{Key: k, Value: []byte("new"), Expiration: exp}), "exp %d", exp)
			assertMiss(t, tg.backend, k)

			require.NoError(t, tg.backend.Add(ctx, &Item{Key: k, Value: []byte("v"), Expiration: exp}), "add, exp %d", exp)
			assertMiss(t, tg.backend, k)
			assert.ErrorIs(t, tg.backend.Replace(ctx, &Item{Key: k, Value: []byte("v")}), ErrNotStored)
		}
	})

	run("expiration in the future", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		exps := map[string]int32{
			"relative-30-days":  maxRelativeExpiration,
			"relative-hour":     3600,
			"absolute-hour":     int32(tg.now().Add(time.Hour).Unix()),
			"absolute-10-years": int32(tg.now().AddDate(10, 0, 0).Unix()),
		}
		for name, exp := range exps {
			set(t, tg.backend, key(name), "v", exp)
		}
		tg.sleep(1100 * time.Millisecond)
		for name := range exps {
			assert.Equal(t, []byte("v"), mustGet(t, tg.backend, key(name)).Value, name)
		}
	})

	run("relative expiration ends", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		// memcached's clock ticks once a second, so a 1-second item lives
		// up to a second there: poll instead of one long sleep.
		k := key("k")
		set(t, tg.backend, k, "v", 1)
		const step, limit = 50 * time.Millisecond, 2500 * time.Millisecond
		var waited time.Duration
		for ; waited < limit; waited += step {
			if _, err := tg.backend.Get(ctx, k); errors.Is(err, ErrCacheMiss) {
				break
			}
			tg.sleep(step)
		}
		assert.Less(t, waited, limit, "a 1-second item outlived %v", limit)
	})

	run("largest value", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		long := key("") + strings.Repeat("k", MaxKeyLen-len(key("")))
		for _, k := range []string{key("k"), long} {
			for _, flags := range []uint32{0, 7} {
				n := MaxValueLen(tg.itemSizeMax, k, flags)
				v := bytes.Repeat([]byte{'v'}, n+1)
				require.NoError(t, tg.backend.Set(ctx, &Item{Key: k, Value: v[:n], Flags: flags}),
					"%d bytes under a %d-byte key, flags %d", n, len(k), flags)
				assert.Len(t, mustGet(t, tg.backend, k).Value, n)

				err := tg.backend.Set(ctx, &Item{Key: k, Value: v, Flags: flags})
				require.ErrorIs(t, err, ErrTooLarge, "%d bytes under a %d-byte key, flags %d", n+1, len(k), flags)
				var oe *OpError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, k, oe.Key)
				assert.Equal(t, "set", oe.Op)
				assert.NotNil(t, oe.Err, "the cause must be kept")
			}
		}
	})

	run("too large set deletes the previous value", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		set(t, tg.backend, k, "old", 0)
		big := make([]byte, MaxValueLen(tg.itemSizeMax, k, 0)+1)
		assert.ErrorIs(t, tg.backend.Set(ctx, &Item{Key: k, Value: big}), ErrTooLarge)
		assertMiss(t, tg.backend, k)
	})

	run("too large add, replace and cas keep the previous value", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		big := make([]byte, MaxValueLen(tg.itemSizeMax, k, 0)+1)
		// The size is checked before the condition.
		assert.ErrorIs(t, tg.backend.Add(ctx, &Item{Key: k, Value: big}), ErrTooLarge)
		assert.ErrorIs(t, tg.backend.Replace(ctx, &Item{Key: k, Value: big}), ErrTooLarge)
		assert.ErrorIs(t, tg.backend.CompareAndSwap(ctx, &Item{Key: k, Value: big, CAS: 1}), ErrTooLarge)
		assertMiss(t, tg.backend, k)

		set(t, tg.backend, k, "old", 0)
		read := mustGet(t, tg.backend, k)
		assert.ErrorIs(t, tg.backend.Add(ctx, &Item{Key: k, Value: big}), ErrTooLarge)
		assert.ErrorIs(t, tg.backend.Replace(ctx, &Item{Key: k, Value: big}), ErrTooLarge)
		assert.ErrorIs(t, tg.backend.CompareAndSwap(ctx, &Item{Key: k, Value: big, CAS: read.CAS}), ErrTooLarge)
		after := mustGet(t, tg.backend, k)
		assert.Equal(t, []byte("old"), after.Value)
		assert.Equal(t, read.CAS, after.CAS)
	})

	run("illegal keys", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		b := tg.backend
		for why, k := range illegalKeys {
			it := &Item{Key: k, Value: []byte("v")}
			errs := map[string]error{
				"Set":            b.Set(ctx, it),
				"Add":            b.Add(ctx, it),
				"Replace":        b.Replace(ctx, it),
				"CompareAndSwap": b.CompareAndSwap(ctx, it),
				"Delete":         b.Delete(ctx, k),
				"Touch":          b.Touch(ctx, k, 0),
			}
			_, errs["Get"] = b.Get(ctx, k)
			_, errs["GetMulti"] = b.GetMulti(ctx, []string{key("fine"), k})
			for op, err := range errs {
				require.ErrorIs(t, err, ErrMalformedKey, "%s of the %s key", op, why)
				var oe *OpError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, k, oe.Key, "%s of the %s key", op, why)
				assert.Contains(t, err.Error(), quoteKey(k))
			}
		}
		long := key("") + strings.Repeat("k", MaxKeyLen-len(key("")))
		set(t, b, long, "v", 0)
		assert.Equal(t, []byte("v"), mustGet(t, b, long).Value, "a 250-byte key is legal")
	})

	run("nil item", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		b := tg.backend
		for op, err := range map[string]error{
			"set": b.Set(ctx, nil), "add": b.Add(ctx, nil), "replace": b.Replace(ctx, nil), "cas": b.CompareAndSwap(ctx, nil),
		} {
			var oe *OpError
			require.ErrorAs(t, err, &oe, op)
			assert.Equal(t, op, oe.Op)
		}
	})

	run("done context", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		k := key("k")
		set(t, tg.backend, k, "v", 0)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		expired, cancel2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel2()
		for want, c := range map[error]context.Context{context.Canceled: canceled, context.DeadlineExceeded: expired} {
			b := tg.backend
			it := &Item{Key: k, Value: []byte("new")}
			start := time.Now()
			errs := map[string]error{
				"Set":            b.Set(c, it),
				"Add":            b.Add(c, it),
				"Replace":        b.Replace(c, it),
				"CompareAndSwap": b.CompareAndSwap(c, it),
				"Delete":         b.Delete(c, k),
				"Touch":          b.Touch(c, k, -1),
			}
			_, errs["Get"] = b.Get(c, k)
			_, errs["GetMulti"] = b.GetMulti(c, []string{k})
			if m, ok := b.(ItemSizeMaxer); ok {
				_, errs["ItemSizeMax"] = m.ItemSizeMax(c)
			}
			for op, err := range errs {
				assert.ErrorIs(t, err, want, op)
			}
			assert.Less(t, time.Since(start), time.Second, "done contexts must fail fast")
		}
		assert.Equal(t, []byte("v"), mustGet(t, tg.backend, k).Value, "nothing ran")
	})

	run("item size max", func(t *testing.T, tg conformanceTarget, key func(string) string) {
		m, ok := tg.backend.(ItemSizeMaxer)
		require.True(t, ok, "%T does not report its item size limit", tg.backend)
		n, err := m.ItemSizeMax(ctx)
		require.NoError(t, err)
		assert.Equal(t, tg.itemSizeMax, n)
	})
}

// TestEmbeddedAgreesWithMemcached runs one random sequence of operations
// against the embedded backend and a real memcached side by side and
// requires the same outcome from both at every step: the same error class,
// the same values and flags, and CAS tokens that behave alike.
func TestEmbeddedAgreesWithMemcached(t *testing.T) {
	t.Parallel()
	server := clientTarget(t, memcachetest.Options{}, DefaultItemSizeMax)(t).backend
	emb := NewEmbedded(EmbeddedConfig{})
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	ctx := context.Background()

	keys := []string{"a", "b", "c", strings.Repeat("k", MaxKeyLen), "", "bad key"}
	exps := []int32{0, 0, 0, 3600, -1, maxRelativeExpiration + 1}
	value := func(k string, flags uint32) []byte {
		switch r.IntN(50) {
		case 0:
			return make([]byte, MaxValueLen(DefaultItemSizeMax, k, flags))
		case 1:
			return make([]byte, MaxValueLen(DefaultItemSizeMax, k, flags)+1)
		}
		v := make([]byte, r.IntN(100))
		for i := range v {
			v[i] = byte(r.IntN(256))
		}
		return v
	}
	// Tokens differ between backends, so each keeps the last it handed out
	// per key; "stale" tells both to use an outdated one.
	tokens := [2]map[string][]uint64{{}, {}}
	backends := [2]Backend{emb, server}

	for step := range 1500 {
		k := keys[r.IntN(len(keys))]
		flags := uint32(r.IntN(2)) * 0xabcd
		it := Item{Key: k, Value: value(k, flags), Flags: flags, Expiration: exps[r.IntN(len(exps))]}
		op := r.IntN(9)
		stale := r.IntN(3) == 0
		var outcome [2]string
		for i, b := range backends {
			var err error
			var got string
			switch op {
			case 0, 1:
				var g *Item
				if g, err = b.Get(ctx, k); err == nil {
					got = fmt.Sprintf("%x/%d", g.Value, g.Flags)
					tokens[i][k] = append(tokens[i][k], g.CAS)
				}
			case 2:
				var m map[string]*Item
				if m, err = b.GetMulti(ctx, []string{k, "a", "b"}); err == nil {
					for _, mk := range []string{k, "a", "b"} {
						if g, ok := m[mk]; ok {
							got += fmt.Sprintf("%s=%x/%d ", mk, g.Value, g.Flags)
						}
					}
				}
			case 3:
				err = b.Set(ctx, &it)
			case 4:
				err = b.Add(ctx, &it)
			case 5:
				err = b.Replace(ctx, &it)
			case 6:
				c := it
				if ts := tokens[i][k]; len(ts) > 0 {
					c.CAS = ts[len(ts)-1]
					if stale && len(ts) > 1 {
						c.CAS = ts[0]
					}
				}
				err = b.CompareAndSwap(ctx, &c)
			case 7:
				err = b.Delete(ctx, k)
			case 8:
				err = b.Touch(ctx, k, it.Expiration)
			}
			outcome[i] = errorClass(err) + " " + got
		}
		require.Equal(t, outcome[0], outcome[1],
			"step %d: op %d on %q (flags %d, exp %d, %d bytes): embedded vs memcached", step, op, k, flags, it.Expiration, len(it.Value))
	}
}

// errorClass names the package error err counts as.
func errorClass(err error) string {
	for _, e := range []error{ErrCacheMiss, ErrNotStored, ErrCASConflict, ErrMalformedKey, ErrTooLarge} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return "ok"
}
