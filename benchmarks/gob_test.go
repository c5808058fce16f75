package benchmarks

import (
	"bytes"
	"encoding/gob"
	"strings"
	"testing"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
)

// The gob benchmarks compare codec.Gob on a type with cached properties
// (impl=leancache) with plain encoding/gob on its twin (impl=library), per
// value, the way a cache uses a codec: one Encoder or Decoder per value, so
// every value carries (and every decode reads) its own type descriptors.
//
//	go test -run='^$' -bench=Gob -benchmem -count=6 ./benchmarks/ > gob.txt
//	benchstat -col /impl gob.txt
//
// The goal is gob's time within 10% for the product and the deep tree
// (12 levels, 4,095 nodes). Trees are a recursive type, which Gob copies
// into tables (see codec.Gob). Unmarshal reports cpu-ns/op besides the
// wall time (see reportCPU).

func gobProduct() *fixtures.Product {
	p := fixtures.NewProduct(42, 20)
	p.Render(64 << 10)
	return p
}

// GobSessionUser is what a web session keeps behind an interface, with a
// cached rendering that codec.Gob must not write.
type GobSessionUser struct {
	Name  string
	Roles []string
	Menu  string `cacheprop:"cached"`
}

// GobSessionUserTwin is GobSessionUser without its cached field.
type GobSessionUserTwin struct {
	Name  string
	Roles []string
}

func init() {
	gob.Register(&GobSessionUser{})
	gob.Register(&GobSessionUserTwin{})
}

// gobSession is a session's values: what interfaces hold is copied with
// its cached properties zeroed, which is what this case measures.
func gobSession(twin bool) map[string]any {
	m := map[string]any{"csrf": "c2VjcmV0", "visits": 42, "lang": "de"}
	if twin {
		m["user"] = &GobSessionUserTwin{Name: "ann", Roles: []string{"admin", "buyer"}}
	} else {
		m["user"] = &GobSessionUser{Name: "ann", Roles: []string{"admin", "buyer"}, Menu: strings.Repeat("<li>", 2000)}
	}
	return m
}

func BenchmarkGobMarshal(b *testing.B) {
	p := gobProduct()
	tree := fixtures.NewTree(4, 4)
	sess, sessTwin := gobSession(false), gobSession(true)
	b.Run("Session/impl=leancache", func(b *testing.B) { benchGobMarshal(b, sess) })
	b.Run("Session/impl=library", func(b *testing.B) { benchPlainGobMarshal(b, sessTwin) })
	b.Run("Product/impl=leancache", func(b *testing.B) { benchGobMarshal(b, p) })
	b.Run("Product/impl=library", func(b *testing.B) { benchPlainGobMarshal(b, p.Twin()) })
	b.Run("Tree/impl=leancache", func(b *testing.B) { benchGobMarshal(b, tree) })
	b.Run("Tree/impl=library", func(b *testing.B) { benchPlainGobMarshal(b, tree.Twin()) })
}

func BenchmarkGobUnmarshal(b *testing.B) {
	p := gobProduct()
	tree := fixtures.NewTree(4, 4)
	b.Run("Product/impl=leancache", func(b *testing.B) {
		benchGobUnmarshal(b, p, func() any { return new(fixtures.Product) })
	})
	b.Run("Product/impl=library", func(b *testing.B) {
		benchPlainGobUnmarshal(b, p.Twin(), func() any { return new(fixtures.ProductTwin) })
	})
	b.Run("Tree/impl=leancache", func(b *testing.B) {
		benchGobUnmarshal(b, tree, func() any { return new(fixtures.Node) })
	})
	b.Run("Tree/impl=library", func(b *testing.B) {
		benchPlainGobUnmarshal(b, tree.Twin(), func() any { return new(fixtures.NodeTwin) })
	})
	deep := fixtures.NewTree(11, 2) // BenchmarkCodecUnmarshal's DeepTree
	b.Run("DeepTree/impl=leancache", func(b *testing.B) {
		benchGobUnmarshal(b, deep, func() any { return new(fixtures.Node) })
	})
	b.Run("DeepTree/impl=library", func(b *testing.B) {
		benchPlainGobUnmarshal(b, deep.Twin(), func() any { return new(fixtures.NodeTwin) })
	})
}

func benchGobMarshal(b *testing.B, v any) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Gob.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPlainGobMarshal(b *testing.B, v any) {
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(v); err != nil {
			b.Fatal(err)
		}
		_ = buf.Bytes()
	}
}

func benchGobUnmarshal(b *testing.B, v any, target func() any) {
	data, err := codec.Gob.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	reportCPU(b, func() {
		if err := codec.Gob.Unmarshal(data, target()); err != nil {
			b.Fatal(err)
		}
	})
}

func benchPlainGobUnmarshal(b *testing.B, v any, target func() any) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	reportCPU(b, func() {
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(target()); err != nil {
			b.Fatal(err)
		}
	})
}
