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
	costWorst                   // unknown: every item at its class's most (see worstNode)
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

// worstNode stands for a value the pre-scan cannot place in the type, and
// worstKey for such a map key: each item is charged the most an item of
// its class can cost as a value (or key) anywhere in the type, the plan's
// val (or key) classCosts; what such a container holds is placed nowhere
// either.
//
// Why that bounds what the library allocates there: the library decodes
// only into the values the target type reaches (every one a node of the
// plan) and the interfaces among them. Where the scan cannot place an item
// the library either skips it (an unknown field: msgpack's Skip, cbor's
// skip; a value of the wrong kind: cbor), which allocates nothing beyond
// the strings it reads (charged as ever), or fails and stops (msgpack on a
// value of the wrong kind, an array of the wrong length for a struct), or
// fills one of the type's values, which the scan could not tell apart
// (two fields under one name, a chunked or case-folded key) or did not
// expect (cbor fills a []byte from an array of integers, charged as a
// slice of bytes where it meets a string's node). Filling a value of the
// plan costs what the scan charges an item of that class at that node, at
// most the class maximum, and the items inside it are charged at most
// their own maxima the same way: keys as keys, everything else as values.
var (
	worstNode = &costNode{kind: costWorst}
	worstKey  = &costNode{kind: costWorst}
)

// classCosts bounds, for one class of item and a count or length, what
// the scan charges such an item at any one of a set of nodes (all of a
// plan's, for values; its map keys', for keys): the largest of each
// term the charge is made of.
type classCosts struct {
	// head is the most charged before the item's own charge: the
	// pointees of a chain of pointers and a recursive type's re-entry.
	head int64
	// any: an interface is among the nodes (an item there costs what
	// the libraries box or build for it).
	any bool
	// slice is the largest slice element (at least 1, for the []byte
	// cbor fills from an array), strct the largest fixed cost of a
	// struct, mapFixed, mapEntry and mapGrow a map's largest fixed and
	// per-entry costs.
	slice, strct, mapFixed, mapEntry, mapGrow int64
}

// add widens c to cover an item decoded at n.
func (c *classCosts) add(n *costNode) {
	var head int64
	for n.kind == costPointer {
		head += allocSize(n.size)
		n = n.elem
	}
	if n.recursive {
		head += reentryCost
	}
	c.head = max(c.head, head)
	switch n.kind {
	case costAny:
		c.any = true
	case costSlice:
		c.slice = max(c.slice, n.size)
	case costStruct:
		c.strct = max(c.strct, n.fixed)
	case costMap:
		c.mapFixed, c.mapEntry, c.mapGrow = max(c.mapFixed, n.fixed), max(c.mapEntry, n.size), max(c.mapGrow, n.grow)
	}
}

// anyHead is what an interface adds to a string's, a slice's or a tag's
// charge, if the nodes hold one.
func (c *classCosts) anyHead() int64 {
	if c.any {
		return anyHeaderCost
	}
	return 0
}

// scalar bounds the charge of a number, bool or other fixed value.
func (c *classCosts) scalar() int64 {
	if c.any {
		return c.head + anyScalarCost
	}
	return c.head
}

// text bounds the charge of a string or binary of n bytes, and of a tag
// (n 0; its content is an item of its own).
func (c *classCosts) text(n int64) int64 { return c.head + c.anyHead() + allocSize(n) }

// arrayFixed bounds what an array header costs beyond head whatever its
// count.
func (c *classCosts) arrayFixed() int64 { return max(c.anyHead(), c.strct) }

// arrayCount bounds the part of a definite array's charge that grows with
// its count, for a library that allocates a slice copies times.
func (c *classCosts) arrayCount(count, copies int64) int64 {
	if count <= 0 {
		return 0
	}
	a := copies * allocSize(count*c.slice)
	if c.any {
		a = max(a, allocSize(count*anyElemCost))
	}
	return a
}

// arrayPerElem bounds the charge of each element of an indefinite-length
// array: appending doubles.
func (c *classCosts) arrayPerElem() int64 {
	if c.any {
		return max(2*c.slice, 2*anyElemCost)
	}
	return 2 * c.slice
}

// mapFixedCost bounds what a map header costs beyond head whatever its
// count.
func (c *classCosts) mapFixedCost() int64 {
	f := max(c.strct, c.mapFixed)
	if c.any {
		f = max(f, anyMapCost)
	}
	return f
}

// mapPerEntry bounds the charge of each entry beyond the first eight:
// grow for a map built without a size hint (an indefinite length, or
// cbor's map[any]any).
func (c *classCosts) mapPerEntry(grow, anyGrow bool) int64 {
	p := c.mapEntry
	if grow {
		p = c.mapGrow
	}
	if c.any {
		if anyGrow {
			p = max(p, anyGrowEntryCost)
		} else {
			p = max(p, anyEntryCost)
		}
	}
	return p
}

// A costPlan is the cost graph of a decode target's type.
type costPlan struct {
	root *costNode
	// worst is the largest cost one item can have anywhere in the type
	// (element, pointee, map entry, interface item), and perItem a bound
	// of what the scan can charge for one item wherever it is: as its
	// container's element or entry (a slice element twice and rounded
	// up, at most 3·worst), and as itself (a pointee per pointer it
	// passes through, rounded up, and the worst or re-entry charge).
	// With 2 per payload byte, perItem bounds the estimate of input of a
	// known number of items: a cruder bound than count's, which the
	// tests hold the walk to as well.
	worst   int64
	perItem int64
	// recursive: the type reaches a type that contains itself.
	recursive bool
	// val and key bound what the scan charges an item as a value, or as
	// a map key, anywhere in the type: the worst nodes' charges, and
	// the count's bound (see budgetScan.count).
	val, key classCosts
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
	p.val.slice, p.key.slice = 1, 1
	for _, n := range b.nodes {
		p.val.add(n)
		switch n.kind {
		case costMap:
			p.key.add(n.key)
		case costAny:
			p.key.add(n) // the keys of the maps it is given
		}
	}
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
