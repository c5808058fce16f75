package memcache_test

import (
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// FuzzStoreGet feeds arbitrary flags and bytes, as a corrupt or foreign
// memcached item would hold, to a Store's read path for every codec: flags
// check, decompression and decoding. Each must answer with a value or a
// typed error, never panic.
func FuzzStoreGet(f *testing.F) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	var stores []*memcache.Store[*soakValue]
	for _, name := range []string{"json", "gob", "msgpack", "cbor"} {
		c, ok := codec.ByName(name)
		if !ok {
			f.Fatalf("codec %s is not registered", name)
		}
		s, err := memcache.NewStore[*soakValue](b, memcache.WithCodec(c), memcache.WithCompression(64))
		if err != nil {
			f.Fatal(err)
		}
		stores = append(stores, s)
		// Seeds: real values of each codec, compressed and not.
		for _, v := range []*soakValue{newSoakValue("k", 1), newSoakValue("k", 49)} {
			if err := s.Set(ctx, "k", v); err != nil {
				f.Fatal(err)
			}
			it, err := b.Get(ctx, "k")
			if err != nil {
				f.Fatal(err)
			}
			f.Add(it.Flags, it.Value)
		}
	}
	f.Add(uint32(0), []byte("plain bytes"))
	f.Add(uint32(0x4C010101), []byte{0xff, 0xff, 0xff, 0xff, 0x0f})

	f.Fuzz(func(t *testing.T, flags uint32, value []byte) {
		if err := b.Set(ctx, &memcache.Item{Key: "k", Value: value, Flags: flags}); err != nil {
			if errors.Is(err, memcache.ErrTooLarge) {
				return
			}
			t.Fatal(err)
		}
		for _, s := range stores {
			var v *soakValue
			var err error
			checkReadBudget(t, s.Codec().Name(), len(value), func() { v, err = s.Get(ctx, "k") })
			var fe *memcache.FormatError
			var de *memcache.DecodeError
			switch {
			case err == nil:
				if v != nil && v.HTML != "" {
					t.Fatalf("%s: decoded a cached property", s.Codec().Name())
				}
			case errors.As(err, &fe), errors.As(err, &de):
			default:
				t.Fatalf("%s: untyped error %T: %v", s.Codec().Name(), err, err)
			}
		}
	})
}

// checkReadBudget runs read, one Get of an item of n bytes, and fails if
// it costs more than the package documentation allows: decompressed at
// most DefaultMaxCompressionRatio·n bytes, decoding those within the
// codec's default budget, plus a megabyte for the store and the backend;
// and time linear in that, with a margin no loaded machine reaches.
func checkReadBudget(t *testing.T, name string, n int, read func()) {
	t.Helper()
	expanded := min(memcache.DefaultMaxCompressionRatio*n, memcache.DefaultMaxDecodedSize)
	maxAlloc := uint64(expanded) + uint64(codec.Budget{}.MaxAlloc(expanded)) + 1<<20
	maxTime := 2*time.Second + time.Duration(expanded)*time.Microsecond
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	read()
	d := time.Since(start)
	runtime.ReadMemStats(&m1)
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > maxAlloc {
		t.Fatalf("%s: one Get of %d bytes allocated %d bytes, over its budget of %d", name, n, alloc, maxAlloc)
	}
	if d > maxTime {
		t.Fatalf("%s: one Get of %d bytes took %v, over %v", name, n, d, maxTime)
	}
}

// FuzzChunkIndex reads arbitrary index items (an index's 20 bytes, in
// any of the flags a store reads) through Get, GetMulti and Touch, with a
// few genuine chunks around: each must answer with a value or a typed
// error, within the read budget, and ask the backend for at most one
// batch of chunks besides the index.
func FuzzChunkIndex(f *testing.F) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	var keys atomic.Int64
	count := func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, req *memcache.Request) (*memcache.Response, error) {
			keys.Add(int64(len(req.Keys)))
			return next(ctx, req)
		}
	}
	s, err := memcache.NewStore[[]byte](b, memcache.WithCodec(rawBytes{}), memcache.WithChunking(), memcache.WithoutFingerprint(),
		memcache.WithItemSizeMax(2<<10), memcache.WithMiddleware(count))
	if err != nil {
		f.Fatal(err)
	}
	// A genuine chunked value of five chunks, whose index seeds the corpus
	// and whose chunks stay for forged indexes to name.
	if err := s.Set(ctx, "k", make([]byte, 8<<10)); err != nil {
		f.Fatal(err)
	}
	it, err := b.Get(ctx, "k")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(it.Flags, it.Value)
	forged := append([]byte("T0K3N!!!"), make([]byte, 12)...)
	binary.BigEndian.PutUint32(forged[8:], 1<<16)
	binary.BigEndian.PutUint32(forged[12:], 64<<20)
	f.Add(it.Flags, forged)

	f.Fuzz(func(t *testing.T, flags uint32, value []byte) {
		flags = flags&^0xf000 | 1<<12 // an index, whatever else the flags say
		if err := b.Set(ctx, &memcache.Item{Key: "k", Value: value, Flags: flags}); err != nil {
			t.Fatal(err)
		}
		for _, op := range []struct {
			name string
			call func() error
		}{
			{"Get", func() error { _, err := s.Get(ctx, "k"); return err }},
			{"GetMulti", func() error { _, err := s.GetMulti(ctx, []string{"k"}); return err }},
			{"Touch", func() error { return s.Touch(ctx, "k", time.Hour) }},
		} {
			keys.Store(0)
			var err error
			checkReadBudget(t, op.name, len(value), func() { err = op.call() })
			var fe *memcache.FormatError
			var de *memcache.DecodeError
			if err != nil && !errors.As(err, &fe) && !errors.As(err, &de) && !errors.Is(err, memcache.ErrCacheMiss) {
				t.Fatalf("%s: untyped error %T: %v", op.name, err, err)
			}
			if k := keys.Load(); k > 100 {
				t.Fatalf("%s of a %d-byte index asked for %d keys", op.name, len(value), k)
			}
		}
	})
}
