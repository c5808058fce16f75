package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/fixtures"
)

// jfNode is a recursive type decoded directly (its fields agree with its
// view's), whose cached fields' names need case variants that the other
// keys do not spell: K and S fold with non-ASCII runes (the Kelvin sign,
// the long s).
type jfNode struct {
	N  string    `json:"n"`
	C  []*jfNode `json:"c"`
	Kx string    `cacheprop:"cached"`
	Sx string    `cacheprop:"cached"`
	Px string    `cacheprop:"cached"`
}

type jfNodeTwin struct {
	N string        `json:"n"`
	C []*jfNodeTwin `json:"c"`
}

// jfEmbed reaches a struct embedded through a pointer, which json
// allocates when a key reaches it.
type jfEmbed struct {
	*bigReview
	X  int
	Ys []**jgBig
}

// jfFastTargets are the types the bound is checked on: fixtures, maps,
// interfaces, slices of big structs, pointers, recursive types, types
// decoded by their own methods.
var jfFastTargets = []reflect.Type{
	reflect.TypeFor[fixtures.Product](),
	reflect.TypeFor[fixtures.Node](),
	reflect.TypeFor[jfNode](),
	reflect.TypeFor[ccList](),
	reflect.TypeFor[jgChain](),
	reflect.TypeFor[jgClash](),
	reflect.TypeFor[ccNested](),
	reflect.TypeFor[ccForest](),
	reflect.TypeFor[ccTags](),
	reflect.TypeFor[ccAny](),
	reflect.TypeFor[ccOmit](),
	reflect.TypeFor[jfEmbed](),
	reflect.TypeFor[[]bigReview](),
	reflect.TypeFor[[]jgBig](),
	reflect.TypeFor[[3]bigReview](),
	reflect.TypeFor[map[string]bigReview](),
	reflect.TypeFor[map[string]*jgBig](),
	reflect.TypeFor[map[int]string](),
	reflect.TypeFor[map[string]any](),
	reflect.TypeFor[any](),
	reflect.TypeFor[[]any](),
	reflect.TypeFor[**jgBig](),
	reflect.TypeFor[[]byte](),
	reflect.TypeFor[[]string](),
	reflect.TypeFor[time.Time](),
	reflect.TypeFor[json.RawMessage](),
	reflect.TypeFor[int8](),
}

// jfGen writes a JSON value chosen by the bytes of src: any shape, keys
// from the targets' field names in several spellings, values of every
// kind, so that they land in the types they are for and in others.
type jfGen struct {
	src []byte
	out bytes.Buffer
}

var (
	jfKeys = []string{"n", "c", "Name", "name", "NAME", "Children", "Path", "path", `\u0050ath`, "Kx", "kX", "\u212ax",
		`\u212Ax`, "\u017fx", "Sx", "px", "Next", "V", "Sum", "sum", "ID", "Reviews", "Stars", "Tags", "Attributes",
		"Stock", "Seller", "CreatedAt", "Author", "Body", "BodyHTML", "X", "Ys", "P", "Any", "Items", "", "x", "é"}
	jfStrings = []string{"", "abc", "2026-03-14T15:09:26Z", "AAEC", `\u00e9\n`, "d11", strings.Repeat("w", 70), "1", "true", "[{\"", "é"}
	jfNumbers = []string{"0", "-1", "1.5", "1e400", "99999999999999999999", "255", "3", "-0.25e-3", "128"}
)

func (g *jfGen) next() int {
	if len(g.src) == 0 {
		return 0
	}
	b := g.src[0]
	g.src = g.src[1:]
	return int(b)
}

func (g *jfGen) value(depth int) {
	kind := g.next() % 8
	if depth > 40 && kind < 2 {
		kind = 7
	}
	switch kind {
	case 0:
		g.out.WriteByte('{')
		for i := range g.next() % 5 {
			if i > 0 {
				g.out.WriteByte(',')
			}
			fmt.Fprintf(&g.out, `"%s":`, jfKeys[g.next()%len(jfKeys)])
			g.value(depth + 1)
		}
		g.out.WriteByte('}')
	case 1:
		g.out.WriteByte('[')
		for i := range g.next() % 6 {
			if i > 0 {
				g.out.WriteString(", ")
			}
			g.value(depth + 1)
		}
		g.out.WriteByte(']')
	case 2, 3:
		fmt.Fprintf(&g.out, `"%s"`, jfStrings[g.next()%len(jfStrings)])
	case 4:
		g.out.WriteString(jfNumbers[g.next()%len(jfNumbers)])
	case 5:
		g.out.WriteString("true")
	case 6:
		g.out.WriteString("false")
	default:
		g.out.WriteString("null")
	}
}

func jfGenerate(src []byte) []byte {
	g := jfGen{src: src}
	g.value(0)
	return g.out.Bytes()
}

// checkFastBound fails t if, for valid JSON data into t's shape, the
// walk's charge exceeds the fast bound, it nests deeper than the bound
// allows, the bound's limit test disagrees with its total, or the blank
// proof holds where the walk blanks a key.
func checkFastBound(t *testing.T, data []byte, typ reflect.Type) {
	t.Helper()
	if !json.Valid(data) {
		return
	}
	s := jsonShapeOf(typ)
	f := s.fastCost()
	require.True(t, f.ok, "%v", typ)
	objs, arrs := bytes.Count(data, []byte("{")), bytes.Count(data, []byte("["))
	total, ok := jsonFastBound(data, f, math.MaxInt, math.MaxInt64)
	require.True(t, ok)
	for _, blank := range []bool{false, true} {
		w := walkJSON(data, s, objs+arrs, math.MaxInt64, blank)
		require.NoError(t, w.err, "the walk refuses valid %s into %v", data, typ)
		if w.alloc > total {
			t.Fatalf("%s into %v: the walk charges %d, over the fast bound's %d", data, typ, w.alloc, total)
		}
		if blank && jsonNoCachedKey(data, f.folds) && len(w.blanks) > 0 {
			t.Fatalf("%s into %v: the blank proof holds, yet the walk blanks %v", data, typ, w.blanks)
		}
	}
	// The limit test is the total's.
	_, ok = jsonFastBound(data, f, objs+arrs, total)
	assert.True(t, ok)
	_, ok = jsonFastBound(data, f, objs+arrs, total-1)
	assert.False(t, ok)
	if objs+arrs > 0 {
		_, ok = jsonFastBound(data, f, objs+arrs-1, math.MaxInt64)
		assert.False(t, ok)
	}
}

// FuzzJSONFastBound: the bound that lets Unmarshal skip the walk is an
// upper bound of what the walk charges, for raw input that is valid JSON
// and for JSON generated from the input, into every target.
func FuzzJSONFastBound(f *testing.F) {
	f.Add([]byte(`[{},{},{}]`))
	f.Add([]byte{0, 3, 10, 1, 1, 0, 4, 2})
	tree, err := JSON.Marshal(fixtures.NewTree(3, 2))
	require.NoError(f, err)
	f.Add(tree)
	f.Fuzz(func(t *testing.T, data []byte) {
		gen := jfGenerate(data)
		for _, typ := range jfFastTargets {
			checkFastBound(t, data, typ)
			checkFastBound(t, gen, typ)
		}
	})
}

// TestJSONFastBoundHolds is FuzzJSONFastBound's property over a few
// thousand generated inputs, and the fixtures' encodings.
func TestJSONFastBoundHolds(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 24))
	src := make([]byte, 400)
	for range 1500 {
		n := r.IntN(len(src))
		for i := range n {
			src[i] = byte(r.Uint32())
		}
		data := jfGenerate(src[:n])
		for _, typ := range jfFastTargets {
			checkFastBound(t, data, typ)
		}
	}
	p := fixtures.NewProduct(1, 3)
	for _, v := range []any{p, p.Twin(), fixtures.NewTree(3, 3), []*fixtures.Product{p, nil}} {
		data, err := JSON.Marshal(v)
		require.NoError(t, err)
		for _, typ := range jfFastTargets {
			checkFastBound(t, data, typ)
		}
	}
}

// TestJSONAppendPerElemBoundsAppendCost: the per-element charge of the
// bound covers the walk's growth of a slice of any length.
func TestJSONAppendPerElemBoundsAppendCost(t *testing.T) {
	for _, size := range []int64{1, 8, 16, 24, 104, 4096} {
		for n := 1; n < 1<<20; n += 1 + n/64 {
			require.LessOrEqual(t, appendCost(n, size), int64(n)*jsonAppendPerElem(size), "n %d size %d", n, size)
		}
	}
	assert.Zero(t, jsonAppendPerElem(0))
}

// TestJSONFastPathTakesTheFixtures: the fixtures the benchmarks decode
// (the product, the 341-node tree) skip the walk, a direct recursive
// type's input without cached keys too, even where the letters of a
// cached name (Path) occur, as long as no string starts or ends as it.
func TestJSONFastPathTakesTheFixtures(t *testing.T) {
	spelt := &fixtures.Node{Name: "tap", Children: []*fixtures.Node{{Name: "path-less"}}}
	for _, v := range []any{fixtures.NewProduct(42, 20), fixtures.NewTree(4, 4), &jfNode{N: "a", C: []*jfNode{{N: "b"}}}, spelt} {
		data, err := JSON.Marshal(v)
		require.NoError(t, err)
		s := jsonShapeOf(reflect.TypeOf(v).Elem())
		assert.True(t, jsonFastAccepts(data, s, Budget{}, s.direct && s.cyclic), "%T", v)
	}
}

// jfOverBudget is input that costs the walk more with every n.
type jfOverBudget struct {
	name  string
	typ   reflect.Type
	input func(n int) []byte
}

func jfRepeat(open, item, sep, close string) func(int) []byte {
	return func(n int) []byte {
		var b bytes.Buffer
		b.WriteString(open)
		for i := range n {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(item)
		}
		b.WriteString(close)
		return b.Bytes()
	}
}

// TestJSONFastPathStillRefusesOverBudget: input built to sit just over
// the budget (found with the walk) is refused by Unmarshal with a
// *BudgetError, and one item less decodes within it, under the default
// budget and a smaller one.
func TestJSONFastPathStillRefusesOverBudget(t *testing.T) {
	cases := []jfOverBudget{
		{"empty objects into big structs", reflect.TypeFor[[]jgBig](), jfRepeat("[", "{}", ",", "]")},
		{"empty objects into reviews", reflect.TypeFor[[]bigReview](), jfRepeat("[", "{}", ",", "]")},
		{"empty objects through pointers", reflect.TypeFor[[]**jgBig](), jfRepeat("[", "{}", ",", "]")},
		{"entries of a map of big structs", reflect.TypeFor[map[string]jgBig](), jfRepeat("{", `"":{}`, ",", "}")},
		{"objects into interfaces", reflect.TypeFor[[]any](), jfRepeat("[", `{"":0}`, ",", "]")},
		{"numbers into strings", reflect.TypeFor[[]string](), jfRepeat("[", "1", ",", "]")},
		// Within 16 bytes a byte: under the smaller budget only.
		{"nodes of a tree", reflect.TypeFor[fixtures.Node](), jfRepeat(`{"Children":[`, `{"Name":"x","Children":[]}`, ",", "]}")},
	}
	for _, b := range []Budget{{}, {AllocFactor: 1}} {
		c, ok := WithBudget(JSON, b)
		require.True(t, ok)
		for _, tc := range cases {
			if tc.typ == reflect.TypeFor[fixtures.Node]() && b.AllocFactor == 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s/factor=%d", tc.name, b.AllocFactor), func(t *testing.T) {
				s := jsonShapeOf(tc.typ)
				refused := func(n int) bool {
					data := tc.input(n)
					_, err := checkJSON(data, s, b, s.direct && s.cyclic)
					return err != nil
				}
				hi := 1
				for !refused(hi) {
					require.Less(t, hi, 1<<20, "never refused")
					hi *= 2
				}
				lo := hi / 2 // accepted, or 0
				for hi-lo > 1 {
					if mid := (lo + hi) / 2; refused(mid) {
						hi = mid
					} else {
						lo = mid
					}
				}
				err := c.Unmarshal(tc.input(hi), reflect.New(tc.typ).Interface())
				var be *BudgetError
				require.ErrorAs(t, err, &be, "%d items", hi)
				assert.Equal(t, "allocation", be.Limit)
				assert.Equal(t, b.MaxAlloc(len(tc.input(hi))), be.Max)
				err = c.Unmarshal(tc.input(hi-1), reflect.New(tc.typ).Interface())
				assert.NotErrorIs(t, err, ErrBudget, "%d items", hi-1)
			})
		}
	}
}

// TestJSONFastPathKeepsDepthLimits: nesting at a budget's depth decodes,
// one level more is refused, whichever route the input takes.
func TestJSONFastPathKeepsDepthLimits(t *testing.T) {
	chain := func(n int) []byte { return jfRepeat("", `{"c":[`, "", "")(n) }
	nodes := func(n int) []byte {
		return append(chain(n), strings.Repeat("]}", n)...)
	}
	arrays := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	for _, depth := range []int{0, 9, 40, DefaultMaxDepth} {
		c, ok := WithBudget(JSON, Budget{MaxDepth: depth})
		require.True(t, ok)
		limit := Budget{MaxDepth: depth}.Depth()
		for _, tc := range []struct {
			levels func(n int) []byte
			per    int
			target func() any
		}{
			{arrays, 1, func() any { return new(any) }},
			{nodes, 2, func() any { return new(jfNode) }},
		} {
			n := limit / tc.per
			require.NoError(t, c.Unmarshal(tc.levels(n), tc.target()), "%d levels", n*tc.per)
			err := c.Unmarshal(tc.levels(n+1), tc.target())
			var be *BudgetError
			require.ErrorAs(t, err, &be, "%d levels", (n+1)*tc.per)
			assert.Equal(t, "depth", be.Limit)
			assert.Equal(t, int64(limit), be.Max)
		}
	}
}

// TestJSONFastPathKeepsCachedKeysIgnored: in a direct decode of a
// recursive type, keys that fold to a cached field's name (exact, in
// another case, escaped, through a non-ASCII fold) are ignored as the
// twin ignores them; their values would not even fit the field.
func TestJSONFastPathKeepsCachedKeysIgnored(t *testing.T) {
	s := jsonShapeOf(reflect.TypeFor[jfNode]())
	require.True(t, s.direct && s.cyclic)
	for _, key := range []string{"Kx", "kx", "KX", "\u212ax", `\u212ax`, `\u004bx`, "Sx", "sX", "\u017fx", `\u017Fx`,
		"Px", "pX", `\u0050x`, `\u0070\u0078`} {
		data := []byte(`{"n":"a","c":[{"n":"b","` + key + `":{"x":[1]}}],"` + key + `":[2]}`)
		var twin jfNodeTwin
		require.NoError(t, json.Unmarshal(data, &twin))
		var got jfNode
		require.NoError(t, JSON.Unmarshal(data, &got), "key %s", key)
		require.Len(t, got.C, 1)
		assert.Equal(t, twin.N, got.N)
		assert.Equal(t, twin.C[0].N, got.C[0].N)
		assert.Equal(t, jfNode{}, jfNode{Kx: got.Kx, Sx: got.Sx, Px: got.Px}, "key %s", key)
		assert.Equal(t, jfNode{}, jfNode{Kx: got.C[0].Kx, Sx: got.C[0].Sx, Px: got.C[0].Px}, "key %s", key)
	}
}

// TestJSONFastPathSyntaxErrors: bad syntax the fast path lets through
// gets json's *json.SyntaxError, the one json gives the twin, and leaves
// the target untouched, as through the walk.
func TestJSONFastPathSyntaxErrors(t *testing.T) {
	for _, data := range []string{`{"Name":"a",}`, `{"Name":"a"`, `[1,]`, `{"Name":"a"} x`, `{"Name":tru}`, ``} {
		wantErr := json.Unmarshal([]byte(data), new(fixtures.NodeTwin))
		var se *json.SyntaxError
		require.ErrorAs(t, wantErr, &se, data)
		got := &fixtures.Node{Name: "kept", Path: "stale"}
		err := JSON.Unmarshal([]byte(data), got)
		require.ErrorAs(t, err, &se, data)
		assert.Equal(t, wantErr.Error(), err.Error())
		assert.Equal(t, "kept", got.Name)
		assert.Equal(t, "stale", got.Path)
	}
}
