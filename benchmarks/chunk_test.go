package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// BenchmarkBigValue prices chunking: a 5 MB value written and read by a
// Store WithChunking on a default memcached (-I 1m, so six chunks and an
// index), next to the same value in one item on a memcached started with
// -I 8m. The value is incompressible bytes under a codec that passes them
// through, so the figures are the storage path's alone.
func BenchmarkBigValue(b *testing.B) {
	ctx := context.Background()
	value := make([]byte, 5<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range value {
		value[i] = byte(r.Uint32())
	}
	small := memcachetest.NewServer(b, memcachetest.Options{ItemSize: "1m"})
	large := memcachetest.NewServer(b, memcachetest.Options{ItemSize: "8m", MemoryMB: 64})

	stores := []struct {
		name string
		s    *memcache.Store[[]byte]
	}{
		{"chunked-1m", bigStore(b, small.Addr, memcache.WithChunking())},
		{"one-item-8m", bigStore(b, large.Addr, memcache.WithItemSizeMax(8<<20))},
	}
	for _, st := range stores {
		b.Run("set/"+st.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			for b.Loop() {
				if err := st.s.Set(ctx, "big", value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, st := range stores {
		b.Run("get/"+st.name, func(b *testing.B) {
			if err := st.s.Set(ctx, "big", value); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			for b.Loop() {
				got, err := st.s.Get(ctx, "big")
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != len(value) {
					b.Fatalf("got %d bytes", len(got))
				}
			}
			got, _ := st.s.Get(ctx, "big")
			if !bytes.Equal(got, value) {
				b.Fatal("the value did not come back whole")
			}
		})
	}
}

func bigStore(b *testing.B, addr string, opts ...memcache.Option) *memcache.Store[[]byte] {
	b.Helper()
	// A generous timeout: a loaded machine must slow the figures, not fail them.
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{addr}, MaxIdleConns: 8, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	s, err := memcache.NewStore[[]byte](client, append([]memcache.Option{memcache.WithCodec(passBytes{})}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// passBytes is a codec for []byte that writes the bytes as they are.
type passBytes struct{}

func (passBytes) Name() string { return "bench-bytes" }

func (passBytes) Marshal(v any) ([]byte, error) {
	p, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("bench-bytes: %T is not []byte", v)
	}
	return p, nil
}

func (passBytes) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("bench-bytes: %T is not *[]byte", v)
	}
	*p = data
	return nil
}

// BenchmarkFingerprint prices schema fingerprints: Store Set and Get of a
// domain object with codec.JSON, with and without WithFingerprint, on one
// memcached. The fingerprint is computed once per type; each value pays an
// 8-byte header and, on write, the copy that puts it in front.
func BenchmarkFingerprint(b *testing.B) {
	srv := memcachetest.NewServer(b)
	ctx := context.Background()
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KB", 1 << 10}, {"100KB", 100 << 10}} {
		p := fixtures.ProductOfSize(size.bytes)
		for _, mode := range []struct {
			name string
			opts []memcache.Option
		}{{"without", nil}, {"with", []memcache.Option{memcache.WithFingerprint()}}} {
			client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, MaxIdleConns: 4, Timeout: 5 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			store, err := memcache.NewStore[*fixtures.Product](client, append([]memcache.Option{memcache.WithCodec(codec.JSON)}, mode.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			key := "fp-" + size.name + "-" + mode.name
			b.Run("set/"+size.name+"/"+mode.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := store.Set(ctx, key, p); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("get/"+size.name+"/"+mode.name, func(b *testing.B) {
				if err := store.Set(ctx, key, p); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := store.Get(ctx, key); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
