// Package backendtest is the conformance suite of memcache.Backend: the
// cases every backend must pass exactly as memcached 1.6 does, for the
// Embedded backend, the gomemcache Client, memcache/meta's Client and any
// other implementation.
//
// Call Run from a test with a function that gives each case its target;
// OnServer builds targets on a real memcached.
package backendtest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// Target is one backend under the suite, with what the suite must know
// about it.
type Target struct {
	// Backend is the backend under test.
	Backend memcache.Backend
	// ItemSizeMax is the item size limit the backend was set up with.
	ItemSizeMax int
	// Now is the backend's clock, for absolute expirations.
	Now func() time.Time
	// Sleep lets d pass on the backend's clock.
	Sleep func(d time.Duration)
	// Bubble runs each case in a testing/synctest bubble, for an
	// in-process backend that reads time.Now: the bubble's fake clock is
	// then the backend's, Now and Sleep may be time.Now and time.Sleep, and
	// a case that waits out an expiration takes no real time.
	Bubble bool
}

// OnServer starts one memcached with opts for the whole suite and returns a
// newTarget for Run that gives each case a backend of its own on it, from
// open. itemSizeMax is the limit opts sets.
func OnServer(t *testing.T, opts memcachetest.Options, itemSizeMax int, open func(t *testing.T, addr string) memcache.Backend) func(t *testing.T) Target {
	srv := memcachetest.NewServer(t, opts)
	return func(t *testing.T) Target {
		return Target{Backend: open(t, srv.Addr), ItemSizeMax: itemSizeMax, Now: time.Now, Sleep: time.Sleep}
	}
}

// quotedKey is how the backends quote key in an error message.
func quotedKey(key string) string {
	const op = "get"
	msg := (&memcache.OpError{Op: op, Key: key, Kind: memcache.ErrMalformedKey}).Error()
	msg = strings.TrimPrefix(msg, "memcache: "+op+" ")
	return strings.TrimSuffix(msg, ": "+strings.TrimPrefix(memcache.ErrMalformedKey.Error(), "memcache: "))
}

// Run runs the cases every memcache.Backend must pass exactly as memcached 1.6
// does, as subtests of t. newTarget gives each case a target of its own;
// cases run in parallel, each on its own keys, so targets may share one
// server.
func Run(t *testing.T, newTarget func(t *testing.T) Target) {
	ctx := context.Background()
	run := func(name string, f func(t *testing.T, tg Target, key func(string) string)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t)
			name := t.Name()
			key := func(s string) string { return name + "/" + s }
			if tg.Bubble {
				synctest.Test(t, func(t *testing.T) { f(t, tg, key) })
				return
			}
			f(t, tg, key)
		})
	}
	mustGet := func(t *testing.T, b memcache.Backend, key string) *memcache.Item {
		t.Helper()
		it, err := b.Get(ctx, key)
		require.NoError(t, err, "Get(%q)", key)
		require.NotNil(t, it)
		return it
	}
	assertMiss := func(t *testing.T, b memcache.Backend, key string) {
		t.Helper()
		it, err := b.Get(ctx, key)
		assert.ErrorIs(t, err, memcache.ErrCacheMiss, "Get(%q) = %+v", key, it)
		assert.Nil(t, it)
	}
	set := func(t *testing.T, b memcache.Backend, key, value string, exp int32) {
		t.Helper()
		require.NoError(t, b.Set(ctx, &memcache.Item{Key: key, Value: []byte(value), Expiration: exp}), "Set(%q)", key)
	}

	run("get miss", func(t *testing.T, tg Target, key func(string) string) {
		assertMiss(t, tg.Backend, key("k"))
		m, err := tg.Backend.GetMulti(ctx, []string{key("a"), key("b")})
		require.NoError(t, err)
		assert.Empty(t, m)
		assert.NotNil(t, m)
	})

	run("set then get", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		require.NoError(t, tg.Backend.Set(ctx, &memcache.Item{Key: k, Value: []byte("hello"), Flags: 42}))
		it := mustGet(t, tg.Backend, k)
		assert.Equal(t, k, it.Key)
		assert.Equal(t, []byte("hello"), it.Value)
		assert.Equal(t, uint32(42), it.Flags)
		assert.NotZero(t, it.CAS)

		set(t, tg.Backend, k, "again", 0)
		assert.Equal(t, []byte("again"), mustGet(t, tg.Backend, k).Value)
	})

	run("flags round trip", func(t *testing.T, tg Target, key func(string) string) {
		for _, f := range []uint32{0, 1, 0x8000_0000, 0xdead_beef, 0xffff_ffff} {
			k := key("k")
			require.NoError(t, tg.Backend.Set(ctx, &memcache.Item{Key: k, Value: []byte("v"), Flags: f}))
			assert.Equal(t, f, mustGet(t, tg.Backend, k).Flags)
		}
	})

	run("empty and binary values", func(t *testing.T, tg Target, key func(string) string) {
		require.NoError(t, tg.Backend.Set(ctx, &memcache.Item{Key: key("empty")}))
		assert.Empty(t, mustGet(t, tg.Backend, key("empty")).Value)
		bin := []byte("\x00\r\nEND\r\n\xff")
		require.NoError(t, tg.Backend.Set(ctx, &memcache.Item{Key: key("bin"), Value: bin}))
		assert.Equal(t, bin, mustGet(t, tg.Backend, key("bin")).Value)
	})

	run("values are copied", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		v := []byte("original")
		require.NoError(t, tg.Backend.Set(ctx, &memcache.Item{Key: k, Value: v}))
		v[0] = 'X'
		got := mustGet(t, tg.Backend, k)
		assert.Equal(t, []byte("original"), got.Value)
		got.Value[0] = 'Y'
		assert.Equal(t, []byte("original"), mustGet(t, tg.Backend, k).Value)
	})

	run("get multi", func(t *testing.T, tg Target, key func(string) string) {
		a, b, missing := key("a"), key("b"), key("missing")
		require.NoError(t, tg.Backend.Set(ctx, &memcache.Item{Key: a, Value: []byte("A"), Flags: 1}))
		set(t, tg.Backend, b, "B", 0)
		m, err := tg.Backend.GetMulti(ctx, []string{a, missing, b, a})
		require.NoError(t, err)
		require.Len(t, m, 2)
		assert.Equal(t, []byte("A"), m[a].Value)
		assert.Equal(t, uint32(1), m[a].Flags)
		assert.Equal(t, a, m[a].Key)
		assert.Equal(t, []byte("B"), m[b].Value)
		assert.Equal(t, mustGet(t, tg.Backend, b).CAS, m[b].CAS)

		m, err = tg.Backend.GetMulti(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, m)
	})

	run("add", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		require.NoError(t, tg.Backend.Add(ctx, &memcache.Item{Key: k, Value: []byte("first")}))
		assert.ErrorIs(t, tg.Backend.Add(ctx, &memcache.Item{Key: k, Value: []byte("second")}), memcache.ErrNotStored)
		assert.Equal(t, []byte("first"), mustGet(t, tg.Backend, k).Value)
	})

	run("replace", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		assert.ErrorIs(t, tg.Backend.Replace(ctx, &memcache.Item{Key: k, Value: []byte("x")}), memcache.ErrNotStored)
		assertMiss(t, tg.Backend, k)
		set(t, tg.Backend, k, "old", 0)
		require.NoError(t, tg.Backend.Replace(ctx, &memcache.Item{Key: k, Value: []byte("new"), Flags: 3}))
		it := mustGet(t, tg.Backend, k)
		assert.Equal(t, []byte("new"), it.Value)
		assert.Equal(t, uint32(3), it.Flags)
	})

	run("compare and swap", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		assert.ErrorIs(t, tg.Backend.CompareAndSwap(ctx, &memcache.Item{Key: k, Value: []byte("x"), CAS: 1}), memcache.ErrCacheMiss)
		set(t, tg.Backend, k, "v1", 0)
		read := mustGet(t, tg.Backend, k)
		read.Value = []byte("v2")
		require.NoError(t, tg.Backend.CompareAndSwap(ctx, read))
		assert.Equal(t, []byte("v2"), mustGet(t, tg.Backend, k).Value)

		read.Value = []byte("v3") // the token is stale now
		assert.ErrorIs(t, tg.Backend.CompareAndSwap(ctx, read), memcache.ErrCASConflict)
		read.CAS = 0 // never a real token
		assert.ErrorIs(t, tg.Backend.CompareAndSwap(ctx, read), memcache.ErrCASConflict)
		assert.Equal(t, []byte("v2"), mustGet(t, tg.Backend, k).Value)
	})

	run("every write changes the CAS token, touch does not", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		seen := map[uint64]string{}
		note := func(step string) {
			t.Helper()
			c := mustGet(t, tg.Backend, k).CAS
			if prev, dup := seen[c]; dup {
				t.Errorf("CAS token %d after %s repeats the one after %s", c, step, prev)
			}
			seen[c] = step
		}
		set(t, tg.Backend, k, "v", 0)
		note("set")
		set(t, tg.Backend, k, "v", 0)
		note("set of the same value")
		require.NoError(t, tg.Backend.Replace(ctx, &memcache.Item{Key: k, Value: []byte("v")}))
		note("replace")
		require.NoError(t, tg.Backend.CompareAndSwap(ctx, mustGet(t, tg.Backend, k)))
		note("cas")
		require.NoError(t, tg.Backend.Delete(ctx, k))
		require.NoError(t, tg.Backend.Add(ctx, &memcache.Item{Key: k, Value: []byte("v")}))
		note("add")

		before := mustGet(t, tg.Backend, k).CAS
		require.NoError(t, tg.Backend.Touch(ctx, k, 3600))
		assert.Equal(t, before, mustGet(t, tg.Backend, k).CAS)
	})

	run("delete", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		assert.ErrorIs(t, tg.Backend.Delete(ctx, k), memcache.ErrCacheMiss)
		set(t, tg.Backend, k, "v", 0)
		require.NoError(t, tg.Backend.Delete(ctx, k))
		assertMiss(t, tg.Backend, k)
		assert.ErrorIs(t, tg.Backend.Delete(ctx, k), memcache.ErrCacheMiss)
	})

	run("touch", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		assert.ErrorIs(t, tg.Backend.Touch(ctx, k, 10), memcache.ErrCacheMiss)
		set(t, tg.Backend, k, "v", 0)
		require.NoError(t, tg.Backend.Touch(ctx, k, 3600))
		assert.Equal(t, []byte("v"), mustGet(t, tg.Backend, k).Value)
		require.NoError(t, tg.Backend.Touch(ctx, k, -1))
		assertMiss(t, tg.Backend, k)
		assert.ErrorIs(t, tg.Backend.Touch(ctx, k, 10), memcache.ErrCacheMiss)

		set(t, tg.Backend, k, "v", 0)
		require.NoError(t, tg.Backend.Touch(ctx, k, memcache.MaxRelativeExpiration+1))
		assertMiss(t, tg.Backend, k)

		// Two seconds, not one: memcached's clock may tick between Set and
		// Touch, and a 1-second item would be gone by then.
		set(t, tg.Backend, k, "v", 2)
		require.NoError(t, tg.Backend.Touch(ctx, k, 0), "touch to never expire")
		tg.Sleep(2100 * time.Millisecond)
		assert.Equal(t, []byte("v"), mustGet(t, tg.Backend, k).Value)
	})

	run("expiration already past", func(t *testing.T, tg Target, key func(string) string) {
		// 2592001 is the first absolute time: one second into 1970.
		for _, exp := range []int32{memcache.MaxRelativeExpiration + 1, -1, -2592000, int32(tg.Now().Add(-time.Hour).Unix())} {
			k := key("k")
			set(t, tg.Backend, k, "old", 0)
			require.NoError(t, tg.Backend.Set(ctx, &memcache.Item{Key: k, Value: []byte("new"), Expiration: exp}), "exp %d", exp)
			assertMiss(t, tg.Backend, k)

			require.NoError(t, tg.Backend.Add(ctx, &memcache.Item{Key: k, Value: []byte("v"), Expiration: exp}), "add, exp %d", exp)
			assertMiss(t, tg.Backend, k)
			assert.ErrorIs(t, tg.Backend.Replace(ctx, &memcache.Item{Key: k, Value: []byte("v")}), memcache.ErrNotStored)
		}
	})

	run("expiration in the future", func(t *testing.T, tg Target, key func(string) string) {
		exps := map[string]int32{
			"relative-30-days":  memcache.MaxRelativeExpiration,
			"relative-hour":     3600,
			"absolute-hour":     int32(tg.Now().Add(time.Hour).Unix()),
			"absolute-10-years": int32(tg.Now().AddDate(10, 0, 0).Unix()),
		}
		for name, exp := range exps {
			set(t, tg.Backend, key(name), "v", exp)
		}
		tg.Sleep(1100 * time.Millisecond)
		for name := range exps {
			assert.Equal(t, []byte("v"), mustGet(t, tg.Backend, key(name)).Value, name)
		}
	})

	run("relative expiration ends", func(t *testing.T, tg Target, key func(string) string) {
		// memcached's clock ticks once a second, so a 1-second item lives
		// up to a second there: poll instead of one long sleep.
		k := key("k")
		set(t, tg.Backend, k, "v", 1)
		const step, limit = 50 * time.Millisecond, 2500 * time.Millisecond
		var waited time.Duration
		for ; waited < limit; waited += step {
			if _, err := tg.Backend.Get(ctx, k); errors.Is(err, memcache.ErrCacheMiss) {
				break
			}
			tg.Sleep(step)
		}
		assert.Less(t, waited, limit, "a 1-second item outlived %v", limit)
	})

	run("largest value", func(t *testing.T, tg Target, key func(string) string) {
		long := key("") + strings.Repeat("k", memcache.MaxKeyLen-len(key("")))
		for _, k := range []string{key("k"), long} {
			for _, flags := range []uint32{0, 7} {
				n := memcache.MaxValueLen(tg.ItemSizeMax, k, flags)
				v := bytes.Repeat([]byte{'v'}, n+1)
				require.NoError(t, tg.Backend.Set(ctx, &memcache.Item{Key: k, Value: v[:n], Flags: flags}),
					"%d bytes under a %d-byte key, flags %d", n, len(k), flags)
				assert.Len(t, mustGet(t, tg.Backend, k).Value, n)

				err := tg.Backend.Set(ctx, &memcache.Item{Key: k, Value: v, Flags: flags})
				require.ErrorIs(t, err, memcache.ErrTooLarge, "%d bytes under a %d-byte key, flags %d", n+1, len(k), flags)
				var oe *memcache.OpError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, k, oe.Key)
				assert.Equal(t, "set", oe.Op)
				assert.NotNil(t, oe.Err, "the cause must be kept")
			}
		}
	})

	run("too large set deletes the previous value", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		set(t, tg.Backend, k, "old", 0)
		big := make([]byte, memcache.MaxValueLen(tg.ItemSizeMax, k, 0)+1)
		assert.ErrorIs(t, tg.Backend.Set(ctx, &memcache.Item{Key: k, Value: big}), memcache.ErrTooLarge)
		assertMiss(t, tg.Backend, k)
	})

	run("too large add, replace and cas keep the previous value", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		big := make([]byte, memcache.MaxValueLen(tg.ItemSizeMax, k, 0)+1)
		// The size is checked before the condition.
		assert.ErrorIs(t, tg.Backend.Add(ctx, &memcache.Item{Key: k, Value: big}), memcache.ErrTooLarge)
		assert.ErrorIs(t, tg.Backend.Replace(ctx, &memcache.Item{Key: k, Value: big}), memcache.ErrTooLarge)
		assert.ErrorIs(t, tg.Backend.CompareAndSwap(ctx, &memcache.Item{Key: k, Value: big, CAS: 1}), memcache.ErrTooLarge)
		assertMiss(t, tg.Backend, k)

		set(t, tg.Backend, k, "old", 0)
		read := mustGet(t, tg.Backend, k)
		assert.ErrorIs(t, tg.Backend.Add(ctx, &memcache.Item{Key: k, Value: big}), memcache.ErrTooLarge)
		assert.ErrorIs(t, tg.Backend.Replace(ctx, &memcache.Item{Key: k, Value: big}), memcache.ErrTooLarge)
		assert.ErrorIs(t, tg.Backend.CompareAndSwap(ctx, &memcache.Item{Key: k, Value: big, CAS: read.CAS}), memcache.ErrTooLarge)
		after := mustGet(t, tg.Backend, k)
		assert.Equal(t, []byte("old"), after.Value)
		assert.Equal(t, read.CAS, after.CAS)
	})

	run("illegal keys", func(t *testing.T, tg Target, key func(string) string) {
		b := tg.Backend
		for why, k := range memcachetest.IllegalKeys {
			it := &memcache.Item{Key: k, Value: []byte("v")}
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
				require.ErrorIs(t, err, memcache.ErrMalformedKey, "%s of the %s key", op, why)
				var oe *memcache.OpError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, k, oe.Key, "%s of the %s key", op, why)
				assert.Contains(t, err.Error(), quotedKey(k))
			}
		}
		long := key("") + strings.Repeat("k", memcache.MaxKeyLen-len(key("")))
		set(t, b, long, "v", 0)
		assert.Equal(t, []byte("v"), mustGet(t, b, long).Value, "a 250-byte key is legal")
	})

	run("nil item", func(t *testing.T, tg Target, key func(string) string) {
		b := tg.Backend
		for op, err := range map[string]error{
			"set": b.Set(ctx, nil), "add": b.Add(ctx, nil), "replace": b.Replace(ctx, nil), "cas": b.CompareAndSwap(ctx, nil),
		} {
			var oe *memcache.OpError
			require.ErrorAs(t, err, &oe, op)
			assert.Equal(t, op, oe.Op)
		}
	})

	run("done context", func(t *testing.T, tg Target, key func(string) string) {
		k := key("k")
		set(t, tg.Backend, k, "v", 0)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		expired, cancel2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel2()
		for want, c := range map[error]context.Context{context.Canceled: canceled, context.DeadlineExceeded: expired} {
			b := tg.Backend
			it := &memcache.Item{Key: k, Value: []byte("new")}
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
			if m, ok := b.(memcache.ItemSizeMaxer); ok {
				_, errs["ItemSizeMax"] = m.ItemSizeMax(c)
			}
			for op, err := range errs {
				assert.ErrorIs(t, err, want, op)
			}
			assert.Less(t, time.Since(start), time.Second, "done contexts must fail fast")
		}
		assert.Equal(t, []byte("v"), mustGet(t, tg.Backend, k).Value, "nothing ran")
	})

	run("item size max", func(t *testing.T, tg Target, key func(string) string) {
		m, ok := tg.Backend.(memcache.ItemSizeMaxer)
		require.True(t, ok, "%T does not report its item size limit", tg.Backend)
		n, err := m.ItemSizeMax(ctx)
		require.NoError(t, err)
		assert.Equal(t, tg.ItemSizeMax, n)
	})

	leaseCases(run)
}
