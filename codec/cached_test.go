package codec

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
)

type resetLeaf struct {
	Name  string
	HTML  string `cacheprop:"cached"`
	score cacheprop.Lazy[int]
}

// resetTagged is held by value in maps and interfaces, where a Lazy could
// not be copied.
type resetTagged struct {
	Name string
	HTML string `cacheprop:"cached"`
}

type resetRing struct {
	ID   int
	Memo string `cacheprop:""`
	Next *resetRing
}

type resetRoot struct {
	Leaf    resetLeaf
	Ptr     *resetLeaf
	Nil     *resetLeaf
	Slice   []resetLeaf
	Array   [2]resetLeaf
	ByValue map[string]resetTagged
	ByPtr   map[string]*resetLeaf
	Any     any
	AnyVal  any
	Ring    *resetRing
	Plain   []int
}

func fillLeaf(l *resetLeaf, name string) {
	l.Name, l.HTML = name, "<b>"+name+"</b>"
	l.score.Set(len(name))
}

func assertLeafReset(t *testing.T, l *resetLeaf, name string) {
	t.Helper()
	assert.Equal(t, name, l.Name, "data must survive")
	assert.Empty(t, l.HTML, "tagged field of %s", name)
	_, ok := l.score.Peek()
	assert.False(t, ok, "Lazy of %s", name)
}

func TestResetCachedDeep(t *testing.T) {
	ring := &resetRing{ID: 1, Memo: "m1"}
	ring.Next = &resetRing{ID: 2, Memo: "m2", Next: ring}
	r := resetRoot{
		Ptr:     &resetLeaf{},
		Slice:   make([]resetLeaf, 2),
		ByValue: map[string]resetTagged{"v": {Name: "v", HTML: "x"}},
		ByPtr:   map[string]*resetLeaf{"p": {Name: "p", HTML: "x"}},
		Any:     &resetLeaf{},
		AnyVal:  resetTagged{Name: "anyval", HTML: "x"},
		Ring:    ring,
		Plain:   []int{1, 2},
	}
	fillLeaf(&r.Leaf, "leaf")
	fillLeaf(r.Ptr, "ptr")
	fillLeaf(&r.Slice[0], "s0")
	fillLeaf(&r.Slice[1], "s1")
	fillLeaf(&r.Array[1], "a1")
	fillLeaf(r.Any.(*resetLeaf), "anyptr")
	resetCached(reflect.ValueOf(&r))

	assertLeafReset(t, &r.Leaf, "leaf")
	assertLeafReset(t, r.Ptr, "ptr")
	assertLeafReset(t, &r.Slice[0], "s0")
	assertLeafReset(t, &r.Slice[1], "s1")
	assertLeafReset(t, &r.Array[1], "a1")
	assert.Equal(t, resetTagged{Name: "v"}, r.ByValue["v"])
	assertLeafReset(t, r.ByPtr["p"], "p")
	assertLeafReset(t, r.Any.(*resetLeaf), "anyptr")
	assert.Equal(t, resetTagged{Name: "anyval"}, r.AnyVal)
	require.NotNil(t, r.Ring.Next)
	assert.Equal(t, "", r.Ring.Memo)
	assert.Equal(t, "", r.Ring.Next.Memo)
	assert.Equal(t, []int{1, 2}, r.Plain)
}

func TestReachesCached(t *testing.T) {
	assert.True(t, reachesCached(reflect.TypeFor[resetRoot]()))
	assert.True(t, reachesCached(reflect.TypeFor[map[string][]*resetRing]()))
	assert.True(t, reachesCached(reflect.TypeFor[struct{ L cacheprop.Lazy[string] }]()))
	assert.False(t, reachesCached(reflect.TypeFor[struct {
		A any
		B []map[string]int
	}]()))
}

func TestResetCachedAllocatesNothingWithoutCycles(t *testing.T) {
	var l resetLeaf
	fillLeaf(&l, "x")
	v := reflect.ValueOf(&l)
	resetCached(v) // build once
	allocs := testing.AllocsPerRun(100, func() { resetCached(v) })
	assert.Zero(t, allocs)
}

func TestReachesCachedProperties(t *testing.T) {
	type leaf struct {
		Memo string `cacheprop:"memo"`
	}
	type hidden struct {
		//lint:ignore U1000 unexported: it still holds cached properties
		l leaf
	}
	type self struct {
		Next *self
		N    int
	}
	for typ, want := range map[reflect.Type]bool{
		reflect.TypeFor[leaf]():                            true,
		reflect.TypeFor[*[]map[string][2]leaf]():           true,
		reflect.TypeFor[map[leaf]int]():                    true,
		reflect.TypeFor[hidden]():                          true, // unexported fields count: reset reaches them
		reflect.TypeFor[struct{ Any any }]():               false,
		reflect.TypeFor[self]():                            false,
		reflect.TypeFor[struct{ L cacheprop.Lazy[int] }](): true,
		reflect.TypeFor[int]():                             false,
	} {
		if got := ReachesCachedProperties(typ); got != want {
			t.Errorf("ReachesCachedProperties(%v) = %v, want %v", typ, got, want)
		}
	}
}

// resetMesh is a recursive type that can share nodes and hold interfaces,
// so its reset must remember pointers.
type resetMesh struct {
	Name string
	Kids []*resetMesh
	Note any
	HTML string `cacheprop:"cached"`
}

// resetLadder returns a graph of n rungs in which both pointers of each
// rung lead to the next: 2^n paths to its last node, n+1 nodes.
func resetLadder(n int) *resetMesh {
	var next *resetMesh
	for i := 0; i <= n; i++ {
		m := &resetMesh{Name: "r", HTML: "stale"}
		if next != nil {
			m.Kids = []*resetMesh{next, next}
		}
		next = m
	}
	return next
}

// TestResetSharedNodesOnce: a reset walks a graph with shared nodes in
// time linear in its nodes. It used to follow the first pointers of every
// path unremembered, 2^100 paths for this ladder; a bound of 10 s stands
// for "ends", the walk takes a millisecond.
func TestResetSharedNodesOnce(t *testing.T) {
	root := resetLadder(100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resetCached(reflect.ValueOf(root))
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the reset of a 101-node ladder did not end")
	}
	for m := root; m != nil; {
		require.Empty(t, m.HTML)
		if len(m.Kids) == 0 {
			break
		}
		m = m.Kids[1]
	}
}

// TestGobMeshDecodesInLinearTime: three nodes, each pointing to the two
// others, written by Gob (210 bytes) and decoded into a stale target,
// which takes the reset walk: it used to run for hours.
func TestGobMeshDecodesInLinearTime(t *testing.T) {
	a, b, c := &resetMesh{Name: "a"}, &resetMesh{Name: "b"}, &resetMesh{Name: "c"}
	a.Kids, b.Kids, c.Kids = []*resetMesh{b, c}, []*resetMesh{a, c}, []*resetMesh{a, b}
	data, err := Gob.Marshal(a)
	require.NoError(t, err)
	for _, target := range []*resetMesh{{}, {Name: "old", HTML: "stale"}} {
		errc := make(chan error, 1)
		go func() { errc <- Gob.Unmarshal(data, target) }()
		select {
		case err := <-errc:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("decoding a three-node mesh did not end")
		}
		require.Len(t, target.Kids, 2)
		assert.Equal(t, "b", target.Kids[0].Name)
		assert.Same(t, target, target.Kids[0].Kids[0], "the cycle back to the root survives")
		assert.Empty(t, target.HTML)
	}
}
