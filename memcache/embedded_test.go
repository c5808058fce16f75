package memcache

import (
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
)

// checkInvariants verifies the embedded backend's bookkeeping: the eviction
// queue holds exactly the shards' items, each in the shard its key hashes
// to, and used is the sum of their sizes.
func checkInvariants(t *testing.T, e *Embedded) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int
	var sum int64
	for en := e.queue.next; en != &e.queue; en = en.next {
		require.Same(t, en, en.next.prev, "queue links")
		require.Same(t, en, e.shard(en.key).items[en.key], "queue item %q not in its shard", en.key)
		sum += en.size()
		n++
	}
	indexed := 0
	for i := range e.shards {
		indexed += len(e.shards[i].items)
	}
	assert.Equal(t, indexed, n, "queue length")
	assert.Equal(t, e.n, n, "item count")
	assert.Equal(t, sum, e.used, "used bytes")
	assert.LessOrEqual(t, e.used, e.maxBytes)
}

func TestEmbeddedDefaults(t *testing.T) {
	e := NewEmbedded(EmbeddedConfig{})
	n, err := e.ItemSizeMax(context.Background())
	require.NoError(t, err)
	assert.Equal(t, DefaultItemSizeMax, n)
	assert.EqualValues(t, DefaultEmbeddedMaxBytes, e.maxBytes)
}

func TestEmbeddedItemSizeMaxIsAtMostHalfTheMemory(t *testing.T) {
	e := NewEmbedded(EmbeddedConfig{MaxBytes: 1 << 20, ItemSizeMax: 2 << 20})
	n, err := e.ItemSizeMax(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 512<<10, n, "memcached refuses -I above -m/2")

	ctx := context.Background()
	k := "k"
	ok := make([]byte, MaxValueLen(n, k, 0))
	require.NoError(t, e.Set(ctx, &Item{Key: k, Value: ok}))
	assert.ErrorIs(t, e.Set(ctx, &Item{Key: k, Value: append(ok, 0)}), ErrTooLarge)
}

func TestEmbeddedEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	value := []byte(strings.Repeat("v", 41))
	size := itemSize("a", len(value), 0) // 101 bytes with the overhead
	e := NewEmbedded(EmbeddedConfig{MaxBytes: 3 * size})
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, e.Set(ctx, &Item{Key: k, Value: value}))
	}
	_, err := e.Get(ctx, "a") // a is now the most recent, b the least
	require.NoError(t, err)
	require.NoError(t, e.Set(ctx, &Item{Key: "d", Value: value}))

	_, err = e.Get(ctx, "b")
	assert.ErrorIs(t, err, ErrCacheMiss, "b was least recently used")
	m, err := e.GetMulti(ctx, []string{"a", "c", "d"})
	require.NoError(t, err)
	assert.Len(t, m, 3)
	checkInvariants(t, e)

	// Touch refreshes too, as it does in memcached; then c is the oldest.
	require.NoError(t, e.Touch(ctx, "a", 0))
	require.NoError(t, e.Touch(ctx, "d", 0))
	// Non-zero flags cost flagsOverhead more, so this needs two slots.
	require.NoError(t, e.Set(ctx, &Item{Key: "e", Value: value, Flags: 1}))
	m, err = e.GetMulti(ctx, []string{"a", "c", "d", "e"})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"d", "e"}, keysOf(m), "c went first, then a")
	checkInvariants(t, e)
}

// TestEmbeddedEvictsWhenEverythingIsUsed checks the bound on second chances:
// items that were all read still give way, oldest first, rather than let the
// store loop or overrun the cap.
func TestEmbeddedEvictsWhenEverythingIsUsed(t *testing.T) {
	ctx := context.Background()
	value := []byte(strings.Repeat("v", 41))
	e := NewEmbedded(EmbeddedConfig{MaxBytes: 3 * itemSize("a", len(value), 0)})
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, e.Set(ctx, &Item{Key: k, Value: value}))
	}
	m, err := e.GetMulti(ctx, []string{"c", "b", "a"})
	require.NoError(t, err)
	require.Len(t, m, 3)
	require.NoError(t, e.Set(ctx, &Item{Key: "d", Value: value}))
	m, err = e.GetMulti(ctx, []string{"a", "b", "c", "d"})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"b", "c", "d"}, keysOf(m), "a was the oldest")
	checkInvariants(t, e)
}

func keysOf(m map[string]*Item) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestEmbeddedAccountsReplacedValues(t *testing.T) {
	ctx := context.Background()
	e := NewEmbedded(EmbeddedConfig{MaxBytes: 10 << 10})
	for i := range 1000 {
		require.NoError(t, e.Set(ctx, &Item{Key: "k", Value: make([]byte, i%500)}))
	}
	require.NoError(t, e.Set(ctx, &Item{Key: "other", Value: []byte("v")}))
	_, err := e.Get(ctx, "other")
	require.NoError(t, err, "rewriting one key must not evict others")
	checkInvariants(t, e)
	assert.Equal(t, itemSize("k", 999%500, 0)+itemSize("other", 1, 0), e.used)

	require.NoError(t, e.Delete(ctx, "k"))
	assert.Equal(t, itemSize("other", 1, 0), e.used)
	assert.ErrorIs(t, e.Set(ctx, &Item{Key: "other", Value: make([]byte, DefaultItemSizeMax)}), ErrTooLarge)
	assert.Zero(t, e.used, "a too-large set frees the old value")
	checkInvariants(t, e)
}

func TestEmbeddedExpirationBoundaries(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	e := NewEmbedded(EmbeddedConfig{Now: clock.Now})
	abs := clock.Now().Add(time.Hour).Truncate(time.Second)
	require.NoError(t, e.Set(ctx, &Item{Key: "rel", Value: []byte("v"), Expiration: 10}))
	require.NoError(t, e.Set(ctx, &Item{Key: "abs", Value: []byte("v"), Expiration: int32(abs.Unix())}))
	require.NoError(t, e.Set(ctx, &Item{Key: "never", Value: []byte("v")}))

	clock.Sleep(10*time.Second - time.Nanosecond)
	_, err := e.Get(ctx, "rel")
	require.NoError(t, err, "alive until the last nanosecond")
	clock.Sleep(time.Nanosecond)
	_, err = e.Get(ctx, "rel")
	assert.ErrorIs(t, err, ErrCacheMiss)

	clock.Sleep(abs.Sub(clock.Now()) - time.Nanosecond)
	_, err = e.Get(ctx, "abs")
	require.NoError(t, err)
	clock.Sleep(time.Nanosecond)
	assert.ErrorIs(t, e.Touch(ctx, "abs", 0), ErrCacheMiss, "expired items cannot be touched back")

	clock.Sleep(365 * 24 * time.Hour)
	_, err = e.Get(ctx, "never")
	assert.NoError(t, err)
	checkInvariants(t, e)
}

func TestEmbeddedErrorsSayWhatAndWhere(t *testing.T) {
	ctx := context.Background()
	e := NewEmbedded(EmbeddedConfig{})
	err := e.Set(ctx, &Item{Key: "big", Value: make([]byte, DefaultItemSizeMax), Flags: 1})
	assert.EqualError(t, err, `memcache: set "big": value too large: value of 1048576 bytes; `+
		`at most 1048510 fit under this key and flags with item_size_max 1048576`)

	_, err = e.Get(ctx, "a b")
	assert.EqualError(t, err, `memcache: get "a b": malformed key: byte 0x20 at offset 1`)
	_, err = e.Get(ctx, "")
	assert.EqualError(t, err, `memcache: get "": malformed key: empty key`)
	_, err = e.Get(ctx, strings.Repeat("x", 300))
	assert.EqualError(t, err, `memcache: get "`+strings.Repeat("x", quotedKeyMax)+`"...(300 bytes): malformed key: 300 bytes, more than 250`)
}

// TestEmbeddedConcurrentUse runs every operation from many goroutines on a
// small cache, so evictions happen all the time; run it with -race.
func TestEmbeddedConcurrentUse(t *testing.T) {
	ctx := context.Background()
	e := NewEmbedded(EmbeddedConfig{MaxBytes: 16 << 10})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 2000 {
				k := fmt.Sprintf("k%d", r.IntN(64))
				it := &Item{Key: k, Value: make([]byte, r.IntN(600)), Flags: uint32(r.IntN(2)), Expiration: int32(r.IntN(3)) - 1}
				err := applyOp(ctx, e, r.IntN(8), it, true, int32(r.IntN(100)))
				if err != nil && !isCacheOutcomeErr(err) {
					t.Errorf("unexpected error: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	checkInvariants(t, e)
}

// applyOp runs operation op (0 to 7) of the Backend on it.Key: Get,
// GetMulti, Set, Add, Replace, CompareAndSwap (with the current token when
// fresh), Delete, Touch (to touchExp).
func applyOp(ctx context.Context, b Backend, op int, it *Item, fresh bool, touchExp int32) error {
	var err error
	switch op {
	case 0:
		_, err = b.Get(ctx, it.Key)
	case 1:
		_, err = b.GetMulti(ctx, []string{it.Key, "k1", "a"})
	case 2:
		err = b.Set(ctx, it)
	case 3:
		err = b.Add(ctx, it)
	case 4:
		err = b.Replace(ctx, it)
	case 5:
		if got, gerr := b.Get(ctx, it.Key); gerr == nil && fresh {
			it.CAS = got.CAS
		}
		err = b.CompareAndSwap(ctx, it)
	case 6:
		err = b.Delete(ctx, it.Key)
	case 7:
		err = b.Touch(ctx, it.Key, touchExp)
	}
	return err
}

func isCacheOutcomeErr(err error) bool {
	for _, want := range []error{ErrCacheMiss, ErrNotStored, ErrCASConflict} {
		if err == want {
			return true
		}
	}
	return false
}

func BenchmarkEmbeddedGet(b *testing.B) {
	ctx := context.Background()
	e := NewEmbedded(EmbeddedConfig{})
	if err := e.Set(ctx, &Item{Key: "k", Value: make([]byte, 1024)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzEmbeddedOps reads data as a sequence of operations on a small cache
// with a moving clock and checks the bookkeeping after each one: no panic,
// no leak in the byte count, no entry lost between the map and the ring.
func FuzzEmbeddedOps(f *testing.F) {
	f.Add([]byte("\x00a\x10\x01b\x20\x02a\x05\x03c\xff\x04a\x00\x05b\x01\x06c\x02\x07a\x03"))
	f.Add([]byte("\x02a\xff\x02b\xff\x02c\xff\x02d\xff\x00a\x00\x02e\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		clock := newFakeClock()
		e := NewEmbedded(EmbeddedConfig{MaxBytes: 2048, Now: clock.Now})
		for len(data) >= 3 {
			op, k, arg := data[0]%9, string(rune('a'+data[1]%6)), data[2]
			data = data[3:]
			it := &Item{Key: k, Value: make([]byte, int(arg)*4), Flags: uint32(arg & 1), Expiration: int32(arg%5) - 1}
			var err error
			if op == 8 {
				clock.Sleep(time.Duration(arg) * 100 * time.Millisecond)
			} else {
				err = applyOp(ctx, e, int(op), it, arg&2 == 0, int32(arg%4)-1)
			}
			if err != nil && !isCacheOutcomeErr(err) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("op %d on %q: %v", op, k, err)
			}
			checkInvariants(t, e)
		}
	})
}
