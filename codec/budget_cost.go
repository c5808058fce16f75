package codec

import (
	"reflect"
	"sync"
)

// The cost of a Go type: what decoding one input item into a value of that
// type allocates, as the decode budget's pre-scans charge it. One fact, one
// place: every codec's pre-scan that needs the size of what it builds asks
// these functions (elemCost, mapEntryCost, the any* constants) rather than
// reflect.Type.Size directly, so that the allowances measured for the
// libraries' overheads live here only.
//
// The figures were measured with runtime.MemStats.TotalAlloc around msgpack
// v5.4.1 and cbor v2.9.6 decodes on Go 1.26 (see budget_mc_test.go, which
// checks that no accepted input allocates more than its estimate says).

// Allowances for what the libraries build for an interface-typed target
// (any, and types decoded by their own methods, whose allocations the
// pre-scans cannot see and charge as an interface would be filled).
const (
	// anyScalarCost: a number or bool boxed in an interface.
	anyScalarCost = 16
	// anyHeaderCost: a string or slice header boxed in an interface, on
	// top of its contents.
	anyHeaderCost = 32
	// anyElemCost: one element of the []any the libraries build.
	anyElemCost = 16
	// anyEntryCost: one entry of the map[string]any or map[any]any the
	// libraries build beyond the first eight: key and value interfaces,
	// in a table that may have doubled once (see mapEntryCost).
	anyEntryCost = 2*(16+16+1) + 8 + 2*16
	// anyGrowEntryCost: the same built without a size hint (see
	// mapGrowEntryCost), as cbor builds them.
	anyGrowEntryCost = 5*(16+16+1) + 8 + 2*16
	// reentryCost: a value of a recursive type, which the codecs decode
	// through a slot every few levels: each slot re-enters the library,
	// whose decoder state costs some 500 bytes.
	reentryCost = 96
	// anyMapCost: such a map however few its entries (see mapFixedCost),
	// and the temporaries cbor makes per map (measured: 26 bytes).
	anyMapCost = mapHeaderCost + (8*(16+16)+8)*9/8 + 64
)

// decodeTargetType is the type a library decodes into when given v: the
// pointee of a pointer, seen through interfaces that already hold a
// pointer (json and msgpack fill what such an interface points to). For
// anything else the library fails or fills an interface, and the type is
// that of an interface.
func decodeTargetType(v any) reflect.Type {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		e := rv.Elem()
		if e.Kind() != reflect.Interface || e.IsNil() || e.Elem().Kind() != reflect.Pointer {
			return e.Type()
		}
		rv = e.Elem()
	}
	return anyType
}

var anyType = reflect.TypeFor[any]()

// decodeFixedCost is what one Unmarshal allocates whatever its input: the
// library's decoder state and the codec's own.
const decodeFixedCost = 16 << 10

// allocSize is what an allocation of n bytes takes from the heap: Go
// rounds small objects up to a size class (classes are at most 1/8 apart,
// the smallest 16 bytes once tiny objects are packed) and large ones to
// whole 8 KiB pages.
func allocSize(n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 16:
		return 16
	case n <= 32<<10:
		return n + n/8
	}
	return (n + 8<<10 - 1) &^ (8<<10 - 1)
}

// elemCost is what one element of a slice of t costs: its size, at least
// one byte, so that a slice of empty structs is still charged for the time
// its elements take.
func elemCost(t reflect.Type) int64 {
	return max(int64(t.Size()), 1)
}

// mapEntryCost is what one entry of a map[k]v costs beyond the first
// eight (mapFixedCost holds those): Go's swiss tables
// hold key, value and a control byte per slot at a load of at most 7/8, and
// a map filled beyond its size hint doubles, leaving the old table as
// garbage, so an entry is charged twice its slot and a word; and the
// libraries decode each key and value into a temporary they allocate
// (reflect.New) before storing them.
func mapEntryCost(k, v reflect.Type) int64 {
	return 2*(int64(k.Size())+int64(v.Size())+1) + 8 + allocSize(int64(k.Size())) + allocSize(int64(v.Size()))
}

// mapGrowEntryCost is mapEntryCost for a map built without a size hint
// (cbor's map[any]any, indefinite-length maps): it doubles as it fills,
// and the tables it outgrew, garbage, add up to about its final size, so
// an entry is charged five slots.
func mapGrowEntryCost(k, v reflect.Type) int64 {
	return 5*(int64(k.Size())+int64(v.Size())+1) + 8 + allocSize(int64(k.Size())) + allocSize(int64(v.Size()))
}

// mapFixedCost is what a map[k]v costs however few its entries: its
// header and a first group of eight slots.
func mapFixedCost(k, v reflect.Type) int64 {
	return mapHeaderCost + allocSize(8*(int64(k.Size())+int64(v.Size()))+8)
}

// mapHeaderCost is a map's header (internal/runtime/maps.Map, 48 bytes on
// 64-bit platforms), rounded up.
const mapHeaderCost = 64

// mapSmall is how many entries a map's first group holds.
const mapSmall = 8

// costKind says how a pre-scan charges input decoded into a type.
type costKind uint8

const (
	costScalar  costKind = iota // numbers, bools: nothing beyond the value
	costString                  // string, []byte: the payload's length
	costSlice                   // a slice: elements of size, then each element
	costArray                   // an array: its elements, held in place
	costMap                     // a map: entries of size, then keys and values
	costPointer                 // a pointer: its pointee when the input is not nil
	costStruct                  // a struct: fields by name or, from an array, in order
	costAny                     // an interface or a type with its own decoder
	costWorst                   // unknown: every item at the plan's worst cost
)

// A costNode is the cost of one Go type. Nodes of recursive types refer to
// each other: the graph follows the type's own.
type costNode struct {
	kind costKind
	// size is an element's cost (costSlice), the pointee's (costPointer)
	// or an entry's (costMap; grow without a size hint).
	size, grow int64
	// recursive: the type contains itself, and the codecs decode it
	// through slots that re-enter the library.
	recursive bool
	elem      *costNode // slice, array and pointer elements, map values
	key       *costNode // map keys
	// Struct fields: by the name the library matches (names two fields
	// share map to the worst node), by integer key (cbor's keyasint), and
	// in the order an array fills them.
	fields    map[string]int // index into named, which the node's map keys find
	intFields map[int64]*costNode
	list      []*costNode
	// named holds the fields in order under their names: libraries write
	// fields in order, so the scan tries the field after the last one
	// found before it looks a name up.
	named []namedCost
	// fold: the library also matches field names case-insensitively.
	fold bool
	// fixed is what a map costs however few its entries, or what filling
	// a struct allocates whatever its fields: the structs it inlines
	// through pointers.
	fixed int64
}

type namedCost struct {
	name string
	node *costNode
}

// worstNode stands for input the pre-scan cannot place in the type: every
// item is charged the plan's worst cost.
var worstNode = &costNode{kind: costWorst}

// A costPlan is the cost graph of a decode target's type.
type costPlan struct {
	root *costNode
	// worst is the largest cost one item can have anywhere in the type
	// (element, pointee, map entry, interface item): what unknown input
	// is charged per item.
	worst int64
	// perItem bounds what the scan can charge for one item wherever it
	// is: as its container's element or entry (a slice element twice and
	// rounded up, at most 3·worst), and as itself (a pointee per pointer
	// it passes through, rounded up, and the worst or re-entry charge):
	// with 2 per payload byte (a string rounded up to its size class),
	// it bounds the estimate of input of a known number of items without
	// walking the type.
	perItem int64
	// recursive: the type reaches a type that contains itself.
	recursive bool
}

// A costNaming tells a cost plan how one codec's library treats types:
// which decode by methods of their own, and under which name or integer
// key it fills a struct field.
type costNaming struct {
	// decMethods is the dialect's: t decodes by its own methods.
	decMethods func(t reflect.Type) bool
	// classify is the dialect's.
	classify func(sf reflect.StructField) fieldClass
	// name returns the key field sf is filled from, and an integer key if
	// the library also (or only) matches one.
	name func(sf reflect.StructField) (name string, intKey int64, hasInt bool)
	// fold: names also match case-insensitively.
	fold bool
}

// A costPlans caches the cost plans of one codec, per type.
type costPlans struct {
	naming *costNaming
	plans  sync.Map // map[reflect.Type]*costPlan
}

// plan returns the cost plan of decoding into a value of type t.
func (cp *costPlans) plan(t reflect.Type) *costPlan {
	if p, ok := cp.plans.Load(t); ok {
		return p.(*costPlan)
	}
	b := costBuilder{naming: cp.naming, nodes: map[reflect.Type]*costNode{}, building: map[reflect.Type]bool{}}
	p := &costPlan{root: b.node(t), worst: anyMapCost + reentryCost}
	for _, n := range b.nodes {
		p.worst = max(p.worst, n.size, n.grow, n.fixed)
		p.recursive = p.recursive || n.recursive
	}
	p.worst += anyHeaderCost
	chain := 0
	for _, n := range b.nodes {
		c := 0
		for e := n; e.kind == costPointer; e = e.elem {
			c++
		}
		chain = max(chain, c)
	}
	p.perItem = int64(4+2*chain)*p.worst + 2*anyHeaderCost
	actual, _ := cp.plans.LoadOrStore(t, p)
	return actual.(*costPlan)
}

type costBuilder struct {
	naming   *costNaming
	nodes    map[reflect.Type]*costNode
	building map[reflect.Type]bool
}

func (b *costBuilder) node(t reflect.Type) *costNode {
	if n, ok := b.nodes[t]; ok {
		if b.building[t] {
			n.recursive = true
		}
		return n
	}
	n := &costNode{}
	b.nodes[t] = n
	b.building[t] = true
	defer delete(b.building, t)
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && b.naming.decMethods(t) {
		n.kind = costAny
		return n
	}
	switch t.Kind() {
	case reflect.String:
		n.kind = costString
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			n.kind = costString
			break
		}
		n.kind, n.size, n.elem = costSlice, elemCost(t.Elem()), b.node(t.Elem())
	case reflect.Array:
		n.kind, n.elem = costArray, b.node(t.Elem())
	case reflect.Map:
		n.kind, n.size, n.fixed = costMap, mapEntryCost(t.Key(), t.Elem()), mapFixedCost(t.Key(), t.Elem())
		n.grow = mapGrowEntryCost(t.Key(), t.Elem())
		n.key, n.elem = b.node(t.Key()), b.node(t.Elem())
	case reflect.Pointer:
		n.kind, n.size, n.elem = costPointer, elemCost(t.Elem()), b.node(t.Elem())
		for e := n.elem; e.kind == costPointer; e = e.elem {
			if e == n {
				// type P *P: no input fills it; charge as unknown.
				n.kind = costAny
				break
			}
		}
	case reflect.Struct:
		n.kind, n.fold = costStruct, b.naming.fold
		n.fields, n.intFields = map[string]int{}, map[int64]*costNode{}
		b.fields(n, t, map[reflect.Type]bool{})
	case reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		n.kind = costAny
	default:
		n.kind = costScalar
	}
	return n
}

// fields adds the fields of struct type t, and of the structs it inlines,
// to n. A name two fields share maps to the worst node: which of them the
// library fills is not this plan's guess to make.
func (b *costBuilder) fields(n *costNode, t reflect.Type, inlining map[reflect.Type]bool) {
	if inlining[t] {
		return
	}
	inlining[t] = true
	defer delete(inlining, t)
	for i := range t.NumField() {
		sf := t.Field(i)
		switch b.naming.classify(sf) {
		case classSkip:
			continue
		case classInline:
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				// The library allocates an inlined pointer's struct
				// for whichever of its fields the input fills.
				ft = ft.Elem()
				n.fixed += elemCost(ft)
			}
			b.fields(n, ft, inlining)
			continue
		}
		fn := b.node(sf.Type)
		name, ik, hasInt := b.naming.name(sf)
		if i, dup := n.fields[name]; dup {
			n.named[i].node = worstNode
		} else {
			n.fields[name] = len(n.named)
			n.named = append(n.named, namedCost{name, fn})
		}
		if hasInt {
			if _, dup := n.intFields[ik]; dup {
				n.intFields[ik] = worstNode
			} else {
				n.intFields[ik] = fn
			}
		}
		n.list = append(n.list, fn)
	}
}
