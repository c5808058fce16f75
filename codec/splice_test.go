package codec

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spliceLibs are the codecs that splice slots, with their libraries.
var spliceLibs = []struct {
	c       Codec
	marshal func(any) ([]byte, error)
}{
	{JSON, json.Marshal},
	{CBOR, cbor.Marshal},
}

// spliceLeft is how many splice entries are unclaimed.
func spliceLeft() int {
	spliceTab.mu.Lock()
	defer spliceTab.mu.Unlock()
	return len(spliceTab.m)
}

// ccBinTree is a binary tree deeper than views are unrolled.
func ccBinTree(depth int) *ccNode {
	n := &ccNode{ID: depth, Label: "cached"}
	if depth > 0 {
		n.Children = []*ccNode{ccBinTree(depth - 1), ccBinTree(depth - 1)}
	}
	return n
}

func ccBinTreeTwin(depth int) *ccNodeTwin {
	n := &ccNodeTwin{ID: depth}
	if depth > 0 {
		n.Children = []*ccNodeTwin{ccBinTreeTwin(depth - 1), ccBinTreeTwin(depth - 1)}
	}
	return n
}

// TestSpliceDeepIsTheLibrarys: values that cross many slots (a long list,
// a deep tree, nested maps and slices) encode as the library encodes their
// twins, and leave nothing in the side table.
func TestSpliceDeepIsTheLibrarys(t *testing.T) {
	dir, dirTwin := ccDeepDir(300), ccDeepDirTwin(300)
	cases := []struct {
		name        string
		value, twin any
	}{
		{"list", ccLinked(3000), ccLinkedTwin(3000)},
		{"tree", ccBinTree(11), ccBinTreeTwin(11)},
		{"chain", ccChain(500), ccChainTwin(500)},
		{"dir", &dir, &dirTwin},
		{"forest", &ccForest{Trees: []ccNode{*ccBinTree(10)}, Dirs: dir, List: ccLinked(100)},
			&ccForestTwin{Trees: []ccNodeTwin{*ccBinTreeTwin(10)}, Dirs: dirTwin, List: ccLinkedTwin(100)}},
	}
	for _, lib := range spliceLibs {
		for _, c := range cases {
			want, err := lib.marshal(c.twin)
			require.NoError(t, err)
			got, err := lib.c.Marshal(c.value)
			require.NoError(t, err, "%s %s", lib.c.Name(), c.name)
			assert.Equal(t, want, got, "%s %s", lib.c.Name(), c.name)
		}
	}
	assert.Zero(t, spliceLeft())
}

// spliceData is a list whose nodes carry data a user chose.
type spliceData struct {
	J    spliceRaw
	B    []byte
	Next *spliceData
	Memo int `cacheprop:"cached"`
}

type spliceDataTwin struct {
	J    spliceRaw
	B    []byte
	Next *spliceDataTwin
}

// spliceRaw writes itself as its JSON, which json only checks.
type spliceRaw string

func (r spliceRaw) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// TestSpliceLeavesLookalikesAlone: data shaped like a placeholder, with the
// marker itself, names no entry, so it is output as the library outputs it.
func TestSpliceLeavesLookalikesAlone(t *testing.T) {
	key := hex.EncodeToString(make([]byte, 16))
	j := spliceRaw(`"` + string(jsonSplice.mark()) + key + `"`)
	b := append(append(append([]byte{}, cborSplice.lead...), cborSplice.mark()...), make([]byte, 16)...)
	var v *spliceData
	var tw *spliceDataTwin
	for range 30 {
		v = &spliceData{J: j, B: b, Next: v, Memo: 1}
		tw = &spliceDataTwin{J: j, B: b, Next: tw}
	}
	for _, lib := range spliceLibs {
		want, err := lib.marshal(tw)
		require.NoError(t, err)
		got, err := lib.c.Marshal(v)
		require.NoError(t, err, lib.c.Name())
		assert.Equal(t, want, got, lib.c.Name())
	}
	assert.Zero(t, spliceLeft())
}

var errSpliceBoom = errors.New("boom")

// spliceFail fails to encode when set.
type spliceFail bool

func (f spliceFail) MarshalJSON() ([]byte, error) {
	if f {
		return nil, errSpliceBoom
	}
	return []byte("false"), nil
}

func (f spliceFail) MarshalCBOR() ([]byte, error) {
	if f {
		return nil, errSpliceBoom
	}
	return []byte{0xf4}, nil
}

// spliceFailing fails after its slot is met: F comes after Next.
type spliceFailing struct {
	Next *spliceFailing
	F    spliceFail
	Memo int `cacheprop:"cached"`
}

// TestSpliceErrorLeavesNoEntries: an encoding that fails deep down returns
// the marshaler's error, and the entries made for it are swept.
func TestSpliceErrorLeavesNoEntries(t *testing.T) {
	var v *spliceFailing
	for i := range 200 {
		v = &spliceFailing{F: i == 100, Next: v}
	}
	for _, lib := range spliceLibs {
		_, err := lib.c.Marshal(v)
		require.ErrorIs(t, err, errSpliceBoom, lib.c.Name())
		assert.Zero(t, spliceLeft(), lib.c.Name())
	}
	// Failing at the top, after slots below were met.
	v = &spliceFailing{F: true, Next: v}
	for _, lib := range spliceLibs {
		_, err := lib.c.Marshal(v)
		require.ErrorIs(t, err, errSpliceBoom, lib.c.Name())
		assert.Zero(t, spliceLeft(), lib.c.Name())
	}
}

// TestCBORCycles: a value that refers to itself is refused with ErrCycle,
// where cbor alone exhausts the stack.
func TestCBORCycles(t *testing.T) {
	ring := ccLinked(30)
	last := ring
	for last.Next != nil {
		last = last.Next
	}
	last.Next = ring
	_, err := CBOR.Marshal(ring)
	require.ErrorIs(t, err, ErrCycle)
	assert.Zero(t, spliceLeft())

	// A value reached twice without a cycle is fine.
	shared := ccLinked(20)
	_, err = CBOR.Marshal(&ccForest{List: shared, Trees: []ccNode{{Children: []*ccNode{ccBinTree(9), ccBinTree(9)}}}})
	require.NoError(t, err)
}

// TestSpliceConcurrent: Marshal calls running at once share the side
// table, and each gets its own encoding.
func TestSpliceConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			// Results are the caller's: later calls leave them alone.
			var wants, gots [][]byte
			defer func() { assert.Equal(t, wants, gots) }()
			for i := range 20 {
				n := 50 + g*10 + i
				lib := spliceLibs[(g+i)%2]
				want, err := lib.marshal(ccLinkedTwin(n))
				assert.NoError(t, err)
				got, err := lib.c.Marshal(ccLinked(n))
				assert.NoError(t, err)
				assert.Equal(t, want, got)
				wants, gots = append(wants, want), append(gots, got)
				if i%5 == 0 {
					var v *spliceFailing
					for k := range 40 {
						v = &spliceFailing{F: k == 20, Next: v}
					}
					_, err := lib.c.Marshal(v)
					assert.ErrorIs(t, err, errSpliceBoom)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, spliceLeft(), "every entry claimed or swept")
}

// ccListSum is ccList with its cached field written out, as foreign data
// may hold it.
type ccListSum struct {
	V    int
	Next *ccListSum
	SUM  int
}

// TestCBORDecodesRecursiveTypesDirectly: what CBOR writes for a recursive
// type is decoded into the type itself, in one pass; input with a key that
// names a cached field goes through the view, which ignores it.
func TestCBORDecodesRecursiveTypesDirectly(t *testing.T) {
	ccT := reflect.TypeFor[*ccList]()
	data, err := CBOR.Marshal(ccLinked(500))
	require.NoError(t, err)
	assert.True(t, cborDirect(data, ccT))
	got := new(ccList)
	require.NoError(t, CBOR.Unmarshal(data, got))
	assert.Equal(t, ccLinked(500).V, got.V)
	n := 0
	for l := got; l != nil; l = l.Next {
		n++
		assert.Zero(t, l.Sum)
	}
	assert.Equal(t, 500, n)

	var foreign *ccListSum
	for i := 300; i > 0; i-- {
		foreign = &ccListSum{V: i, Next: foreign, SUM: 7}
	}
	data, err = cbor.Marshal(foreign)
	require.NoError(t, err)
	assert.False(t, cborDirect(data, ccT), "SUM names Sum, case-insensitively")
	got = new(ccList)
	require.NoError(t, CBOR.Unmarshal(data, got))
	n = 0
	for l := got; l != nil; l = l.Next {
		n++
		assert.Zero(t, l.Sum)
	}
	assert.Equal(t, 300, n)

	// Malformed or truncated input is left to cbor, which says why.
	assert.False(t, cborDirect(data[:len(data)-1], ccT))
	require.Error(t, CBOR.Unmarshal(data[:len(data)-1], new(ccList)))
}
