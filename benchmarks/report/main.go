// Command report runs leancache's headline benchmarks and prints the
// README's tables in Markdown: encoded sizes per codec with and without
// stripping, Marshal and Unmarshal times against the plain library on the
// twin type, and the Store's overhead against hand-written gomemcache calls
// on a real memcached (started on a loopback port when the binary is
// installed).
//
//	go run ./benchmarks/report
//	go run ./benchmarks/report -unmarshal   # the Unmarshal rows only
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// library is a codec's underlying library, used plainly.
type library struct {
	codec     codec.Codec
	marshal   func(any) ([]byte, error)
	unmarshal func([]byte, any) error
}

func gobMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(v)
	return buf.Bytes(), err
}

func gobUnmarshal(data []byte, v any) error { return gob.NewDecoder(bytes.NewReader(data)).Decode(v) }

var libraries = []library{
	{codec.JSON, json.Marshal, json.Unmarshal},
	{codec.Gob, gobMarshal, gobUnmarshal},
	{codec.Msgpack, msgpack.Marshal, msgpack.Unmarshal},
	{codec.CBOR, cbor.Marshal, cbor.Unmarshal},
}

var unmarshalOnly = flag.Bool("unmarshal", false, "print only the Unmarshal rows of the speed table")

func main() {
	flag.Parse()
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	machine(w)
	if *unmarshalOnly {
		speed(w)
		return
	}
	sizes(w)
	speed(w)
	store(w)
}

func machine(w io.Writer) {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	fmt.Fprintf(w, "Machine: %s, %d CPUs, %s/%s, %s. Each figure is the fastest of %d runs, the two sides alternating.\n\n", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), *rounds)
}

// product is the benchmark object: 20 reviews, maps, times, and 500 KB of
// rendered HTML plus Lazy cells as cached properties.
func product() *fixtures.Product {
	p := fixtures.NewProduct(1, 20)
	p.Render(500 << 10)
	return p
}

func sizes(w io.Writer) {
	p := product()
	fmt.Fprintln(w, "Encoded size of the benchmark object (20 reviews, 500 KB of rendered HTML as a cached property):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| codec | library, cached fields included | leancache | library on the twin type |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, lib := range libraries {
		var plain string
		if b, err := lib.marshal(p); err == nil { //cachepropvet:ignore the report compares plain library sizes with stripped ones
			plain = memcache.FormatBytes(len(b))
		} else {
			plain = fmt.Sprintf("fails (%v)", err)
		}
		lean, err := lib.codec.Marshal(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		twin, _ := lib.marshal(p.Twin())
		fmt.Fprintf(w, "| %s | %s | %d B | %d B |\n", lib.codec.Name(), plain, len(lean), len(twin))
	}
	fmt.Fprintln(w)
}

type result struct {
	ns     int64
	allocs int64
}

var rounds = flag.Int("rounds", 5, "runs of each benchmark; the fastest counts")

// pair runs two benchmarks alternately, rounds times each, and keeps each
// one's fastest run: on a shared machine the minimum is the figure least
// disturbed by other work, and alternating exposes both to the same load.
func pair(a, b func(b *testing.B)) (result, result) {
	best := func(r *result, f func(b *testing.B)) {
		br := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			f(b)
		})
		if r.ns == 0 || br.NsPerOp() < r.ns {
			*r = result{br.NsPerOp(), br.AllocsPerOp()}
		}
	}
	var ra, rb result
	for i := 0; i < *rounds; i++ {
		best(&ra, a)
		best(&rb, b)
	}
	return ra, rb
}

func ratio(a, b result) string { return fmt.Sprintf("%.2f×", float64(a.ns)/float64(b.ns)) }

func speed(w io.Writer) {
	p := product()
	twin := p.Twin()
	tree := fixtures.NewTree(4, 4)
	treeTwin := tree.Twin()
	deep := fixtures.NewTree(11, 2)
	deepTwin := deep.Twin()
	fmt.Fprintln(w, "Time per operation, leancache on the object against the library on its twin (same bytes), the recursive tree (341 nodes) and, unmarshal only, the deep tree (12 levels, 4,095 nodes):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| codec | op | leancache | library on twin | ratio | allocs leancache / library |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, lib := range libraries {
		for _, c := range []struct {
			name          string
			value, twn    any
			newV, newT    func() any
			unmarshalOnly bool
		}{
			{"product", p, twin, func() any { return new(fixtures.Product) }, func() any { return new(fixtures.ProductTwin) }, false},
			{"tree", tree, treeTwin, func() any { return new(fixtures.Node) }, func() any { return new(fixtures.NodeTwin) }, false},
			{"deep tree", deep, deepTwin, func() any { return new(fixtures.Node) }, func() any { return new(fixtures.NodeTwin) }, true},
		} {
			if !c.unmarshalOnly && !*unmarshalOnly {
				marshalRow(w, lib, c.name, c.value, c.twn)
			}
			data, _ := lib.codec.Marshal(c.value)
			twinData, _ := lib.marshal(c.twn)
			lean, plain := pair(func(b *testing.B) {
				for b.Loop() {
					if err := lib.codec.Unmarshal(data, c.newV()); err != nil {
						b.Fatal(err)
					}
				}
			}, func(b *testing.B) {
				for b.Loop() {
					if err := lib.unmarshal(twinData, c.newT()); err != nil {
						b.Fatal(err)
					}
				}
			})
			fmt.Fprintf(w, "| %s | unmarshal %s | %d ns | %d ns | %s | %d / %d |\n", lib.codec.Name(), c.name, lean.ns, plain.ns, ratio(lean, plain), lean.allocs, plain.allocs)
		}
	}
	fmt.Fprintln(w)
}

// marshalRow prints the Marshal row of one codec and case.
func marshalRow(w io.Writer, lib library, name string, value, twin any) {
	lean, plain := pair(func(b *testing.B) {
		for b.Loop() {
			if _, err := lib.codec.Marshal(value); err != nil {
				b.Fatal(err)
			}
		}
	}, func(b *testing.B) {
		for b.Loop() {
			if _, err := lib.marshal(twin); err != nil {
				b.Fatal(err)
			}
		}
	})
	fmt.Fprintf(w, "| %s | marshal %s | %d ns | %d ns | %s | %d / %d |\n", lib.codec.Name(), name, lean.ns, plain.ns, ratio(lean, plain), lean.allocs, plain.allocs)
}

func store(w io.Writer) {
	srv, err := memcachetest.Start()
	if err != nil {
		fmt.Fprintf(w, "Store overhead: not measured (%v).\n", err)
		return
	}
	defer srv.Close()
	ctx := context.Background()
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer client.Close()
	s, err := memcache.NewStore[*fixtures.Product](client)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	raw := gomemcache.New(srv.Addr)

	fmt.Fprintln(w, "Store over real memcached 1.6 on loopback (JSON), against hand-written gomemcache + json.Marshal of the twin on the same server:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| value | op | Store | gomemcache + json | ratio |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|")
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1 KB", 1 << 10}, {"100 KB", 100 << 10}} {
		p := fixtures.ProductOfSize(size.bytes)
		twin := p.Twin()
		set, hand := pair(func(b *testing.B) {
			for b.Loop() {
				if err := s.Set(ctx, "report", p); err != nil {
					b.Fatal(err)
				}
			}
		}, func(b *testing.B) {
			for b.Loop() {
				data, err := json.Marshal(twin)
				if err != nil {
					b.Fatal(err)
				}
				if err := raw.Set(&gomemcache.Item{Key: "report-raw", Value: data}); err != nil {
					b.Fatal(err)
				}
			}
		})
		fmt.Fprintf(w, "| %s | set | %d ns | %d ns | %s |\n", size.name, set.ns, hand.ns, ratio(set, hand))
		get, hand := pair(func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Get(ctx, "report"); err != nil {
					b.Fatal(err)
				}
			}
		}, func(b *testing.B) {
			for b.Loop() {
				it, err := raw.Get("report-raw")
				if err != nil {
					b.Fatal(err)
				}
				var out *fixtures.ProductTwin
				if err := json.Unmarshal(it.Value, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
		fmt.Fprintf(w, "| %s | get | %d ns | %d ns | %s |\n", size.name, get.ns, hand.ns, ratio(get, hand))
	}
	fmt.Fprintln(w)
}
