package memcache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// randomBytes returns n incompressible bytes.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n:n]
}

// chunkKeysOf reads the index under the store key k as the format in
// chunk.go describes it and returns its chunk keys.
func chunkKeysOf(t *testing.T, b memcache.Backend, k string, fingerprinted bool) []string {
	t.Helper()
	it, err := b.Get(context.Background(), k)
	require.NoError(t, err)
	require.Equal(t, uint32(1), it.Flags>>12&0xf, "the item under the key is an index")
	body := it.Value
	if fingerprinted {
		body = body[:len(body)-12]
	}
	require.Len(t, body, 20)
	token := hex.EncodeToString(body[:8])
	n := int(binary.BigEndian.Uint32(body[8:]))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s:c%d:%s", k, i, token)
	}
	return keys
}

func TestChunkedValueRoundTripsOnMemcached(t *testing.T) {
	b := realServer(t)
	ctx := context.Background()
	counters := &memcache.Counters{}
	s := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithCounters(counters))
	value := randomBytes(rand.New(rand.NewPCG(1, 2)), 5<<20)
	require.NoError(t, s.Set(ctx, "big", value))
	got, err := s.Get(ctx, "big")
	require.NoError(t, err)
	require.True(t, bytes.Equal(value, got), "5 MB round trip")
	assert.EqualValues(t, 1, counters.ChunkedWrites.Load())
	assert.EqualValues(t, 1, counters.ChunkedReads.Load())

	keys := chunkKeysOf(t, b, "big", false)
	assert.Len(t, keys, 6, "5 MB in chunks of just under 1 MB")
	for _, k := range keys {
		it, err := b.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, uint32(2), it.Flags>>12&0xf, "a chunk says it is one")
	}

	// A plain store reads it too: reads assemble whatever the flags say.
	plain := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}))
	got, err = plain.Get(ctx, "big")
	require.NoError(t, err)
	require.True(t, bytes.Equal(value, got))
	// And a chunk read on its own is a FormatError, not a value.
	_, err = plain.Get(ctx, keys[0])
	var fe *memcache.FormatError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, err.Error(), "chunk")
}

func TestChunkedValueWithFingerprintAndCompression(t *testing.T) {
	b := realServer(t)
	ctx := context.Background()
	s := newStore[*page](t, b, memcache.WithChunking(), memcache.WithFingerprint(), memcache.WithCompression(0))
	r := rand.New(rand.NewPCG(3, 4))
	p := &page{Title: "big", Body: hex.EncodeToString(randomBytes(r, 2<<20))} // 4 MB of hex, 2 MB compressed
	require.NoError(t, s.Set(ctx, "p", p))
	got, err := s.Get(ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, p.Title, got.Title)
	assert.True(t, p.Body == got.Body)
	assert.Greater(t, len(chunkKeysOf(t, b, "p", true)), 1)

	// Another schema is a miss before any chunk is fetched.
	counters := &memcache.Counters{}
	other := newStore[*acctA](t, b, memcache.WithChunking(), memcache.WithFingerprint(), memcache.WithCounters(counters))
	_, err = other.Get(ctx, "p")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
	assert.EqualValues(t, 1, counters.SchemaMisses.Load())
	assert.EqualValues(t, 1, counters.Hits.Load()+counters.Misses.Load(), "one get: no chunk was fetched")
}

func TestChunkGoneOrMismatchedIsAMiss(t *testing.T) {
	b := realServer(t)
	ctx := context.Background()
	counters := &memcache.Counters{}
	s := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithCounters(counters))
	r := rand.New(rand.NewPCG(5, 6))
	value := randomBytes(r, 3<<20)
	set := func() []string {
		require.NoError(t, s.Set(ctx, "v", value))
		got, err := s.Get(ctx, "v")
		require.NoError(t, err)
		require.True(t, bytes.Equal(value, got))
		return chunkKeysOf(t, b, "v", false)
	}
	miss := func(what string) {
		t.Helper()
		before := counters.ChunkMisses.Load()
		got, err := s.Get(ctx, "v")
		require.ErrorIs(t, err, memcache.ErrCacheMiss, what)
		assert.Nil(t, got, what)
		assert.Equal(t, before+1, counters.ChunkMisses.Load(), what)
		m, err := s.GetMulti(ctx, []string{"v"})
		require.NoError(t, err, what)
		assert.Empty(t, m, what)
	}

	keys := set()
	require.NoError(t, b.Delete(ctx, keys[1]))
	miss("a deleted chunk")

	keys = set()
	// Expired at once: what an eviction leaves.
	require.NoError(t, b.Touch(ctx, keys[len(keys)-1], -1))
	miss("an evicted (expired) chunk")

	keys = set()
	it, err := b.Get(ctx, keys[0])
	require.NoError(t, err)
	it.Key = keys[2]
	require.NoError(t, b.Set(ctx, it))
	miss("chunk 0 under chunk 2's key")

	keys = set()
	it, err = b.Get(ctx, keys[1])
	require.NoError(t, err)
	it.Value = it.Value[:len(it.Value)-1]
	require.NoError(t, b.Set(ctx, it))
	miss("a truncated chunk")

	keys = set()
	it, err = b.Get(ctx, keys[1])
	require.NoError(t, err)
	it.Value[len(it.Value)-1] ^= 1
	require.NoError(t, b.Set(ctx, it))
	miss("a flipped bit")

	// GetOrLoad reloads and rewrites a value it finds torn.
	loaded, err := s.GetOrLoad(ctx, "v", func(context.Context) ([]byte, error) { return value, nil })
	require.NoError(t, err)
	assert.True(t, bytes.Equal(value, loaded))
	got, err := s.Get(ctx, "v")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(value, got))
}

// TestChunkedRacingWritersAndReaders: writers of one key race each other
// and readers for about a second on real memcached; every read is a miss
// or a value some writer wrote whole.
func TestChunkedRacingWritersAndReaders(t *testing.T) {
	b := realServer(t)
	ctx := context.Background()
	s := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithChunking())
	// A value is self-checking: its first 32 bytes are the SHA-256 of the
	// rest, so a torn or mixed value cannot pass.
	makeValue := func(r *rand.Rand) []byte {
		body := randomBytes(r, 1<<20+r.IntN(1<<20)) // 2 or 3 chunks
		sum := sha256.Sum256(body)
		return append(sum[:], body...)
	}
	whole := func(v []byte) bool {
		if len(v) <= 32 {
			return false
		}
		sum := sha256.Sum256(v[32:])
		return bytes.Equal(sum[:], v[:32])
	}

	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	var writes, refused, hits, misses, torn atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for time.Now().Before(deadline) {
				// Replaced chunks stay until evicted, and memcached
				// sometimes refuses a set under that pressure ("out of
				// memory storing object"): a refused write leaves no
				// index, so readers must still see whole values.
				if err := s.Set(ctx, "contended", makeValue(r)); err != nil {
					refused.Add(1)
					continue
				}
				writes.Add(1)
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				v, err := s.Get(ctx, "contended")
				switch {
				case err == nil && whole(v):
					hits.Add(1)
				case err == nil:
					torn.Add(1)
				case err == memcache.ErrCacheMiss:
					misses.Add(1)
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d writes (%d refused), %d whole reads, %d misses", writes.Load(), refused.Load(), hits.Load(), misses.Load())
	assert.Positive(t, writes.Load())
	assert.Zero(t, torn.Load(), "a read returned a value no writer wrote whole")
	assert.Positive(t, hits.Load(), "some reads must see a whole value, or the test proves nothing")
	v, err := s.Get(ctx, "contended")
	if err == nil {
		assert.True(t, whole(v), "what is left is one whole version")
	} else {
		require.ErrorIs(t, err, memcache.ErrCacheMiss)
	}
}

func TestSizeGuardNamesFieldsWithoutChunking(t *testing.T) {
	b := realServer(t)
	ctx := context.Background()
	big := &page{Title: "t", Body: strings.Repeat("x", 1200<<10), Review: []review{{Author: "a", Text: strings.Repeat("y", 300<<10)}}}

	off := newStore[*page](t, b, memcache.WithCodec(plainJSON{}))
	err := off.Set(ctx, "p", big)
	var tl *memcache.TooLargeError
	require.ErrorAs(t, err, &tl)
	require.GreaterOrEqual(t, len(tl.Fields), 2)
	assert.Equal(t, "page.Body", tl.Fields[0].Path)
	assert.Equal(t, "page.Review[0].Text", tl.Fields[1].Path)

	on := newStore[*page](t, b, memcache.WithCodec(plainJSON{}), memcache.WithChunking())
	require.NoError(t, on.Set(ctx, "p", big))
	got, err := on.Get(ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, big, got)

	// Beyond what readers would accept, chunking refuses too, and says why.
	capped := newStore[*page](t, b, memcache.WithCodec(plainJSON{}), memcache.WithChunking(), memcache.WithMaxDecodedSize(1500<<10))
	err = capped.Set(ctx, "p", big)
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, 1500<<10, tl.Limit)
	assert.Equal(t, "page.Body", tl.Fields[0].Path)
	_, err = capped.Get(ctx, "p")
	require.ErrorIs(t, err, memcache.ErrCacheMiss, "like any rejected Set, the stale value is gone")
}

func TestChunkedConditionalWritesTouchAndGetMulti(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	var touched, set []string
	var mu sync.Mutex
	spy := func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
			mu.Lock()
			switch req.Op {
			case memcache.OpTouch:
				touched = append(touched, req.Keys[0])
			case memcache.OpSet:
				set = append(set, req.Keys[0])
			}
			mu.Unlock()
			return next(ctx, req)
		}
	}
	s := newStore[[]byte](t, b, memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithMiddleware(spy))
	r := rand.New(rand.NewPCG(8, 9))
	v1, v2 := randomBytes(r, 2<<20), randomBytes(r, 2<<20)

	require.NoError(t, s.Add(ctx, "k", v1))
	set = nil
	require.ErrorIs(t, s.Add(ctx, "k", v2), memcache.ErrNotStored)
	require.Len(t, set, 3, "the refused Add wrote its chunks first")
	for _, k := range set {
		_, err := b.Get(ctx, k)
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "and deleted them when the index was refused")
	}
	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(v1, got), "a refused Add leaves the value whole")

	e, err := s.GetEntry(ctx, "k")
	require.NoError(t, err)
	e.Value = v2
	require.NoError(t, s.CompareAndSwap(ctx, e))
	require.ErrorIs(t, s.CompareAndSwap(ctx, e), memcache.ErrCASConflict)
	got, err = s.Get(ctx, "k")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(v2, got))

	keys := chunkKeysOf(t, b, "k", false)
	require.NoError(t, s.Touch(ctx, "k", time.Hour))
	assert.ElementsMatch(t, append(keys, "k"), touched, "Touch reaches the chunks and the index")

	require.NoError(t, s.Set(ctx, "small", []byte("s")))
	require.NoError(t, s.Set(ctx, "k2", v1))
	m, err := s.GetMulti(ctx, []string{"k", "small", "k2", "absent"})
	require.NoError(t, err)
	require.Len(t, m, 3)
	assert.True(t, bytes.Equal(v2, m["k"]))
	assert.True(t, bytes.Equal(v1, m["k2"]))
	assert.Equal(t, []byte("s"), m["small"])

	require.NoError(t, s.Delete(ctx, "k"))
	_, err = s.Get(ctx, "k")
	require.ErrorIs(t, err, memcache.ErrCacheMiss, "deleting the index is deleting the value")
}

func TestChunkKeysOfALongKeyAreHashedAndLegal(t *testing.T) {
	ctx := context.Background()
	var written []string
	var mu sync.Mutex
	spy := func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
			if req.Item != nil {
				mu.Lock()
				written = append(written, req.Item.Key)
				mu.Unlock()
			}
			return next(ctx, req)
		}
	}
	s := newStore[[]byte](t, nil, memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithNamespace("ns", "v1"), memcache.WithMiddleware(spy))
	key := strings.Repeat("k", 240)
	value := randomBytes(rand.New(rand.NewPCG(1, 1)), 2<<20)
	require.NoError(t, s.Set(ctx, key, value))
	got, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(value, got))
	require.Len(t, written, 4, "3 chunks, then the index")
	for _, k := range written {
		assert.True(t, memcache.ValidKey(k), k)
		assert.True(t, strings.HasPrefix(k, "ns:v1:"), "chunks stay in the namespace: %s", k)
	}
	assert.Contains(t, written[0], "#", "too long for a verbatim suffix: hashed")
	assert.Equal(t, "ns:v1:"+key, written[3], "the index goes last, under the key")
}

func ExampleWithChunking() {
	ctx := context.Background()
	var counters memcache.Counters
	// The embedded backend holds items of up to 1 MiB, as memcached's -I 1m.
	store, _ := memcache.NewStore[[]byte](nil, memcache.WithChunking(), memcache.WithCounters(&counters))
	photo := bytes.Repeat([]byte{0xff, 0xd8, 0x01}, 1<<20) // 3 MiB

	if err := store.Set(ctx, "photo", photo); err != nil {
		fmt.Println(err)
		return
	}
	got, err := store.Get(ctx, "photo")
	fmt.Println(len(got), err, bytes.Equal(got, photo))
	fmt.Println("chunked writes:", counters.ChunkedWrites.Load(), "chunked reads:", counters.ChunkedReads.Load())

	// Without chunking, the size guard refuses it before any network I/O.
	plain, _ := memcache.NewStore[[]byte](nil)
	err = plain.Set(ctx, "photo", photo)
	fmt.Println(errors.Is(err, memcache.ErrTooLarge))
	// Output:
	// 3145728 <nil> true
	// chunked writes: 1 chunked reads: 1
	// true
}

func TestChunkingRefusesWhatCannotBeChunked(t *testing.T) {
	ctx := context.Background()
	// An item size limit too small for a chunk's key and header.
	s := newStore[[]byte](t, nil, memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithItemSizeMax(600))
	err := s.Set(ctx, "k", make([]byte, 1000))
	var tl *memcache.TooLargeError
	require.ErrorAs(t, err, &tl)

	// Small items make many chunks, which is fine.
	s = newStore[[]byte](t, nil, memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithItemSizeMax(2<<10))
	value := randomBytes(rand.New(rand.NewPCG(2, 2)), 100<<10)
	require.NoError(t, s.Set(ctx, "k", value), "60 chunks")
	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(value, got))
}
