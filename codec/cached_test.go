package codec

import (
	"reflect"
	"testing"

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
