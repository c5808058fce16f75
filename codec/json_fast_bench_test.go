package codec

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/leancache/leancache/internal/fixtures"
)

// BenchmarkJSONPhases times the parts of [JSON]'s Unmarshal on the
// benchmarks' fixtures: json.Unmarshal into the type itself and into its
// twin (the floor: what the bigger type costs json), the codec's
// Unmarshal, the fast path's bound and blank proof, and the decode
// budget's walk alone (which the fast path skips for the product and the
// 341-node tree, not for the 4,095-node tree).
func BenchmarkJSONPhases(b *testing.B) {
	for _, tc := range []struct {
		name          string
		v             any
		newV, newTwin func() any
	}{
		{"Product", func() any { p := fixtures.NewProduct(42, 20); p.Render(64 << 10); return p }(),
			func() any { return new(fixtures.Product) }, func() any { return new(fixtures.ProductTwin) }},
		{"Tree", fixtures.NewTree(4, 4), func() any { return new(fixtures.Node) }, func() any { return new(fixtures.NodeTwin) }},
		{"DeepTree", fixtures.NewTree(11, 2), func() any { return new(fixtures.Node) }, func() any { return new(fixtures.NodeTwin) }},
	} {
		data, err := JSON.Marshal(tc.v)
		if err != nil {
			b.Fatal(err)
		}
		shape := jsonShapeOf(reflect.TypeOf(tc.newV()).Elem())
		b.Run(tc.name+"/json", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_ = json.Unmarshal(data, tc.newV())
			}
		})
		b.Run(tc.name+"/json-twin", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_ = json.Unmarshal(data, tc.newTwin())
			}
		})
		b.Run(tc.name+"/codec", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_ = JSON.Unmarshal(data, tc.newV())
			}
		})
		f := shape.fastCost()
		b.Run(tc.name+"/bound", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, _ = jsonFastBound(data, f, DefaultMaxDepth, Budget{}.MaxAlloc(len(data)))
			}
		})
		b.Run(tc.name+"/blank", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_ = jsonNoCachedKey(data, f.folds)
			}
		})
		b.Run(tc.name+"/walk", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, _ = checkJSON(data, shape, Budget{}, true)
			}
		})
	}
}
