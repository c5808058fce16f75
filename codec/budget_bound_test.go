package codec

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/fixtures"
)

// scanTargets are the types the pre-scan tests walk inputs into: the fuzz
// targets, the benchmarks' product and tree, maps, interfaces, slices of
// big structs and pointers to them, and recursive types.
var scanTargets = append(fuzzTargets[:len(fuzzTargets):len(fuzzTargets)],
	func() any { return new(fixtures.Product) },
	func() any { return new(fixtures.Node) },
	func() any { return new([]*fixtures.Node) },
	func() any { return new(map[string][]int) },
	func() any { return new(map[string]*bigReview) },
	func() any { return new(map[[2]int][]bigReview) },
	func() any { return new([]*bigReview) },
	func() any { return new([][]string) },
	func() any { return new([3]int) },
	func() any { return new(map[string]any) },
	func() any { return new([]any) },
	func() any { return new(**ccList) },
	func() any { return new(map[string]*ccList) },
	func() any { return new(foldPair) },
)

// foldPair has two fields cbor cannot tell apart by a key that matches
// neither exactly: the pre-scan places such a key's value nowhere.
type foldPair struct {
	A []bigReview `cbor:"ab" msgpack:"ab"`
	B []bigReview `cbor:"AB" msgpack:"AB"`
	C []byte
}

// scanBudgets are the budgets the pre-scan tests walk inputs under: the
// default, and tight ones that refuse on allocation or depth early.
var scanBudgets = []Budget{{}, {AllocFactor: 1}, {MaxDepth: 3}, {MaxDepth: 1, AllocFactor: 1}}

// scanFormats pairs each self-describing codec with its scan format and
// cost plans.
var scanFormats = []struct {
	c      Codec
	format scanFormat
	plans  *costPlans
}{{Msgpack, scanMsgpack, &msgpackCosts}, {CBOR, scanCBOR, &cborCosts}}

// scanKeys are the keys checkCBOR watches for in input for t.
func scanKeys(format scanFormat, t reflect.Type) []string {
	if format != scanCBOR {
		return nil
	}
	if c := cborCachedOf(t); !c.never {
		return append([]string{}, c.names...)
	}
	return nil
}

// checkCheapBound fails t unless, when count's bound accepts data into
// plan's type under b, the typed walk accepts it too, with an estimate
// within that bound and the same verdict on the keys; and unless
// scanBudgetKeys refuses what the walk refuses, and the other way round.
func checkCheapBound(t *testing.T, format scanFormat, codec string, plan *costPlan, data []byte, b Budget, keys []string) {
	t.Helper()
	ctx := fmt.Sprintf("%s %x under %+v", codec, data, b)
	s := newBudgetScan(codec, format, data, plan, b)
	s.watch(keys)
	_, _, known, cerr := s.count()
	walk := newBudgetScan(codec, format, data, plan, b)
	walk.watch(keys)
	west, werr := walk.estimate(plan)
	if cerr == nil && known && s.bound <= s.max {
		assert.NoError(t, werr, "%s: count's bound %d accepts what the walk refuses", ctx, s.bound)
		assert.LessOrEqual(t, west, s.bound, "%s: the walk charges more than count's bound", ctx)
		if werr == nil && walk.pos == len(data) && keys != nil {
			assert.Equal(t, walk.keyHit, s.keyHit, "%s: count and the walk disagree on the keys", ctx)
		}
	}
	_, _, serr := scanBudgetKeys(codec, format, data, plan, b, keys)
	var wb *BudgetError
	switch {
	case errors.As(werr, &wb):
		// Depth is checked by both passes: either may see it first.
		assert.ErrorIs(t, serr, ErrBudget, "%s: the walk refuses (%v), the scan does not", ctx, werr)
	case errors.Is(serr, ErrBudget):
		var sb *BudgetError
		require.ErrorAs(t, serr, &sb)
		assert.Equal(t, "depth", sb.Limit, "%s: the scan refuses (%v) on allocation what the walk accepts", ctx, serr)
	}
}

// FuzzBudgetScan checks count's class-aware bound against the typed walk,
// in both formats, into every scan target, under every scan budget:
// whenever the bound lets an input skip the walk, the walk would have
// accepted it, charging no more.
func FuzzBudgetScan(f *testing.F) {
	for _, sf := range scanFormats {
		for _, cs := range conformanceCorpus() {
			if data, err := sf.c.Marshal(cs.Value()); err == nil {
				f.Add(uint8(sf.format), data)
			}
		}
		for _, v := range []any{fixtures.NewTree(3, 3), fixtures.NewProduct(7, 3), map[string][]int{"a": {1, 2}}, []any{1, "x", nil},
			map[string]*ccList{"Sum": nil, "x": {V: 1}}, map[string]any{"Ab": []any{nil, nil}, "C": []int{1, 2}}} {
			data, err := sf.c.Marshal(v)
			require.NoError(f, err)
			f.Add(uint8(sf.format), data)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		sf := scanFormats[int(which)%len(scanFormats)]
		for _, newT := range scanTargets {
			typ := decodeTargetType(newT())
			plan := sf.plans.plan(typ)
			for _, b := range scanBudgets {
				checkCheapBound(t, sf.format, sf.c.Name(), plan, data, b.clampDepth(), scanKeys(sf.format, typ))
			}
		}
	})
}

// TestCheapBoundTakesTheBenchmarks: the benchmarks' product and trees
// need no typed walk, and CBOR learns from count whether their keys name
// a cached field.
func TestCheapBoundTakesTheBenchmarks(t *testing.T) {
	product := fixtures.NewProduct(42, 20)
	product.Render(64 << 10)
	for _, sf := range scanFormats {
		for _, v := range []any{product, fixtures.NewTree(4, 4), fixtures.NewTree(11, 2), fixtures.NewTree(14, 1)} {
			data, err := sf.c.Marshal(v)
			require.NoError(t, err)
			typ := reflect.TypeOf(v).Elem()
			plan := sf.plans.plan(typ)
			keys := scanKeys(sf.format, typ)
			s := newBudgetScan(sf.c.Name(), sf.format, data, plan, Budget{})
			s.watch(keys)
			_, _, known, err := s.count()
			require.NoError(t, err)
			assert.True(t, known && s.bound <= s.max, "%s %T: count's bound %d, budget %d", sf.c.Name(), v, s.bound, s.max)
			checkCheapBound(t, sf.format, sf.c.Name(), plan, data, Budget{}, keys)
			if keys != nil {
				_, verdict, err := scanBudgetKeys(sf.c.Name(), sf.format, data, plan, Budget{}, keys)
				require.NoError(t, err)
				assert.Equal(t, keysClean, verdict, "%s %T", sf.c.Name(), v)
			}
		}
	}
	// A key named as a cached field is seen by count.
	data, err := CBOR.Marshal(map[string]any{"Name": "x", "Path": "/x"})
	require.NoError(t, err)
	typ := reflect.TypeFor[fixtures.Node]()
	_, verdict, err := scanBudgetKeys("cbor", scanCBOR, data, cborCosts.plan(typ), Budget{}, scanKeys(scanCBOR, typ))
	require.NoError(t, err)
	assert.Equal(t, keysHit, verdict)
}

// flatTree is a node with k leaf children.
func flatTree(k int) *fixtures.Node {
	root := &fixtures.Node{Name: "root"}
	for i := range k {
		root.Children = append(root.Children, &fixtures.Node{Name: fmt.Sprint(i)})
	}
	return root
}

// TestBudgetJustOver: under a small custom budget, the largest flat tree
// the typed walk accepts decodes, and one more leaf is refused with a
// *BudgetError, whether count's bound or the walk decides; and so for
// nils into big structs under the default budget.
func TestBudgetJustOver(t *testing.T) {
	for _, sf := range scanFormats {
		nils := msgpackNils
		if sf.format == scanCBOR {
			nils = cborNils
		}
		for _, tc := range []struct {
			name  string
			input func(k int) []byte
			newV  func() any
			b     Budget
		}{
			{"flat tree", func(k int) []byte {
				data, err := sf.c.Marshal(flatTree(k))
				require.NoError(t, err)
				return data
			}, func() any { return new(fixtures.Node) }, Budget{AllocFactor: 1}},
			{"nils into big structs", nils, func() any { return new([]bigReview) }, Budget{}},
			{"nils into big structs, tight", nils, func() any { return new([]bigReview) }, Budget{AllocFactor: 2}},
		} {
			plan := sf.plans.plan(decodeTargetType(tc.newV()))
			walks := func(k int) bool {
				data := tc.input(k)
				s := newBudgetScan(sf.c.Name(), sf.format, data, plan, tc.b)
				_, err := s.estimate(plan)
				return err == nil
			}
			lo, hi := 1, 1<<17 // the walk accepts lo, refuses hi
			require.True(t, walks(lo), tc.name)
			require.False(t, walks(hi), tc.name)
			for hi-lo > 1 {
				if mid := (lo + hi) / 2; walks(mid) {
					lo = mid
				} else {
					hi = mid
				}
			}
			c, _ := WithBudget(sf.c, tc.b)
			within, over := tc.input(lo), tc.input(hi)
			checkCheapBound(t, sf.format, sf.c.Name(), plan, within, tc.b, nil)
			checkCheapBound(t, sf.format, sf.c.Name(), plan, over, tc.b, nil)
			require.NoError(t, c.Unmarshal(within, tc.newV()), "%s %s: %d", sf.c.Name(), tc.name, lo)
			var berr *BudgetError
			require.ErrorAs(t, c.Unmarshal(over, tc.newV()), &berr, "%s %s: %d", sf.c.Name(), tc.name, hi)
			assert.Equal(t, "allocation", berr.Limit)
			assert.Equal(t, tc.b.MaxAlloc(len(over)), berr.Max)
		}
	}
}

// TestWorstChargesBoundTheLibrary: where the pre-scan cannot place input
// in the type, it charges the most an item of its class costs anywhere in
// the type; what the library really allocates there (it skips the input,
// fills one of the values it could go to, or fills a []byte from an
// array) stays within the estimate, and the estimate is no wild one.
func TestWorstChargesBoundTheLibrary(t *testing.T) {
	nilsOf := func(k int) []any { return make([]any, k) }
	ints := make([]int, 50000)
	for i := range ints {
		ints[i] = i % 100
	}
	for _, sf := range scanFormats {
		for _, tc := range []struct {
			name string
			v    any
			newV func() any
		}{
			{"a key that folds to two fields", map[string]any{"Ab": nilsOf(5000)}, func() any { return new(foldPair) }},
			{"an unknown field", map[string]any{"Name": "x", "Other": nilsOf(50000)}, func() any { return new(fixtures.Node) }},
			{"an unknown field of maps", map[string]any{"Other": []any{map[string]any{"a": 1, "b": []any{1, "x"}}}}, func() any { return new(fixtures.Node) }},
			{"integers into bytes", map[string]any{"C": ints}, func() any { return new(foldPair) }},
		} {
			data, err := sf.c.Marshal(tc.v)
			require.NoError(t, err)
			plan := sf.plans.plan(decodeTargetType(tc.newV()))
			roomy := Budget{AllocFactor: 1 << 12}
			s := newBudgetScan(sf.c.Name(), sf.format, data, plan, roomy)
			est, err := s.estimate(plan)
			require.NoError(t, err, tc.name)
			c, _ := WithBudget(sf.c, roomy)
			_ = c.Unmarshal(data, tc.newV()) // warm the type caches
			alloc := measureAlloc(func() { _ = c.Unmarshal(data, tc.newV()) })
			t.Logf("%s %s: %d bytes, allocated %d, estimated %d", sf.c.Name(), tc.name, len(data), alloc, est)
			assert.LessOrEqual(t, alloc, est, "%s %s", sf.c.Name(), tc.name)
			checkCheapBound(t, sf.format, sf.c.Name(), plan, data, Budget{}, nil)
		}
	}
	// The []byte cbor fills from integers is charged as such.
	data, err := CBOR.Marshal(map[string]any{"C": ints})
	require.NoError(t, err)
	var p foldPair
	require.NoError(t, CBOR.Unmarshal(data, &p))
	require.Len(t, p.C, len(ints))
	plan := cborCosts.plan(reflect.TypeFor[foldPair]())
	s := newBudgetScan("cbor", scanCBOR, data, plan, Budget{})
	est, err := s.estimate(plan)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, est, decodeFixedCost+allocSize(int64(len(ints))))
	assert.True(t, bytes.Equal(p.C[:3], []byte{0, 1, 2}))
}

// TestCBORKeyMatchesIsEqualFold: the quick rejection of cborKeyMatches
// never turns away a key strings.EqualFold matches, nor the keyFilter one
// that cborKeyMatches matches; and the filter does turn keys away.
func TestCBORKeyMatchesIsEqualFold(t *testing.T) {
	words := []string{"", "k", "K", "\u212a", "s", "S", "\u017f", "@", "`", "[", "{", "Path", "path", "PATH", "Name", "\u212aey", "key", "Key", "\u017fa", "sa", "éa", "Éa"}
	for _, a := range words {
		for _, b := range words {
			assert.Equal(t, len(a) == len(b) && strings.EqualFold(a, b), cborKeyMatches(a, []byte(b)), "%q %q", a, b)
			f := newKeyFilter([]string{a, "other names"})
			if cborKeyMatches(a, []byte(b)) {
				assert.True(t, f.may([]byte(b)), "the filter of %q turns %q away", a, b)
			}
		}
	}
	f := newKeyFilter([]string{"Path"})
	assert.False(t, f.may([]byte("Name")))
	assert.False(t, f.may([]byte("Children")))
	assert.True(t, f.may([]byte("pATH")))
}
