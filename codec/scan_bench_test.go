package codec

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/leancache/leancache/internal/fixtures"
)

// BenchmarkBudgetScanDeepTree is BenchmarkBudgetScan on the benchmarks'
// deep tree (4,095 nodes), which the counting phase bounds, close to the
// budget, without the typed walk; CBOR's includes the verdict on its keys
// that decides whether a recursive type is decoded into itself.
func BenchmarkBudgetScanDeepTree(b *testing.B) {
	tree := fixtures.NewTree(11, 2)
	t := reflect.TypeFor[fixtures.Node]()
	for _, tc := range []struct {
		c     Codec
		check func([]byte) error
	}{
		{Msgpack, func(d []byte) error { return checkMsgpack(d, t, Budget{}) }},
		{CBOR, func(d []byte) error {
			if keys, err := checkCBOR(d, t, Budget{}); err != nil || !keys.cborDirect(d, reflect.PointerTo(t)) {
				return fmt.Errorf("refused (%v) or not direct", err)
			}
			return nil
		}},
	} {
		data, err := tc.c.Marshal(tree)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.c.Name(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := tc.check(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
