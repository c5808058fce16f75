package codec

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/childproc"
	"github.com/leancache/leancache/internal/fixtures"
)

// bigReview is fixtures.Review's shape: 104 bytes, what the bombs
// decode nils into.
type bigReview struct {
	Author    string
	Stars     int
	Title     string
	Body      string
	CreatedAt time.Time
	Helpful   int
	BodyHTML  string `cacheprop:"cached"`
}

// bombLimits caps the child processes that decode bombs: a regression
// fails there instead of taking the machine down. The cap is on address
// space, of which this test binary has some 1.5 GiB mapped (mostly the
// runtime's reservations) before any test runs: the limit leaves 1 GiB of
// heap above that, against the 7 GB.
var bombLimits = childproc.Limits{Memory: 5 << 29, Timeout: 2 * time.Minute}

// measureAlloc returns what f allocates (the TotalAlloc delta).
func measureAlloc(f func()) int64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// msgpackNils is a msgpack array of n nils.
func msgpackNils(n int) []byte {
	data := binary.BigEndian.AppendUint32([]byte{0xdd}, uint32(n))
	return append(data, bytes.Repeat([]byte{0xc0}, n)...)
}

// cborNils is a CBOR array of n nulls.
func cborNils(n int) []byte {
	data := binary.BigEndian.AppendUint32([]byte{0x9a}, uint32(n))
	return append(data, bytes.Repeat([]byte{0xf6}, n)...)
}

// cborNilArrays is a CBOR array of k arrays of n nulls each.
func cborNilArrays(k, n int) []byte {
	data := binary.BigEndian.AppendUint32([]byte{0x9a}, uint32(k))
	for range k {
		data = append(data, cborNils(n)...)
	}
	return data
}

// deepNext nests n maps {"Next": ...} around a nil: a ccList chain n
// long, open, pre is the map header with one pair in the format.
func deepNext(n int, pre, key []byte, null byte) []byte {
	level := append(append([]byte{}, pre...), key...)
	return append(bytes.Repeat(level, n), null)
}

func msgpackDeepList(n int) []byte { return deepNext(n, []byte{0x81}, []byte("\xa4Next"), 0xc0) }
func cborDeepList(n int) []byte    { return deepNext(n, []byte{0xa1}, []byte("\x64Next"), 0xf6) }

func TestBigReviewIs104Bytes(t *testing.T) {
	require.EqualValues(t, 104, unsafe.Sizeof(bigReview{}))
	require.Equal(t, unsafe.Sizeof(fixtures.Review{}), unsafe.Sizeof(bigReview{}))
}

// TestMsgpackNilsIntoBigStructs: 1 MiB of msgpack nils into a slice of
// 104-byte structs asked msgpack for 109 MB; it is refused up front.
func TestMsgpackNilsIntoBigStructs(t *testing.T) {
	childproc.Run(t, bombLimits, func(t *testing.T) {
		data := msgpackNils(1<<20 - 5)
		require.Len(t, data, 1<<20)
		var err error
		alloc := measureAlloc(func() { err = Msgpack.Unmarshal(data, new([]bigReview)) })
		require.ErrorIs(t, err, ErrBudget)
		var berr *BudgetError
		require.ErrorAs(t, err, &berr)
		assert.Equal(t, "allocation", berr.Limit)
		assert.Equal(t, "msgpack", berr.Codec)
		assert.Less(t, alloc, int64(4<<20), "allocated before refusing")
		// Into an interface the same nils cost 16 bytes each: within budget.
		require.NoError(t, Msgpack.Unmarshal(data, new(any)))
	})
}

// TestCBORNilsIntoBigStructs: cbor's own limits (131,072 elements an
// array) let 1 MiB of nulls in eight arrays through, 109 MB of structs.
func TestCBORNilsIntoBigStructs(t *testing.T) {
	childproc.Run(t, bombLimits, func(t *testing.T) {
		data := cborNilArrays(8, CBORMaxArrayElements-1)
		require.Less(t, len(data), 1<<20+64)
		var err error
		alloc := measureAlloc(func() { err = CBOR.Unmarshal(data, new([][]bigReview)) })
		require.ErrorIs(t, err, ErrBudget)
		var berr *BudgetError
		require.ErrorAs(t, err, &berr)
		assert.Equal(t, "allocation", berr.Limit)
		assert.Less(t, alloc, int64(4<<20), "allocated before refusing")

		one := cborNils(CBORMaxArrayElements)
		require.ErrorIs(t, CBOR.Unmarshal(one, new([]bigReview)), ErrBudget)
		require.NoError(t, CBOR.Unmarshal(one, new([]*bigReview)), "nil pointers cost their slice only")
	})
}

// TestDepthBombs: nesting deeper than DefaultMaxDepth is refused by both
// codecs, into an interface and into a recursive type whose slots re-enter
// the library every few levels (restarting cbor's own count); exactly
// DefaultMaxDepth decodes.
func TestDepthBombs(t *testing.T) {
	childproc.Run(t, bombLimits, func(t *testing.T) {
		for _, tc := range []struct {
			c    Codec
			list func(int) []byte
			arr  func(int) []byte
		}{
			{Msgpack, msgpackDeepList, func(n int) []byte { return append(bytes.Repeat([]byte{0x91}, n), 0xc0) }},
			{CBOR, cborDeepList, func(n int) []byte { return append(bytes.Repeat([]byte{0x81}, n), 0xf6) }},
		} {
			// Allocation is not what these test: a budget generous in
			// it leaves depth the limit they hit.
			roomy, _ := WithBudget(tc.c, Budget{AllocFactor: 1 << 12})
			for _, bomb := range [][]byte{tc.list(DefaultMaxDepth + 1), tc.list(1 << 20), tc.arr(DefaultMaxDepth + 1), tc.arr(1 << 20)} {
				for _, dst := range []any{new(ccList), new(any), new([]any)} {
					require.ErrorIs(t, tc.c.Unmarshal(bomb, dst), ErrBudget, "%s into %T", tc.c.Name(), dst)
					err := roomy.Unmarshal(bomb, dst)
					var berr *BudgetError
					require.ErrorAs(t, err, &berr, "%s into %T", tc.c.Name(), dst)
					assert.Equal(t, "depth", berr.Limit)
					assert.EqualValues(t, DefaultMaxDepth, berr.Max)
					if tc.c.Name() == "msgpack" {
						assert.ErrorIs(t, err, ErrMsgpackDepth)
					} else {
						assert.NotErrorIs(t, err, ErrMsgpackDepth)
					}
				}
			}
			var l ccList
			require.NoError(t, tc.c.Unmarshal(tc.list(DefaultMaxDepth), &l), tc.c.Name())
			n := 0
			for p := l.Next; p != nil; p = p.Next {
				n++
			}
			assert.Equal(t, DefaultMaxDepth-1, n, tc.c.Name())
			require.NoError(t, tc.c.Unmarshal(tc.arr(DefaultMaxDepth), new(any)), tc.c.Name())
		}
	})
}

// estimateCases are inputs near the edges of the cost model, each with
// the target it is decoded into.
func estimateCases(t *testing.T) []struct {
	name     string
	c        Codec
	data     []byte
	newV     func() any
	accepted bool
} {
	mp := func(v any) []byte {
		b, err := Msgpack.Marshal(v)
		require.NoError(t, err)
		return b
	}
	cb := func(v any) []byte {
		b, err := CBOR.Marshal(v)
		require.NoError(t, err)
		return b
	}
	ints := make([]int, 50000)
	smallMap := map[string]int{}
	strs := make([]string, 20000)
	anys := make([]any, 20000)
	for i := range ints {
		ints[i] = i % 100
	}
	for i := range 20000 {
		smallMap[string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676))] = i % 100
		strs[i] = "s" + string(rune('a'+i%26))
		anys[i] = map[string]any{"k": i % 10, "l": []any{"x", 1.5}}
	}
	product := fixtures.NewProduct(42, 200)
	product.Render(64 << 10)
	type c = struct {
		name     string
		c        Codec
		data     []byte
		newV     func() any
		accepted bool
	}
	var cases []c
	for _, codec := range []Codec{Msgpack, CBOR} {
		// msgpack allocates a slice twice: half as many nils fit.
		enc, nils, within, over := mp, msgpackNils, 5000, 6000
		deep := msgpackDeepList
		if codec == CBOR {
			enc, nils, deep, within, over = cb, cborNils, cborDeepList, 11000, 13000
		}
		cases = append(cases,
			c{"nils into big structs, just within", codec, nils(within), func() any { return new([]bigReview) }, true},
			c{"nils into big structs, just over", codec, nils(over), func() any { return new([]bigReview) }, false},
			c{"nils into pointers", codec, nils(100000), func() any { return new([]*bigReview) }, true},
			c{"nils into any", codec, nils(100000), func() any { return new(any) }, true},
			c{"small ints", codec, enc(ints), func() any { return new([]int) }, true},
			c{"small ints into any", codec, enc(ints), func() any { return new(any) }, true},
			c{"short strings", codec, enc(strs), func() any { return new([]string) }, true},
			c{"small map", codec, enc(smallMap), func() any { return new(map[string]int) }, true},
			// 23 bytes a byte: over the budget in earnest.
			c{"small map into any", codec, enc(smallMap), func() any { return new(any) }, false},
			// Small maps cost a header and a group of eight slots each:
			// 33 bytes a byte.
			c{"maps in any", codec, enc(anys), func() any { return new([]any) }, false},
			c{"deep list", codec, deep(5000), func() any { return new(ccList) }, true},
			c{"product", codec, enc(product), func() any { return new(fixtures.Product) }, true},
		)
	}
	return cases
}

// TestBudgetEstimateIsConservative: for inputs at the edges of the cost
// model, what Unmarshal really allocates (under a budget roomy enough to
// let it decode) never exceeds the pre-scan's estimate, so what the default
// budget accepts allocates within it; and the legitimate ones are accepted.
func TestBudgetEstimateIsConservative(t *testing.T) {
	for _, tc := range estimateCases(t) {
		format, plans := scanMsgpack, &msgpackCosts
		if tc.c == CBOR {
			format, plans = scanCBOR, &cborCosts
		}
		roomyBudget := Budget{AllocFactor: 1 << 12}
		plan := plans.plan(reflect.TypeOf(tc.newV()).Elem())
		scan := newBudgetScan(tc.c.Name(), format, tc.data, plan, roomyBudget)
		items, payload, known, err := scan.count()
		require.NoError(t, err, tc.name)
		require.True(t, known, tc.name)
		est, err := scan.estimate(plan)
		require.NoError(t, err, tc.name)
		// The bound that lets small inputs skip the walk holds.
		assert.LessOrEqual(t, est, decodeFixedCost+items*plan.perItem+2*payload, "%s %s: the walk exceeds the items' bound", tc.c.Name(), tc.name)
		roomy, _ := WithBudget(tc.c, roomyBudget)
		_ = roomy.Unmarshal(tc.data, tc.newV()) // warm the type caches
		var derr error
		alloc := measureAlloc(func() { derr = roomy.Unmarshal(tc.data, tc.newV()) })
		require.NoError(t, derr, "%s %s", tc.c.Name(), tc.name)
		limit := (Budget{}).MaxAlloc(len(tc.data))
		t.Logf("%s %s: %d bytes, allocated %d (%.1f/byte), estimated %d (%.1f/byte), budget %d", tc.c.Name(), tc.name,
			len(tc.data), alloc, float64(alloc)/float64(len(tc.data)), est, float64(est)/float64(len(tc.data)), limit)
		assert.LessOrEqual(t, alloc, est, "%s %s: allocated more than estimated", tc.c.Name(), tc.name)
		derr = tc.c.Unmarshal(tc.data, tc.newV())
		if tc.accepted {
			require.NoError(t, derr, "%s %s", tc.c.Name(), tc.name)
		} else {
			require.ErrorIs(t, derr, ErrBudget, "%s %s", tc.c.Name(), tc.name)
		}
	}
}

// TestWithBudget: a budgeted codec keeps its name and stripping, and
// applies its own limits.
func TestWithBudget(t *testing.T) {
	// 1 byte each in the input, 8 decoded (msgpack 16)
	ints := [][]int{make([]int, 100000), make([]int, 100000)}
	for _, c := range []Codec{Msgpack, CBOR} {
		data, err := c.Marshal(ints)
		require.NoError(t, err)
		require.NoError(t, c.Unmarshal(data, new([][]int)), c.Name())
		tight, ok := WithBudget(c, Budget{AllocFactor: 1})
		require.True(t, ok)
		assert.Equal(t, c.Name(), tight.Name())
		assert.True(t, StripsCachedProperties(tight))
		var berr *BudgetError
		require.ErrorAs(t, tight.Unmarshal(data, new([][]int)), &berr, c.Name())
		assert.Equal(t, "allocation", berr.Limit)
		assert.Equal(t, Budget{AllocFactor: 1}.MaxAlloc(len(data)), berr.Max)

		deep, err := c.Marshal([][][]int{{{1}}})
		require.NoError(t, err)
		require.NoError(t, c.Unmarshal(deep, new(any)))
		shallow, _ := WithBudget(c, Budget{MaxDepth: 2})
		require.ErrorAs(t, shallow.Unmarshal(deep, new(any)), &berr)
		assert.Equal(t, "depth", berr.Limit)
		assert.EqualValues(t, 2, berr.Max)
	}
}

// BenchmarkBudgetScan measures the pre-scan alone on the benchmarks'
// product, to set beside BenchmarkCodecUnmarshal in benchmarks/: the scan
// must stay a small fraction of a decode.
func BenchmarkBudgetScan(b *testing.B) {
	p := fixtures.NewProduct(42, 20)
	p.Render(64 << 10)
	for _, tc := range []struct {
		c      Codec
		format scanFormat
		plans  *costPlans
	}{{Msgpack, scanMsgpack, &msgpackCosts}, {CBOR, scanCBOR, &cborCosts}} {
		data, err := tc.c.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		plan := tc.plans.plan(reflect.TypeFor[fixtures.Product]())
		b.Run(tc.c.Name(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := scanBudget(tc.c.Name(), tc.format, data, plan, Budget{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// checkScanBound fails t if the pre-scan's walk of data into newTarget()'s
// type charges more than the items' bound that lets small inputs skip it:
// the fuzz targets check it on every input.
func checkScanBound(t *testing.T, c Codec, data []byte, newTarget func() any) {
	t.Helper()
	format, plans := scanMsgpack, &msgpackCosts
	switch c.Name() {
	case "msgpack":
	case "cbor":
		format, plans = scanCBOR, &cborCosts
	default:
		return
	}
	plan := plans.plan(decodeTargetType(newTarget()))
	roomy := Budget{AllocFactor: 1 << 20}
	scan := newBudgetScan(c.Name(), format, data, plan, roomy)
	items, payload, known, err := scan.count()
	if err != nil || !known {
		return
	}
	if est, err := scan.estimate(plan); err == nil && est > decodeFixedCost+items*plan.perItem+2*payload {
		t.Errorf("%s: the pre-scan of %x into %T charges %d, over its items' bound %d", c.Name(), data, newTarget(), est, decodeFixedCost+items*plan.perItem+2*payload)
	}
}
