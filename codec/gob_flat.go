package codec

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync/atomic"
	"unsafe"

	"github.com/leancache/leancache/cacheprop"
)

// This file is Gob's route for recursive types, which StructOf cannot
// build views of. The value is copied into a message that gob can encode:
//
//	struct { LeancacheV <root>; LeancacheT0 []<row of S0>; ... }
//
// with one table per recursive struct type S, one row per struct met.
// Every reference to a recursive struct, by pointer or by value, becomes a
// row number plus one (0 for nil). Rows hold only the fields gob sends,
// minus the cached ones. Pointers to the same struct share a row, so shared
// nodes and cycles survive the trip, which plain gob cannot do at all.
//
// Both directions work through a queue rather than by recursion on
// pointers, so a long list does not need a deep stack, and decoding builds
// each row at most once per pointer and once by value, so a short input
// cannot make it build without bound.

// ErrGobCorrupt is returned (wrapped) by [Gob]'s Unmarshal when a stream of
// a recursive type decodes but its row numbers do not make sense.
var ErrGobCorrupt = errors.New("codec: gob: corrupt input")

type gobFlatPlan struct {
	root    reflect.Type
	msg     reflect.Type // the message type, above
	rootRef *gobTable    // the root is itself a recursive struct: LeancacheV is its row
	rootC   *gobConv     // otherwise: LeancacheV is the root converted
	tables  []*gobTable
	slab    *gobSlabPlan // decodes without copying, where it can
}

// A gobTable holds the rows of one recursive struct type.
type gobTable struct {
	idx  int
	typ  reflect.Type // the user's struct
	conv *gobConv     // the struct <-> its row
	rows atomic.Int64 // rows in the last encode: the next one's first guess
}

// A gobConv converts between a user type and its flat form. enc reads src
// (the user's) and writes dst (settable, flat); dec the other way round.
type gobConv struct {
	flat reflect.Type
	enc  func(st *gobFlatEnc, src, dst reflect.Value)
	dec  func(st *gobFlatDec, src, dst reflect.Value) error
	// kind and ref say what the conversion is, for the slab decode of
	// gob_slab.go, which does without it for these kinds.
	kind   gobConvKind
	ref    *gobTable      // gobConvPointer, gobConvPointers: the table referred to
	fields []gobFieldConv // gobConvStruct: the fields sent, in the flat struct's order
}

// A gobFieldConv is a field of a user's struct kept in its flat form.
type gobFieldConv struct {
	user int // the field's index in the user's struct
	c    *gobConv
}

type gobConvKind uint8

const (
	gobConvOther    gobConvKind = iota
	gobConvIdentity             // flat is the user's type
	gobConvPointer              // a pointer to a recursive struct: its row number
	gobConvPointers             // a slice of them: their row numbers
	gobConvStruct               // a struct's fields, each converted
)

// gobIdentity is the conversion of a type that needs none.
func gobIdentity(t reflect.Type) *gobConv {
	return &gobConv{
		kind: gobConvIdentity,
		flat: t,
		enc:  func(_ *gobFlatEnc, src, dst reflect.Value) { dst.Set(src) },
		dec:  func(_ *gobFlatDec, src, dst reflect.Value) error { dst.Set(src); return nil },
	}
}

type gobFlatBuilder struct {
	root   reflect.Type
	convs  map[reflect.Type]*gobConv
	tables map[reflect.Type]*gobTable
	list   []*gobTable
}

func newGobFlatPlan(root reflect.Type) (*gobFlatPlan, error) {
	b := &gobFlatBuilder{root: root, convs: map[reflect.Type]*gobConv{}, tables: map[reflect.Type]*gobTable{}}
	p := &gobFlatPlan{root: root}
	var rootFlat reflect.Type
	if gobRecursive(root) && !gobMarshals(root) {
		tb, err := b.table(root, "")
		if err != nil {
			return nil, err
		}
		p.rootRef, rootFlat = tb, reflect.TypeFor[int]()
	} else {
		c, err := b.conv(root, "")
		if err != nil {
			return nil, err
		}
		p.rootC, rootFlat = c, c.flat
	}
	// Field names that a user's type is unlikely to have, so that plain gob
	// of one (see Unmarshal) does not pass for a message.
	fields := []reflect.StructField{{Name: "LeancacheV", Type: rootFlat}}
	for _, tb := range b.list {
		fields = append(fields, reflect.StructField{Name: "LeancacheT" + strconv.Itoa(tb.idx), Type: reflect.SliceOf(tb.conv.flat)})
	}
	p.msg = reflect.StructOf(fields)
	p.tables = b.list
	p.slab = newGobSlabPlan(p)
	return p, nil
}

// gobRecursive reports whether t is a struct that holds cached properties
// and can contain itself.
func gobRecursive(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || !reachesCached(t) {
		return false
	}
	for i := 0; i < t.NumField(); i++ {
		if typeReaches(t.Field(i).Type, t, map[reflect.Type]bool{}) {
			return true
		}
	}
	return false
}

// table returns the table of the recursive struct t, creating it (and the
// conversion of its rows, which may refer back to it) on first use.
func (b *gobFlatBuilder) table(t reflect.Type, path string) (*gobTable, error) {
	if tb, ok := b.tables[t]; ok {
		return tb, nil
	}
	tb := &gobTable{idx: len(b.list), typ: t}
	b.tables[t] = tb
	b.list = append(b.list, tb)
	c, err := b.structConv(t, path)
	if err != nil {
		return nil, err
	}
	tb.conv = c
	return tb, nil
}

func (b *gobFlatBuilder) conv(t reflect.Type, path string) (*gobConv, error) {
	if !reachesCached(t) || gobMarshals(t) || t.Kind() == reflect.Interface {
		return gobIdentity(t), nil
	}
	if c, ok := b.convs[t]; ok {
		return c, nil
	}
	var c *gobConv
	var err error
	switch t.Kind() {
	case reflect.Struct:
		if gobRecursive(t) {
			var tb *gobTable
			if tb, err = b.table(t, path); err == nil {
				c = gobValueRef(tb)
			}
		} else {
			c, err = b.structConv(t, path)
		}
	case reflect.Pointer:
		if e := t.Elem(); gobRecursive(e) && !gobMarshals(e) {
			var tb *gobTable
			if tb, err = b.table(e, path); err == nil {
				c = gobPointerRef(tb)
			}
		} else {
			c, err = b.pointerConv(t, path)
		}
	case reflect.Slice, reflect.Array:
		if e := t.Elem(); t.Kind() == reflect.Slice && e.Kind() == reflect.Pointer &&
			gobRecursive(e.Elem()) && !gobMarshals(e) {
			var tb *gobTable
			if tb, err = b.table(e.Elem(), path+"[]"); err == nil {
				c = gobPointerListRef(t, tb)
			}
		} else {
			c, err = b.listConv(t, path)
		}
	case reflect.Map:
		if reachesCached(t.Key()) {
			return nil, &UnsupportedTypeError{Codec: "gob", Type: b.root, Path: path, Reason: fmt.Sprintf("map key type %v holds cached properties", t.Key())}
		}
		c, err = b.mapConv(t, path)
	default:
		c = gobIdentity(t)
	}
	if err != nil {
		return nil, err
	}
	b.convs[t] = c
	return c, nil
}

// structConv keeps the fields gob sends, minus cached ones, as plain
// (non-embedded) fields under their names, as gob sends embedded ones.
func (b *gobFlatBuilder) structConv(t reflect.Type, path string) (*gobConv, error) {
	var fields []reflect.StructField
	var fcs []gobFieldConv
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || cacheprop.IsCached(f) || !gobSends(f.Type) {
			continue
		}
		c, err := b.conv(f.Type, path+"."+f.Name)
		if err != nil {
			return nil, err
		}
		fields = append(fields, reflect.StructField{Name: f.Name, Type: c.flat})
		fcs = append(fcs, gobFieldConv{i, c})
	}
	return &gobConv{
		kind:   gobConvStruct,
		fields: fcs,
		flat:   reflect.StructOf(fields),
		enc: func(st *gobFlatEnc, src, dst reflect.Value) {
			for j, fc := range fcs {
				fc.c.enc(st, src.Field(fc.user), dst.Field(j))
			}
		},
		dec: func(st *gobFlatDec, src, dst reflect.Value) error {
			for j, fc := range fcs {
				if err := fc.c.dec(st, src.Field(j), dst.Field(fc.user)); err != nil {
					return err
				}
			}
			return nil
		},
	}, nil
}

func (b *gobFlatBuilder) pointerConv(t reflect.Type, path string) (*gobConv, error) {
	e, err := b.conv(t.Elem(), path)
	if err != nil {
		return nil, err
	}
	return &gobConv{
		flat: reflect.PointerTo(e.flat),
		enc: func(st *gobFlatEnc, src, dst reflect.Value) {
			if src.IsNil() {
				return
			}
			n := reflect.New(e.flat)
			e.enc(st, src.Elem(), n.Elem())
			dst.Set(n)
		},
		dec: func(st *gobFlatDec, src, dst reflect.Value) error {
			if src.IsNil() {
				dst.SetZero()
				return nil
			}
			n := reflect.New(t.Elem())
			dst.Set(n)
			return e.dec(st, src.Elem(), n.Elem())
		},
	}, nil
}

func (b *gobFlatBuilder) listConv(t reflect.Type, path string) (*gobConv, error) {
	e, err := b.conv(t.Elem(), path+"[]")
	if err != nil {
		return nil, err
	}
	isSlice := t.Kind() == reflect.Slice
	flat := reflect.SliceOf(e.flat)
	if !isSlice {
		flat = reflect.ArrayOf(t.Len(), e.flat)
	}
	return &gobConv{
		flat: flat,
		enc: func(st *gobFlatEnc, src, dst reflect.Value) {
			if isSlice {
				if src.IsNil() {
					return
				}
				dst.Set(reflect.MakeSlice(flat, src.Len(), src.Len()))
			}
			for i := 0; i < src.Len(); i++ {
				e.enc(st, src.Index(i), dst.Index(i))
			}
		},
		dec: func(st *gobFlatDec, src, dst reflect.Value) error {
			if isSlice {
				if src.IsNil() {
					dst.SetZero()
					return nil
				}
				dst.Set(reflect.MakeSlice(t, src.Len(), src.Len()))
			}
			for i := 0; i < src.Len(); i++ {
				if err := e.dec(st, src.Index(i), dst.Index(i)); err != nil {
					return err
				}
			}
			return nil
		},
	}, nil
}

func (b *gobFlatBuilder) mapConv(t reflect.Type, path string) (*gobConv, error) {
	e, err := b.conv(t.Elem(), path+"[]")
	if err != nil {
		return nil, err
	}
	flat := reflect.MapOf(t.Key(), e.flat)
	return &gobConv{
		flat: flat,
		enc: func(st *gobFlatEnc, src, dst reflect.Value) {
			if src.IsNil() {
				return
			}
			m := reflect.MakeMapWithSize(flat, src.Len())
			for it := src.MapRange(); it.Next(); {
				v := reflect.New(e.flat).Elem()
				e.enc(st, it.Value(), v)
				m.SetMapIndex(it.Key(), v)
			}
			dst.Set(m)
		},
		dec: func(st *gobFlatDec, src, dst reflect.Value) error {
			if src.IsNil() {
				dst.SetZero()
				return nil
			}
			m := reflect.MakeMapWithSize(t, src.Len())
			for it := src.MapRange(); it.Next(); {
				v := reflect.New(t.Elem()).Elem()
				if err := e.dec(st, it.Value(), v); err != nil {
					return err
				}
				m.SetMapIndex(it.Key(), v)
			}
			dst.Set(m)
			return nil
		},
	}, nil
}

// gobPointerRef converts a pointer to a recursive struct to its row number
// plus one; pointers to one struct share its row.
func gobPointerRef(tb *gobTable) *gobConv {
	return &gobConv{
		kind: gobConvPointer,
		ref:  tb,
		flat: reflect.TypeFor[int](),
		enc: func(st *gobFlatEnc, src, dst reflect.Value) {
			if src.IsNil() {
				return
			}
			dst.SetInt(int64(st.pointerRow(tb, src.UnsafePointer())) + 1)
		},
		dec: func(st *gobFlatDec, src, dst reflect.Value) error {
			obj, err := st.object(tb, src.Int())
			if err != nil {
				return err
			}
			dst.Set(reflect.NewAt(tb.typ, obj))
			return nil
		},
	}
}

// gobPointerListRef is gobPointerRef for a whole slice of pointers (the
// Children []*Node of a tree), without a reflect.Value per element.
func gobPointerListRef(t reflect.Type, tb *gobTable) *gobConv {
	return &gobConv{
		kind: gobConvPointers,
		ref:  tb,
		flat: reflect.TypeFor[[]int](),
		enc: func(st *gobFlatEnc, src, dst reflect.Value) {
			if src.IsNil() {
				return
			}
			ptrs := unsafe.Slice((*unsafe.Pointer)(src.UnsafePointer()), src.Len())
			rows := st.intsFor(len(ptrs))
			for i, p := range ptrs {
				if p != nil {
					rows[i] = st.pointerRow(tb, p) + 1
				}
			}
			*(*[]int)(dst.Addr().UnsafePointer()) = rows
		},
		dec: func(st *gobFlatDec, src, dst reflect.Value) error {
			if src.IsNil() {
				dst.SetZero()
				return nil
			}
			rows := unsafe.Slice((*int)(src.UnsafePointer()), src.Len())
			out := reflect.MakeSlice(t, len(rows), len(rows))
			ptrs := unsafe.Slice((*unsafe.Pointer)(out.UnsafePointer()), len(rows))
			for i, n := range rows {
				obj, err := st.object(tb, int64(n))
				if err != nil {
					return err
				}
				ptrs[i] = obj
			}
			dst.Set(out)
			return nil
		},
	}
}

// gobValueRef converts a recursive struct held by value to a row of its own.
func gobValueRef(tb *gobTable) *gobConv {
	return &gobConv{
		flat: reflect.TypeFor[int](),
		enc: func(st *gobFlatEnc, src, dst reflect.Value) {
			dst.SetInt(int64(st.valueRow(tb, src)) + 1)
		},
		dec: func(st *gobFlatDec, src, dst reflect.Value) error {
			return st.byValue(tb, src.Int(), dst)
		},
	}
}

// gobFlatEnc is the state of one encode. Rows are numbered when first met
// and filled in that order (the queue is first in, first out), so each
// table only ever grows at its end and a row is filled where it lies.
type gobFlatEnc struct {
	tables []reflect.Value // per table, the rows: len is the capacity
	filled []int           // per table, the rows filled
	next   []int           // per table, the rows numbered
	ptrs   []map[unsafe.Pointer]int
	queue  []gobEncJob
	ints   []int // carved up for the row numbers of slices of pointers
}

type gobEncJob struct {
	tb *gobTable
	p  unsafe.Pointer // the user's struct
}

// newRow numbers the struct at p (addressable, or a copy) and queues it.
func (st *gobFlatEnc) newRow(tb *gobTable, p unsafe.Pointer) int {
	i := st.next[tb.idx]
	st.next[tb.idx]++
	st.queue = append(st.queue, gobEncJob{tb, p})
	return i
}

// valueRow numbers a struct held by value; one that is not addressable
// (a map value) is copied first.
func (st *gobFlatEnc) valueRow(tb *gobTable, src reflect.Value) int {
	if !src.CanAddr() {
		c := reflect.New(tb.typ)
		c.Elem().Set(src)
		return st.newRow(tb, c.UnsafePointer())
	}
	return st.newRow(tb, src.Addr().UnsafePointer())
}

// pointerRow returns the row of the struct at p (not nil), numbering it
// and queueing it the first time.
func (st *gobFlatEnc) pointerRow(tb *gobTable, p unsafe.Pointer) int {
	m := st.ptrs[tb.idx]
	if i, ok := m[p]; ok {
		return i
	}
	i := st.newRow(tb, p)
	m[p] = i
	return i
}

// intsFor returns n zeroed ints, carved from a shared block so that a tree
// does not cost one allocation per node for its row numbers.
func (st *gobFlatEnc) intsFor(n int) []int {
	if n > len(st.ints) {
		st.ints = make([]int, max(n, 2*cap(st.ints), 64))
	}
	s := st.ints[:n:n]
	st.ints = st.ints[n:]
	return s
}

// encode copies v (addressable, of the plan's root type) into a message.
func (p *gobFlatPlan) encode(v reflect.Value) (reflect.Value, error) {
	n := len(p.tables)
	st := &gobFlatEnc{tables: make([]reflect.Value, n), filled: make([]int, n), next: make([]int, n),
		ptrs: make([]map[unsafe.Pointer]int, n)}
	msg := reflect.New(p.msg).Elem()
	rows := 0
	for i, tb := range p.tables {
		// Size everything like the last value of this type.
		hint := int(tb.rows.Load())
		rows += hint
		st.tables[i] = reflect.MakeSlice(msg.Field(1+i).Type(), hint, hint)
		st.ptrs[i] = make(map[unsafe.Pointer]int, hint)
	}
	st.queue = make([]gobEncJob, 0, rows)
	if p.rootRef != nil {
		msg.Field(0).SetInt(int64(st.pointerRow(p.rootRef, v.Addr().UnsafePointer())) + 1)
	} else {
		p.rootC.enc(st, v, msg.Field(0))
	}
	for head := 0; head < len(st.queue); head++ {
		j := st.queue[head]
		tbl, k := st.tables[j.tb.idx], st.filled[j.tb.idx]
		if k == tbl.Len() {
			grown := reflect.MakeSlice(tbl.Type(), 2*k+8, 2*k+8)
			reflect.Copy(grown, tbl)
			tbl = grown
			st.tables[j.tb.idx] = tbl
		}
		st.filled[j.tb.idx]++
		j.tb.conv.enc(st, reflect.NewAt(j.tb.typ, j.p).Elem(), tbl.Index(k))
	}
	for i, tb := range p.tables {
		tb.rows.Store(int64(st.filled[i]))
		msg.Field(1 + i).Set(st.tables[i].Slice(0, st.filled[i]))
	}
	return msg, nil
}

// gobFlatDec is the state of one decode.
type gobFlatDec struct {
	tables []reflect.Value    // the decoded rows, per table
	objs   [][]unsafe.Pointer // per table and row, the struct made for pointers to it
	used   [][]bool           // per table and row, whether a struct held by value took it
	depth  int
	// maxDepth bounds nesting of recursive structs held by value (as in
	// Children []Node), the one place decoding recurses: the budget's
	// depth.
	maxDepth int
	queue    []gobDecJob
}

type gobDecJob struct {
	tb  *gobTable
	row int
	obj unsafe.Pointer // the struct to fill
}

func (st *gobFlatDec) rowIndex(tb *gobTable, n int64) (int, error) {
	if rows := st.tables[tb.idx].Len(); n < 1 || n > int64(rows) {
		return 0, gobBadRow(tb.typ, n, rows)
	}
	return int(n - 1), nil
}

// gobBadRow is the error for a reference n (a row number plus one) to a
// table of t that has only rows rows.
func gobBadRow(t reflect.Type, n int64, rows int) error {
	return fmt.Errorf("reference %d to %v outside its %d rows: %w", n, t, rows, ErrGobCorrupt)
}

// object returns the struct made for row n-1 (nil for 0), making it and
// queueing its filling the first time.
func (st *gobFlatDec) object(tb *gobTable, n int64) (unsafe.Pointer, error) {
	if n == 0 {
		return nil, nil
	}
	i, err := st.rowIndex(tb, n)
	if err != nil {
		return nil, err
	}
	objs := st.objs[tb.idx]
	if objs == nil {
		objs = make([]unsafe.Pointer, st.tables[tb.idx].Len())
		st.objs[tb.idx] = objs
	}
	if objs[i] == nil {
		objs[i] = reflect.New(tb.typ).UnsafePointer()
		st.queue = append(st.queue, gobDecJob{tb, i, objs[i]})
	}
	return objs[i], nil
}

func (st *gobFlatDec) byValue(tb *gobTable, n int64, dst reflect.Value) error {
	if n == 0 {
		dst.SetZero()
		return nil
	}
	i, err := st.rowIndex(tb, n)
	if err != nil {
		return err
	}
	used := st.used[tb.idx]
	if used == nil {
		used = make([]bool, st.tables[tb.idx].Len())
		st.used[tb.idx] = used
	}
	if used[i] {
		// The encoder gives each struct held by value its own row; a row
		// used twice could make a few rows expand without bound.
		return fmt.Errorf("row %d of %v used twice by value: %w", i, tb.typ, ErrGobCorrupt)
	}
	used[i] = true
	if st.depth++; st.depth > st.maxDepth {
		return fmt.Errorf("%v nested by value: %w", tb.typ, &BudgetError{Codec: "gob", Limit: "depth", Max: int64(st.maxDepth), Need: int64(st.depth)})
	}
	defer func() { st.depth-- }()
	return tb.conv.dec(st, st.tables[tb.idx].Index(i), dst)
}

// decode copies a decoded message into dst (settable, of the root type)
// within budget b. The rows it builds are bounded by the message's tables,
// which gobCheckBudget has charged for.
func (p *gobFlatPlan) decode(msg, dst reflect.Value, b Budget) error {
	st := &gobFlatDec{
		tables:   make([]reflect.Value, len(p.tables)),
		objs:     make([][]unsafe.Pointer, len(p.tables)),
		used:     make([][]bool, len(p.tables)),
		maxDepth: b.Depth(),
	}
	rows := 0
	for i := range p.tables {
		st.tables[i] = msg.Field(1 + i)
		rows += st.tables[i].Len()
	}
	st.queue = make([]gobDecJob, 0, rows) // rows decoded: bounded by the input
	if p.rootRef != nil {
		// The root row is the target itself, so references back to the
		// root (a cycle through it) point at the target.
		i, err := st.rowIndex(p.rootRef, msg.Field(0).Int())
		if err != nil {
			return err
		}
		st.objs[p.rootRef.idx] = make([]unsafe.Pointer, st.tables[p.rootRef.idx].Len())
		st.objs[p.rootRef.idx][i] = dst.Addr().UnsafePointer()
		st.queue = append(st.queue, gobDecJob{p.rootRef, i, dst.Addr().UnsafePointer()})
	} else if err := p.rootC.dec(st, msg.Field(0), dst); err != nil {
		return err
	}
	for len(st.queue) > 0 {
		j := st.queue[len(st.queue)-1]
		st.queue = st.queue[:len(st.queue)-1]
		if err := j.tb.conv.dec(st, st.tables[j.tb.idx].Index(j.row), reflect.NewAt(j.tb.typ, j.obj).Elem()); err != nil {
			return err
		}
	}
	return nil
}
