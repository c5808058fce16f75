package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// BenchmarkStore compares Store Get and Set of a domain object with the
// hand-written path it replaces: json.Marshal of a twin type and gomemcache
// on the same memcached server.
func BenchmarkStore(b *testing.B) {
	srv := memcachetest.NewServer(b)
	ctx := context.Background()
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KB", 1 << 10}, {"100KB", 100 << 10}} {
		p := fixtures.ProductOfSize(size.bytes)
		twin := p.Twin()

		client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}, MaxIdleConns: 4})
		if err != nil {
			b.Fatal(err)
		}
		store, err := memcache.NewStore[*fixtures.Product](client, memcache.WithCodec(codec.JSON))
		if err != nil {
			b.Fatal(err)
		}
		raw := gomemcache.New(srv.Addr)
		raw.MaxIdleConns = 4

		b.Run("set/"+size.name+"/leancache", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := store.Set(ctx, "bench-store", p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("set/"+size.name+"/gomemcache+json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				data, err := json.Marshal(twin)
				if err != nil {
					b.Fatal(err)
				}
				if err := raw.Set(&gomemcache.Item{Key: "bench-raw", Value: data}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("get/"+size.name+"/leancache", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := store.Get(ctx, "bench-store"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("get/"+size.name+"/gomemcache+json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				it, err := raw.Get("bench-raw")
				if err != nil {
					b.Fatal(err)
				}
				var out *fixtures.ProductTwin
				if err := json.Unmarshal(it.Value, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSizeGuard measures the guard's cost on an accepted value: a
// length comparison.
func BenchmarkSizeGuard(b *testing.B) {
	g := memcache.SizeGuard{}
	n := 100 << 10
	for b.Loop() {
		if n > g.Limit("some:key", 0x4C010001) {
			b.Fatal("rejected")
		}
	}
}

// BenchmarkCompression is the measurement behind the Store's choice of S2
// over zstd: the product encoded by each codec, compressed and decompressed
// by each; the ratio is reported as a metric.
func BenchmarkCompression(b *testing.B) {
	p := fixtures.ProductOfSize(100 << 10)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		b.Fatal(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []codec.Codec{codec.JSON, codec.Msgpack} {
		data, err := c.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		s2Data := s2.Encode(nil, data)
		zData := enc.EncodeAll(data, nil)
		ratio := func(n int) float64 { return float64(len(data)) / float64(n) }
		b.Run(fmt.Sprintf("%s/s2/compress", c.Name()), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				s2.Encode(nil, data)
			}
			b.ReportMetric(ratio(len(s2Data)), "ratio")
		})
		b.Run(fmt.Sprintf("%s/zstd/compress", c.Name()), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				enc.EncodeAll(data, nil)
			}
			b.ReportMetric(ratio(len(zData)), "ratio")
		})
		b.Run(fmt.Sprintf("%s/s2/decompress", c.Name()), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := s2.Decode(nil, s2Data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%s/zstd/decompress", c.Name()), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := dec.DecodeAll(zData, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
