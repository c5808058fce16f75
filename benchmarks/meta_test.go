package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/memcache/meta"
)

// BenchmarkMeta compares memcache/meta's Client with the gomemcache Client
// (memcache.Client) on the same memcached servers, and a raw text-protocol
// loop on one connection as the floor: 1 KB Get with context.Background()
// and with a context that has a deadline (as every HTTP handler's does),
// the same or a new one per call,
// GetMulti of 100 keys over 3 servers, SetMulti of 100 items against 100
// Sets, and Get from 8 goroutines.
func BenchmarkMeta(b *testing.B) {
	var addrs []string
	for range 3 {
		addrs = append(addrs, memcachetest.NewServer(b).Addr)
	}
	mc, err := meta.NewClient(meta.Config{Servers: addrs})
	if err != nil {
		b.Fatal(err)
	}
	defer mc.Close()
	gc, err := memcache.NewClient(memcache.ClientConfig{Servers: addrs, MaxIdleConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer gc.Close()
	clients := []struct {
		name string
		b    memcache.Backend
	}{{"meta", mc}, {"gomemcache", gc}}

	bg := context.Background()
	deadline, cancel := context.WithTimeout(bg, time.Hour)
	defer cancel()
	value := bytes.Repeat([]byte("v"), 1<<10)
	const key = "bench-meta-1k"
	if err := mc.Set(bg, &memcache.Item{Key: key, Value: value}); err != nil {
		b.Fatal(err)
	}
	// The raw loop must talk to the server that holds key.
	keyAddr := addrs[0]
	for _, a := range addrs {
		if rawGet(b, a, key, 1) == len(value) {
			keyAddr = a
		}
	}

	for _, ctxCase := range []struct {
		name string
		ctx  context.Context
	}{{"background", bg}, {"deadline", deadline}} {
		for _, c := range clients {
			b.Run(fmt.Sprintf("get/1KB/%s/%s", ctxCase.name, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.b.Get(ctxCase.ctx, key); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	// The goals as ratios, each measured in one loop that alternates its
	// two calls, so that the load of a shared machine weighs on both
	// alike: meta's deadline Get over its own background Get, and over
	// the gomemcache Client's background Get.
	get := func(c memcache.Backend, ctx context.Context) func() {
		return func() {
			if _, err := c.Get(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("get/1KB/ratio/meta-deadline-over-meta-background", func(b *testing.B) {
		paired(b, get(mc, deadline), get(mc, bg))
	})
	b.Run("get/1KB/ratio/meta-deadline-over-gomemcache-background", func(b *testing.B) {
		paired(b, get(mc, deadline), get(gc, bg))
	})
	b.Run("get/1KB/ratio/meta-new-deadline-per-call-over-meta-background", func(b *testing.B) {
		paired(b, func() {
			ctx, cancel := context.WithTimeout(bg, time.Hour)
			get(mc, ctx)()
			cancel()
		}, get(mc, bg))
	})
	// A new context per call, as each HTTP request brings: the context's
	// own cost is the caller's, and is measured alone beside it.
	b.Run("get/1KB/new-deadline-per-call/context-alone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, cancel := context.WithTimeout(bg, time.Hour)
			cancel()
		}
	})
	for _, c := range clients {
		b.Run("get/1KB/new-deadline-per-call/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithTimeout(bg, time.Hour)
				if _, err := c.b.Get(ctx, key); err != nil {
					b.Fatal(err)
				}
				cancel()
			}
		})
	}
	b.Run("get/1KB/raw-protocol", func(b *testing.B) {
		b.ReportAllocs()
		rawGet(b, keyAddr, key, b.N)
	})

	var keys []string
	var items []*memcache.Item
	for i := range 100 {
		k := fmt.Sprintf("bench-meta-multi/%d", i)
		keys = append(keys, k)
		items = append(items, &memcache.Item{Key: k, Value: value})
	}
	if errs := mc.SetMulti(bg, items); errs != nil {
		b.Fatal(errs)
	}
	for _, c := range clients {
		b.Run("getmulti/100keys/3servers/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := c.b.GetMulti(deadline, keys)
				if err != nil || len(m) != len(keys) {
					b.Fatal(len(m), err)
				}
			}
		})
	}
	b.Run("setmulti/100items/meta", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if errs := mc.SetMulti(deadline, items); errs != nil {
				b.Fatal(errs)
			}
		}
	})
	for _, c := range clients {
		b.Run("100sets/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, it := range items {
					if err := c.b.Set(deadline, it); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
	for _, c := range clients {
		b.Run("parallel8/get/1KB/deadline/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // 8 goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.b.Get(deadline, key); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// paired runs a and b in each iteration, in turn first, and reports the
// median time of a over the median time of b as the metric "a/b": medians,
// so that a stall of the shared machine during a few calls does not weigh
// (ns/op is that of the pair).
func paired(tb *testing.B, a, b func()) {
	var da, db []time.Duration
	timed := func(f func(), d *[]time.Duration) {
		start := time.Now()
		f()
		*d = append(*d, time.Since(start))
	}
	for i := 0; tb.Loop(); i++ {
		if i%2 == 0 {
			timed(a, &da)
			timed(b, &db)
		} else {
			timed(b, &db)
			timed(a, &da)
		}
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2])
	}
	tb.ReportMetric(median(da)/median(db), "a/b")
}

// rawGet sends n text-protocol gets of key on one connection to addr, the
// least any client can do per Get, and returns the last value's length (0
// for a miss).
func rawGet(b *testing.B, addr, key string, n int) int {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReaderSize(nc, 16<<10)
	req := []byte("get " + key + "\r\n")
	buf := make([]byte, 64<<10)
	size := 0
	for range n {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		line, err := r.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		if bytes.HasPrefix(line, []byte("END")) {
			return 0
		}
		// VALUE <key> <flags> <bytes>\r\n: the size is the last field.
		size = 0
		for _, c := range line[bytes.LastIndexByte(line, ' ')+1 : len(line)-2] {
			size = size*10 + int(c-'0')
		}
		if _, err := io.ReadFull(r, buf[:size+len("\r\nEND\r\n")]); err != nil {
			b.Fatal(err)
		}
	}
	return size
}

// BenchmarkMetaChunked compares a 5 MB value stored as one item on -I 8m
// with the same bytes as 5 chunk items written and read in one pipeline
// (SetMulti, GetMulti), the way a chunked value can travel on meta.Client.
func BenchmarkMetaChunked(b *testing.B) {
	srv := memcachetest.NewServer(b, memcachetest.Options{ItemSize: "8m", MemoryMB: 64})
	c, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	value := bytes.Repeat([]byte("v"), 5<<20)
	one := &memcache.Item{Key: "bench-chunked-one", Value: value}
	var chunks []*memcache.Item
	var keys []string
	const chunk = 1 << 20
	for i := 0; i*chunk < len(value); i++ {
		k := fmt.Sprintf("bench-chunked/%d", i)
		keys = append(keys, k)
		chunks = append(chunks, &memcache.Item{Key: k, Value: value[i*chunk : min(len(value), (i+1)*chunk)]})
	}
	b.Run("set/5MB/one-item", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			if err := c.Set(ctx, one); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("set/5MB/5-chunks-pipelined", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			if errs := c.SetMulti(ctx, chunks); errs != nil {
				b.Fatal(errs)
			}
		}
	})
	b.Run("get/5MB/one-item", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			if _, err := c.Get(ctx, one.Key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get/5MB/5-chunks-pipelined", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			if m, err := c.GetMulti(ctx, keys); err != nil || len(m) != len(keys) {
				b.Fatal(len(m), err)
			}
		}
	})
}
