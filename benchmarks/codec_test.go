package benchmarks

import (
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
)

// The JSON, msgpack and CBOR benchmarks run codec.X on a type with cached
// properties next to the library itself on the twin type, on the same data:
// names end in impl=leancache and impl=library, so that
//
//	go test -run='^$' -bench='Codec' -benchmem -count=6 ./benchmarks/ > out.txt
//	benchstat -col /impl out.txt
//
// puts them side by side. The goal is the library's time within 5% and its
// allocation count, for the product and the deep tree. Unmarshal also
// reports cpu-ns/op, the process's CPU time per decode (see reportCPU),
// steadier than the wall time on a shared machine. Recursive types are unrolled into
// nested views 8 levels deep; the tree fits, the chain goes through slot
// wrappers that re-enter the library every 8 levels. DeepChain (2,000
// nodes in a line) and DeepTree (12 levels, 4,095 nodes) go through many
// slots: their cost must stay linear in the output, within 10% of the
// library's.

// A plainLib is one of the wrapped libraries.
type plainLib struct {
	codec     codec.Codec
	marshal   func(any) ([]byte, error)
	unmarshal func([]byte, any) error
}

var plainLibs = []plainLib{
	{codec.JSON, json.Marshal, json.Unmarshal},
	{codec.Msgpack, msgpack.Marshal, msgpack.Unmarshal},
	{codec.CBOR, cbor.Marshal, cborDeep.Unmarshal},
}

// cborDeep is cbor's default decoding with room for the deep cases, whose
// nesting passes cbor's default of 32 levels (CBOR allows its budget's).
var cborDeep = func() cbor.DecMode {
	dm, err := cbor.DecOptions{MaxNestedLevels: codec.CBORMaxNestedLevels}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// benchCase is a value with cached properties and its twin.
type benchCase struct {
	name          string
	value, twin   any
	newV, newTwin func() any
}

func benchCases() []benchCase {
	p := fixtures.NewProduct(42, 20)
	p.Render(64 << 10)
	tree := fixtures.NewTree(4, 4) // 341 nodes, shallower than views are unrolled
	// 15 nodes deep: past the 8 unrolled levels, so a slot re-enters the
	// library, and within the 32 levels of nesting cbor decodes.
	chain := fixtures.NewTree(14, 1)
	// 4,000 levels of nesting (a node and its slice each count one):
	// within every codec's depth budget, past cbor's default.
	deepChain := fixtures.NewTree(1999, 1)
	deepTree := fixtures.NewTree(11, 2)
	return []benchCase{
		{"Product", p, p.Twin(),
			func() any { return new(fixtures.Product) }, func() any { return new(fixtures.ProductTwin) }},
		{"Tree", tree, tree.Twin(),
			func() any { return new(fixtures.Node) }, func() any { return new(fixtures.NodeTwin) }},
		{"Chain", chain, chain.Twin(),
			func() any { return new(fixtures.Node) }, func() any { return new(fixtures.NodeTwin) }},
		{"DeepChain", deepChain, deepChain.Twin(),
			func() any { return new(fixtures.Node) }, func() any { return new(fixtures.NodeTwin) }},
		{"DeepTree", deepTree, deepTree.Twin(),
			func() any { return new(fixtures.Node) }, func() any { return new(fixtures.NodeTwin) }},
	}
}

func BenchmarkCodecMarshal(b *testing.B) {
	for _, lib := range plainLibs {
		for _, c := range benchCases() {
			prefix := lib.codec.Name() + "/" + c.name
			b.Run(prefix+"/impl=leancache", func(b *testing.B) { benchMarshal(b, lib.codec.Marshal, c.value) })
			b.Run(prefix+"/impl=library", func(b *testing.B) { benchMarshal(b, lib.marshal, c.twin) })
		}
	}
}

func BenchmarkCodecUnmarshal(b *testing.B) {
	for _, lib := range plainLibs {
		for _, c := range benchCases() {
			data, err := lib.codec.Marshal(c.value)
			if err != nil {
				b.Fatal(err)
			}
			prefix := lib.codec.Name() + "/" + c.name
			b.Run(prefix+"/impl=leancache", func(b *testing.B) { benchUnmarshal(b, lib.codec.Unmarshal, data, c.newV) })
			b.Run(prefix+"/impl=library", func(b *testing.B) { benchUnmarshal(b, lib.unmarshal, data, c.newTwin) })
		}
	}
}

// BenchmarkCodecUnmarshalOwnType is the library decoding the same bytes
// into the type with cached properties itself (impl=library-own-type)
// beside the twin (impl=library): what a bigger Go type costs the library
// alone (fixtures.Node is 72 bytes, NodeTwin 40), a floor under the
// codec's ratio that no change to the codec can lower.
func BenchmarkCodecUnmarshalOwnType(b *testing.B) {
	for _, lib := range plainLibs {
		for _, c := range benchCases() {
			if c.name != "Product" && c.name != "DeepTree" {
				continue
			}
			data, err := lib.codec.Marshal(c.value)
			if err != nil {
				b.Fatal(err)
			}
			prefix := lib.codec.Name() + "/" + c.name
			b.Run(prefix+"/impl=library-own-type", func(b *testing.B) { benchUnmarshal(b, lib.unmarshal, data, c.newV) })
			b.Run(prefix+"/impl=library", func(b *testing.B) { benchUnmarshal(b, lib.unmarshal, data, c.newTwin) })
		}
	}
}

func benchMarshal(b *testing.B, marshal func(any) ([]byte, error), v any) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func benchUnmarshal(b *testing.B, unmarshal func([]byte, any) error, data []byte, newV func() any) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	reportCPU(b, func() {
		if err := unmarshal(data, newV()); err != nil {
			b.Fatal(err)
		}
	})
}
