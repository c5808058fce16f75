package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/backendtest"
	"github.com/leancache/leancache/memcache/memcachetest"
)

func embeddedTarget(itemSizeMax int) func(t *testing.T) backendtest.Target {
	return func(t *testing.T) backendtest.Target {
		b := memcache.NewEmbedded(memcache.EmbeddedConfig{ItemSizeMax: itemSizeMax})
		return backendtest.Target{Backend: b, ItemSizeMax: itemSizeMax, Now: time.Now, Sleep: time.Sleep, Bubble: true}
	}
}

// openClient gives a conformance case a Client of its own; cases keep apart
// by key.
func openClient(t *testing.T, addr string) memcache.Backend {
	// Generous: megabyte values under -race on a loaded machine.
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{addr}, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformanceEmbedded(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, embeddedTarget(memcache.DefaultItemSizeMax))
}

func TestConformanceEmbedded2m(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, embeddedTarget(2<<20))
}

func TestConformanceClient(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, backendtest.OnServer(t, memcachetest.Options{}, memcache.DefaultItemSizeMax, openClient))
}

func TestConformanceClient2m(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, backendtest.OnServer(t, memcachetest.Options{ItemSize: "2m", MemoryMB: 64}, 2<<20, openClient))
}

// TestEmbeddedAgreesWithMemcached runs one random sequence of operations
// against the embedded backend and a real memcached side by side and
// requires the same outcome from both at every step: the same error class,
// the same values and flags, and CAS tokens that behave alike.
func TestEmbeddedAgreesWithMemcached(t *testing.T) {
	t.Parallel()
	server := backendtest.OnServer(t, memcachetest.Options{}, memcache.DefaultItemSizeMax, openClient)(t).Backend
	emb := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	ctx := context.Background()

	keys := []string{"a", "b", "c", strings.Repeat("k", memcache.MaxKeyLen), "", "bad key"}
	exps := []int32{0, 0, 0, 3600, -1, memcache.MaxRelativeExpiration + 1}
	value := func(k string, flags uint32) []byte {
		switch r.IntN(50) {
		case 0:
			return make([]byte, memcache.MaxValueLen(memcache.DefaultItemSizeMax, k, flags))
		case 1:
			return make([]byte, memcache.MaxValueLen(memcache.DefaultItemSizeMax, k, flags)+1)
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
	backends := [2]memcache.Backend{emb, server}

	for step := range 1500 {
		k := keys[r.IntN(len(keys))]
		flags := uint32(r.IntN(2)) * 0xabcd
		it := memcache.Item{Key: k, Value: value(k, flags), Flags: flags, Expiration: exps[r.IntN(len(exps))]}
		op := r.IntN(9)
		stale := r.IntN(3) == 0
		var outcome [2]string
		for i, b := range backends {
			var err error
			var got string
			switch op {
			case 0, 1:
				var g *memcache.Item
				if g, err = b.Get(ctx, k); err == nil {
					got = fmt.Sprintf("%x/%d", g.Value, g.Flags)
					tokens[i][k] = append(tokens[i][k], g.CAS)
				}
			case 2:
				var m map[string]*memcache.Item
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
	for _, e := range []error{memcache.ErrCacheMiss, memcache.ErrNotStored, memcache.ErrCASConflict, memcache.ErrMalformedKey, memcache.ErrTooLarge} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return "ok"
}
