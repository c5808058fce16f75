package codec

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"runtime"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/fixtures"
)

// gobSlabNode has every reference the slab route fixes (a pointer, a slice
// of pointers), data beside them, a cached field and an unexported one.
type gobSlabNode struct {
	Name string
	Kids []*gobSlabNode
	Next *gobSlabNode
	Tags map[string]int
	Memo string `cacheprop:"cached"`
	note string
}

// gobSlabDoc is a root that is not recursive itself but refers to rows.
type gobSlabDoc struct {
	Title string
	Roots []*gobSlabNode
	Head  *gobSlabNode
	HTML  string `cacheprop:"cached"`
	note  string
}

// gobDecodeCopying decodes data into v (a pointer to a type of the table
// route) by the copying route, which the slab route replaces where it can:
// what Unmarshal did before it.
func gobDecodeCopying(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	p := gobPlanFor(rv.Type().Elem())
	msg := reflect.New(p.flat.msg)
	err := gob.NewDecoder(bytes.NewReader(data)).DecodeValue(msg)
	fresh := decodesFresh(v)
	if err == nil {
		err = p.flat.decode(msg.Elem(), rv.Elem(), Budget{})
	}
	if !fresh {
		resetCached(rv)
	}
	return err
}

// gobSlabGraph is a graph with shared nodes and cycles: through the root,
// through a node's own Next, and between siblings.
func gobSlabGraph() *gobSlabNode {
	a := &gobSlabNode{Name: "a", Memo: gobSecret, note: "a's"}
	b := &gobSlabNode{Name: "b", Memo: gobSecret, Tags: map[string]int{"x": 1}, Next: a}
	c := &gobSlabNode{Name: "c", Kids: []*gobSlabNode{b, nil}}
	c.Next = c
	b.Kids = []*gobSlabNode{c, c}
	a.Kids = []*gobSlabNode{b, c, nil, a}
	return a
}

// gobSlabDAG shares nodes without cycles.
func gobSlabDAG() *gobSlabNode {
	d := &gobSlabNode{Name: "d", Memo: gobSecret, Tags: map[string]int{"y": 2}}
	return &gobSlabNode{Name: "r", Memo: gobSecret, Kids: []*gobSlabNode{d, nil, d, {Name: "e", Next: d}}}
}

// gobMutual is a gobA whose gobB, holding structs with cached fields, is
// shared by two gobA.
func gobMutual() *gobA {
	inner := &gobA{Name: "inner", HTML: gobSecret}
	b := &gobB{Items: []gobTagged{{"i", gobSecret}, {"j", ""}}, A: inner}
	inner.B = b
	return &gobA{Name: "outer", HTML: gobSecret, B: b}
}

func TestGobSlabMatchesCopyingRoute(t *testing.T) {
	graph := gobSlabGraph()
	cases := []struct {
		name   string
		value  any
		target func() any
	}{
		{"tree", fixtures.NewTree(3, 3), func() any { return new(fixtures.Node) }},
		{"tree into a stale tree", fixtures.NewTree(2, 3), func() any { return fixtures.NewTree(2, 2) }},
		{"graph", graph, func() any { return new(gobSlabNode) }},
		// Not the graph into a stale target: the copying route's reset
		// walk takes exponential time on it (TestGobSlabSharedAndOverwritten).
		{"shared nodes into a stale node", gobSlabDAG(), func() any {
			return &gobSlabNode{Name: "old", Memo: "stale", note: "kept", Tags: map[string]int{"old": 1}, Kids: []*gobSlabNode{{}}}
		}},
		{"ring", &gobRing{ID: 1, Memo: gobSecret, Next: &gobRing{ID: 2}}, func() any { return &gobRing{Memo: "stale"} }},
		{"pointer root", &graph, func() any { return new(*gobSlabNode) }},
		{"nil pointer root", new(*gobSlabNode), func() any { p := &gobSlabNode{Name: "old"}; return &p }},
		{"slice root", &[]*gobSlabNode{graph, nil, graph.Kids[0]}, func() any { return new([]*gobSlabNode) }},
		{"struct root", &gobSlabDoc{Title: "t", Roots: []*gobSlabNode{graph, graph.Kids[1]}, Head: graph.Kids[0], HTML: gobSecret},
			func() any { return new(gobSlabDoc) }},
		// Rows and roots with nested structs that hold cached fields.
		{"mutual", gobMutual(), func() any { return new(gobA) }},
		{"forest", &gobForest{Trees: []*fixtures.Node{fixtures.NewTree(2, 2), nil}, Label: gobTagged{"l", gobSecret}},
			func() any { return new(gobForest) }},
		{"nested in rows", &gobFresh{Name: "r", Memo: gobSecret, Leaf: gobTagged{"a", gobSecret},
			Kids: []*gobFresh{{Name: "k", Leaf: gobTagged{"b", gobSecret}}, nil}}, func() any { return new(gobFresh) }},
		{"struct root into a stale one", &gobSlabDoc{Title: "t", Roots: []*gobSlabNode{gobSlabDAG(), nil}, HTML: gobSecret},
			func() any { return &gobSlabDoc{Title: "old", HTML: "stale", note: "kept", Head: &gobSlabNode{}} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := Gob.Marshal(c.value)
			require.NoError(t, err)
			slab, copying := c.target(), c.target()
			p := gobPlanFor(reflect.TypeOf(slab).Elem())
			require.Equal(t, gobFlat, p.route)
			require.NotNil(t, p.flat.slab, "the slab route is not taken")
			require.NoError(t, Gob.Unmarshal(data, slab))
			require.NoError(t, gobDecodeCopying(data, copying))
			assert.Equal(t, copying, slab)
			assert.Equal(t, data, gobSameValues(t, copying, slab))
		})
	}
}

func TestGobSlabSharedAndOverwritten(t *testing.T) {
	data, err := Gob.Marshal(gobSlabGraph())
	require.NoError(t, err)
	got := &gobSlabNode{Name: "old", Memo: "stale", note: "kept", Tags: map[string]int{"old": 1}, Next: &gobSlabNode{}}
	require.NoError(t, Gob.Unmarshal(data, got))
	a, b, c := got, got.Kids[0], got.Kids[1]
	assert.Equal(t, []string{"a", "b", "c"}, []string{a.Name, b.Name, c.Name})
	assert.Same(t, a, a.Kids[3], "a cycle through the root closes on the target")
	assert.Same(t, a, b.Next)
	assert.Same(t, c, c.Next, "a node's own cycle")
	assert.Same(t, c, b.Kids[0])
	assert.Same(t, b.Kids[0], b.Kids[1], "a pointer met twice is shared")
	assert.Same(t, b, c.Kids[0])
	assert.Nil(t, a.Kids[2])
	assert.Nil(t, c.Kids[1])
	// The target's data fields are overwritten, not merged: its old Next
	// and Tags are gone; its cached field is reset; an unexported field,
	// which gob does not write, is left alone.
	assert.Nil(t, a.Next)
	assert.Nil(t, a.Tags)
	assert.Equal(t, map[string]int{"x": 1}, b.Tags)
	assert.Empty(t, a.Memo)
	assert.Empty(t, b.Memo)
	assert.Equal(t, "kept", a.note)
	assert.Empty(t, b.note, "gob does not send unexported fields")
}

func TestGobSlabNestedIntoStaleTarget(t *testing.T) {
	// A root with a nested view goes the copying route into a target that
	// is not zero, which merges into the nested struct as gob does: its
	// unexported fields stay, its cached ones are reset.
	data, err := Gob.Marshal(&gobSlabHolder{In: gobSlabInner{Name: "new", Memo: gobSecret}, Kids: []*gobSlabHolder{{}}})
	require.NoError(t, err)
	s := gobPlanFor(reflect.TypeFor[gobSlabHolder]()).flat.slab
	require.NotNil(t, s)
	require.True(t, s.rootNested)
	got := &gobSlabHolder{In: gobSlabInner{Name: "old", Memo: "stale", note: "kept"}}
	require.NoError(t, Gob.Unmarshal(data, got))
	assert.Equal(t, gobSlabInner{Name: "new", note: "kept"}, got.In)
	require.Len(t, got.Kids, 1)
	fresh := new(gobSlabHolder)
	require.NoError(t, Gob.Unmarshal(data, fresh))
	assert.Equal(t, gobSlabInner{Name: "new"}, fresh.In)
	assert.Equal(t, &gobSlabHolder{}, fresh.Kids[0])
}

// gobSlabHolder is a recursive struct with a nested struct that has cached
// and unexported fields.
type gobSlabHolder struct {
	In   gobSlabInner
	Kids []*gobSlabHolder
}

type gobSlabInner struct {
	Name string
	Memo string `cacheprop:"cached"`
	note string
}

func TestGobSlabAppendsDoNotClobber(t *testing.T) {
	data, err := Gob.Marshal(fixtures.NewTree(3, 2))
	require.NoError(t, err)
	var got fixtures.Node
	require.NoError(t, Gob.Unmarshal(data, &got))
	want := got.Children[1].Twin()
	var walk func(n *fixtures.Node)
	walk = func(n *fixtures.Node) {
		// The slices of all nodes are carved from one block: each must
		// end at its length, or an append writes into the next one.
		assert.Equal(t, len(n.Children), cap(n.Children), n.Name)
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(&got)
	for _, n := range []*fixtures.Node{&got, got.Children[0], got.Children[0].Children[1]} {
		n.Children = append(n.Children, &fixtures.Node{Name: "new"})
	}
	assert.Equal(t, want, got.Children[1].Twin())
	assert.Len(t, got.Children, 3)
}

func TestGobSlabReleased(t *testing.T) {
	// Nothing beyond the decoded value holds its table: once the value
	// is dropped, so are its nodes.
	data, err := Gob.Marshal(fixtures.NewTree(4, 3))
	require.NoError(t, err)
	got := new(fixtures.Node)
	require.NoError(t, Gob.Unmarshal(data, got))
	leaf := weak.Make(got.Children[2].Children[1])
	kids := weak.Make(&got.Children[0].Children[0])
	require.NotNil(t, leaf.Value())
	runtime.KeepAlive(got)
	got = nil
	for i := 0; i < 5 && (leaf.Value() != nil || kids.Value() != nil); i++ {
		runtime.GC()
	}
	assert.Nil(t, leaf.Value(), "a node outlives its tree")
	assert.Nil(t, kids.Value(), "a slice of pointers outlives its tree")
}

func TestGobSlabCorruptRows(t *testing.T) {
	// Well-formed messages whose row numbers point nowhere, for each
	// reference the slab route fixes.
	type row struct {
		next int
		kids []int
	}
	encode := func(rootType reflect.Type, root any, rows []row) []byte {
		p := gobPlanFor(rootType)
		require.NotNil(t, p.flat.slab, "%v", rootType)
		msg := reflect.New(p.flat.msg).Elem()
		msg.Field(0).Set(reflect.ValueOf(root))
		tbl := reflect.MakeSlice(msg.Field(1).Type(), len(rows), len(rows))
		for i, r := range rows {
			tbl.Index(i).FieldByName("Name").SetString("r")
			tbl.Index(i).FieldByName("Next").SetInt(int64(r.next))
			tbl.Index(i).FieldByName("Kids").Set(reflect.ValueOf(r.kids))
		}
		msg.Field(1).Set(tbl)
		var buf bytes.Buffer
		require.NoError(t, gob.NewEncoder(&buf).EncodeValue(msg))
		return buf.Bytes()
	}
	node, ptr, list := reflect.TypeFor[gobSlabNode](), reflect.TypeFor[*gobSlabNode](), reflect.TypeFor[[]*gobSlabNode]()
	for _, c := range []struct {
		name string
		data []byte
		into any
	}{
		{"root row past the table", encode(node, 3, []row{{}, {}}), &gobSlabNode{}},
		{"no root row", encode(node, 0, []row{{}}), &gobSlabNode{}},
		{"negative root row", encode(node, -1, []row{{}}), &gobSlabNode{}},
		{"pointer past the table", encode(node, 1, []row{{next: 2}}), &gobSlabNode{}},
		{"negative pointer", encode(node, 1, []row{{next: -4}}), &gobSlabNode{}},
		{"slice element past the table", encode(node, 1, []row{{kids: []int{1, 5}}}), &gobSlabNode{}},
		// The copying route never looked at such a row; every row is
		// fixed here, and none an encoder writes is unreachable.
		{"in a row the root does not reach", encode(node, 1, []row{{}, {kids: []int{9}}}), &gobSlabNode{}},
		{"pointer root", encode(ptr, 4, []row{{}}), new(*gobSlabNode)},
		{"slice root", encode(list, []int{1, 2}, []row{{}}), new([]*gobSlabNode)},
	} {
		err := Gob.Unmarshal(c.data, c.into)
		assert.ErrorIs(t, err, ErrGobCorrupt, c.name)
	}
	// The same rows, in range, decode.
	var got gobSlabNode
	require.NoError(t, Gob.Unmarshal(encode(node, 2, []row{{next: 2, kids: []int{0, 1}}, {kids: []int{1}}}), &got))
	assert.Same(t, &got, got.Kids[0].Next, "row 2 is the root")
}

// gobSlabWide has many pointer fields: gob allocates an int for each
// reference in a row view, which the budget must cover.
type gobSlabWide struct {
	A, B, C, D, E, F, G, H *gobSlabWide
	Memo                   string `cacheprop:"cached"`
}

func TestGobSlabWithinBudget(t *testing.T) {
	nodes := make([]*gobSlabWide, 3000)
	for i := range nodes {
		nodes[i] = &gobSlabWide{Memo: gobSecret}
	}
	for i, n := range nodes {
		// Every field refers to some node: the most references per byte.
		for k, f := range []**gobSlabWide{&n.A, &n.B, &n.C, &n.D, &n.E, &n.F, &n.G, &n.H} {
			*f = nodes[(i*7+k*131+1)%len(nodes)]
		}
	}
	data, err := Gob.Marshal(nodes[0])
	require.NoError(t, err)
	require.NotNil(t, gobPlanFor(reflect.TypeFor[gobSlabWide]()).flat.slab)
	got, err := checkDecodeBudget(t, Gob, data, func() any { return new(gobSlabWide) })
	require.NoError(t, err)
	again, err := Gob.Marshal(got)
	require.NoError(t, err)
	assert.Equal(t, data, again)

	// A budget the stream exceeds refuses it before gob reads it.
	small, ok := WithBudget(Gob, Budget{AllocFactor: 1})
	require.True(t, ok)
	// 65,535 nodes: some 700 KB, charged over ten times that.
	long, err := Gob.Marshal(fixtures.NewTree(15, 2))
	require.NoError(t, err)
	var be *BudgetError
	assert.ErrorAs(t, small.Unmarshal(long, new(fixtures.Node)), &be)
}

// FuzzGobSlabUnmarshal feeds the slab route arbitrary bytes: within the
// budget (checkDecodeBudget), and whatever it decodes the copying route
// decodes the same, as the bytes Marshal writes for both show.
func FuzzGobSlabUnmarshal(f *testing.F) {
	for _, v := range []any{gobSlabGraph(), gobSlabDAG(), &gobSlabDoc{Title: "t", Roots: []*gobSlabNode{gobSlabDAG()}},
		&gobSlabHolder{In: gobSlabInner{Name: "n"}, Kids: []*gobSlabHolder{{}}}, fixtures.NewTree(2, 2)} {
		data, err := Gob.Marshal(v)
		require.NoError(f, err)
		f.Add(data)
	}
	targets := []func() any{
		func() any { return new(gobSlabNode) },
		func() any { return new(gobSlabDoc) },
		func() any { return new(*gobSlabNode) },
		func() any { return new([]*gobSlabNode) },
		func() any { return new(gobSlabHolder) },
		func() any { return new(gobSlabWide) },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, target := range targets {
			// Where the copying route fails, gob read the input as plain
			// gob of the type, not as tables (see Unmarshal).
			copying := target()
			if v, err := checkDecodeBudget(t, Gob, data, target); err == nil && gobDecodeCopying(data, copying) == nil {
				gobSameValues(t, copying, v)
			}
		}
	})
}

// gobSameValues fails t unless Marshal writes the same for want and got:
// the same values, shared and cyclic alike (each pointer met twice is one
// row).
func gobSameValues(t *testing.T, want, got any) []byte {
	t.Helper()
	a, err := Gob.Marshal(got)
	require.NoError(t, err)
	b, err := Gob.Marshal(want)
	require.NoError(t, err)
	require.Equal(t, b, a, "%T", got)
	return a
}
