package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// soakValue is a domain object with cached properties whose data proves
// which write it came from: a reader can tell a whole value from a torn or
// mixed one.
type soakValue struct {
	Key     string
	Version int64
	Payload string
	Sum     uint32
	HTML    string `cacheprop:"cached"`
	derived cacheprop.Lazy[int]
}

func newSoakValue(key string, version int64) *soakValue {
	payload := strings.Repeat(fmt.Sprintf("%s@%d;", key, version), 1+int(version%50))
	v := &soakValue{Key: key, Version: version, Payload: payload, Sum: crc32.ChecksumIEEE([]byte(payload))}
	v.HTML = "<p>" + payload + "</p>"
	v.derived.Set(len(payload))
	return v
}

// soakDuration is how long the soak runs: LEANCACHE_SOAK (a Go duration)
// or 3 s, so CI stays bounded; run it longer by hand.
func soakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("LEANCACHE_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err, "LEANCACHE_SOAK")
		return d
	}
	return 3 * time.Second
}

// TestSoak runs many goroutines doing mixed Get, Set and GetOrLoad of
// objects with cached properties against a real memcached for a fixed time,
// and checks that every value read back is one that was written whole for
// its key, with its cached properties empty.
func TestSoak(t *testing.T) {
	const goroutines, keys = 16, 64
	srv := memcachetest.NewServer(t)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, MaxIdleConns: goroutines})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	c, ok := codec.ByName("msgpack")
	require.True(t, ok, "msgpack codec registered")
	store := newStore[*soakValue](t, client, memcache.WithCodec(c), memcache.WithCompression(512))

	var (
		written  sync.Map // "key@version" -> true, recorded before the write
		version  atomic.Int64
		ops      [3]atomic.Int64 // get, set, getorload
		misses   atomic.Int64
		failures atomic.Int64
		firstErr atomic.Value
	)
	fail := func(err error) {
		failures.Add(1)
		firstErr.CompareAndSwap(nil, err)
	}
	newVersion := func(key string) *soakValue {
		v := newSoakValue(key, version.Add(1))
		written.Store(fmt.Sprintf("%s@%d", key, v.Version), true)
		return v
	}
	// check verifies a value read for key. Values from the wire must have
	// their cached properties empty; a value fresh from a loader (shared by
	// the callers of one load) still carries them.
	check := func(key string, v *soakValue, fromWire bool) {
		switch {
		case v == nil:
			fail(fmt.Errorf("%s: nil value without error", key))
		case v.Key != key:
			fail(fmt.Errorf("%s: read a value of key %s", key, v.Key))
		case crc32.ChecksumIEEE([]byte(v.Payload)) != v.Sum:
			fail(fmt.Errorf("%s: torn payload", key))
		case v.Payload != newSoakValue(key, v.Version).Payload:
			fail(fmt.Errorf("%s: payload of another version", key))
		case fromWire && v.HTML != "":
			fail(fmt.Errorf("%s: cached property came back from the wire", key))
		default:
			if _, ok := v.derived.Peek(); fromWire && ok {
				fail(fmt.Errorf("%s: Lazy came back computed", key))
			}
			if _, ok := written.Load(fmt.Sprintf("%s@%d", key, v.Version)); !ok {
				fail(fmt.Errorf("%s: version %d was never written", key, v.Version))
			}
		}
	}

	ctx := context.Background()
	deadline := time.Now().Add(soakDuration(t))
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 7))
			for time.Now().Before(deadline) {
				key := fmt.Sprintf("soak-%d", rng.IntN(keys))
				switch op := rng.IntN(10); {
				case op < 4:
					ops[0].Add(1)
					v, err := store.Get(ctx, key)
					if errors.Is(err, memcache.ErrCacheMiss) {
						misses.Add(1)
						continue
					}
					if err != nil {
						fail(err)
						continue
					}
					check(key, v, true)
				case op < 7:
					ops[1].Add(1)
					if err := store.Set(ctx, key, newVersion(key)); err != nil {
						fail(err)
					}
				default:
					ops[2].Add(1)
					v, err := store.GetOrLoad(ctx, key, func(context.Context) (*soakValue, error) {
						return newVersion(key), nil
					})
					if err != nil {
						fail(err)
						continue
					}
					check(key, v, v.HTML == "")
				}
			}
		}(uint64(g))
	}
	wg.Wait()

	total := ops[0].Load() + ops[1].Load() + ops[2].Load()
	d := soakDuration(t)
	t.Logf("soak: %d goroutines, %v, %d ops (%.0f ops/s): %d get (%d misses), %d set, %d getorload; %d failures",
		goroutines, d, total, float64(total)/d.Seconds(), ops[0].Load(), misses.Load(), ops[1].Load(), ops[2].Load(), failures.Load())
	if err, _ := firstErr.Load().(error); err != nil {
		t.Errorf("first failure: %v", err)
	}
	assert.Zero(t, failures.Load())
	assert.Positive(t, ops[0].Load()-misses.Load(), "some reads hit")
}
