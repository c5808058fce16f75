package codec

import (
	"reflect"
	"strconv"
	"unsafe"
)

// This file decodes the tables of gob_flat.go without copying them, for
// the recursive types (trees, lists, graphs through pointers) whose rows
// need no conversion but their references. gob decodes each table into a
// slice of row views: structs with the user's struct's size, field offsets
// and pointer layout, in which the data fields are the user's own, cached
// and unexported fields are blank (gob leaves them zero), a pointer to a
// recursive struct is a *int and a slice of them a []int (the same words
// for the garbage collector: one pointer, or a slice header). Once gob is
// done, each reference is replaced in place by a pointer to the row it
// names, and the slice gob allocated for a table becomes the user's nodes:
// one allocation per table instead of one per node, and no data copied.
//
// What this costs a user: the nodes of one decoded value share memory (the
// table, and the block that holds every node's slice of pointers), which a
// node kept alive keeps alive as a whole, the way a subslice keeps its
// array. Each node's slice of pointers is capped at its length, so that an
// append to one reallocates instead of writing over the next node's.
//
// Budget: the walk of gob_check.go is what bounds this decode, as before;
// it charges every struct of the stream sizes.ptr (at least the row's size
// plus 40 bytes, see Unmarshal) and every element of a slice sizes.elem (at
// least the size of the largest row, which holds a slice header: 24). What
// is allocated here is less than what the copying route allocates for the
// same stream, which was within those charges: per row, gob's slice element
// and, per pointer field, an int of 8 bytes (the copying route: the flat
// row, with those ints in it, and the user's struct); per element of a
// slice of pointers, gob's int and one pointer here (the copying route: the
// same). No bookkeeping per row, and no recursion: rows are fixed in one
// pass over each table.

// gobSlabPlan is the slab decode of a gobFlatPlan; nil where a table's rows
// need more than their references converted (a recursive struct held by
// value, a nested struct with cached fields, a map of them, ...), which
// keep the copying route.
type gobSlabPlan struct {
	msg  reflect.Type  // LeancacheV, then per table a slice of its row views
	rows []*gobSlabRow // per table
	root gobSlabRootKind
	// rootRow is the view of a root that is a struct but not recursive
	// itself: the message's LeancacheV.
	rootRow *gobSlabRow
	// rootTable is the table of a root that is a recursive struct (its
	// row is LeancacheV) or a pointer or slice of pointers to one.
	rootTable int
	// rootNested is the root's row's nested: such a plan decodes only
	// into a zero target.
	rootNested bool
}

type gobSlabRootKind uint8

const (
	gobSlabRootRow      gobSlabRootKind = iota // the root is a row of rootTable
	gobSlabRootPointer                         // a pointer to one
	gobSlabRootPointers                        // a slice of pointers to them
	gobSlabRootStruct                          // a struct that refers to rows
)

// A gobSlabRow is the view of one struct type, a table's or the root's.
type gobSlabRow struct {
	typ  reflect.Type // the user's struct
	view reflect.Type
	refs []gobSlabRef
	kept []int // indexes of the fields that hold data, as gobConv keeps them
	// nested: a kept field is a view (see gobSlabRowOf), which copyTo
	// cannot write into a target that is not zero as the copying route
	// does (that merges the view's fields into what the target holds).
	nested bool
	// reset resets the struct's own cached fields, not those of what it
	// points to (see copyTo).
	reset func(unsafe.Pointer, resetWalk)
}

// A gobSlabRef is a reference field of a row view.
type gobSlabRef struct {
	off   uintptr
	table int
	list  bool // a []int of row numbers, else a *int
}

func newGobSlabPlan(p *gobFlatPlan) *gobSlabPlan {
	s := &gobSlabPlan{rows: make([]*gobSlabRow, len(p.tables))}
	for i, tb := range p.tables {
		if s.rows[i] = gobSlabRowOf(tb.typ, tb.conv); s.rows[i] == nil {
			return nil
		}
	}
	rootField := reflect.TypeFor[int]()
	switch {
	case p.rootRef != nil:
		s.root, s.rootTable = gobSlabRootRow, p.rootRef.idx
	case p.rootC.kind == gobConvPointer:
		s.root, s.rootTable = gobSlabRootPointer, p.rootC.ref.idx
	case p.rootC.kind == gobConvPointers:
		s.root, s.rootTable, rootField = gobSlabRootPointers, p.rootC.ref.idx, reflect.TypeFor[[]int]()
	case p.rootC.kind == gobConvStruct:
		if s.rootRow = gobSlabRowOf(p.root, p.rootC); s.rootRow == nil {
			return nil
		}
		s.root, s.rootTable, rootField = gobSlabRootStruct, -1, s.rootRow.view
	default:
		return nil
	}
	switch s.root {
	case gobSlabRootRow:
		s.rootNested = s.rows[s.rootTable].nested
	case gobSlabRootStruct:
		s.rootNested = s.rootRow.nested
	}
	fields := []reflect.StructField{{Name: "LeancacheV", Type: rootField}}
	for i, tb := range p.tables {
		fields = append(fields, reflect.StructField{Name: "LeancacheT" + strconv.Itoa(tb.idx), Type: reflect.SliceOf(s.rows[i].view)})
	}
	s.msg = reflect.StructOf(fields)
	return s
}

// gobSlabRowOf builds the row view of struct t, whose flat form is c; nil
// if a field it keeps needs converting.
func gobSlabRowOf(t reflect.Type, c *gobConv) *gobSlabRow {
	kept := make(map[int]*gobConv, len(c.fields))
	for _, fc := range c.fields {
		kept[fc.user] = fc.c
	}
	r := &gobSlabRow{typ: t}
	fields := make([]reflect.StructField, t.NumField())
	for i := range fields {
		f := t.Field(i)
		nf := reflect.StructField{Name: f.Name, Type: f.Type}
		fc, ok := kept[i]
		switch {
		case !ok:
			// Blank, with its own type: the same pointer layout, and gob
			// leaves it zero.
			nf.Name, nf.PkgPath = "_", blankPkgPath
		case fc.kind == gobConvIdentity:
		case fc.kind == gobConvPointer:
			nf.Type = reflect.TypeFor[*int]()
			r.refs = append(r.refs, gobSlabRef{off: f.Offset, table: fc.ref.idx})
		case fc.kind == gobConvPointers:
			nf.Type = reflect.TypeFor[[]int]()
			r.refs = append(r.refs, gobSlabRef{off: f.Offset, table: fc.ref.idx, list: true})
		default:
			// A type with cached fields that reaches no table (a struct,
			// a slice or map of them): its gob view, which gob decodes
			// as the copying route would into new memory. One that
			// reaches a table has no view (errGobRecursive).
			v, err := newGobViewBuilder(f.Type).view(f.Type, "")
			if err != nil || v == f.Type {
				return nil
			}
			nf.Type, r.nested = v, true
		}
		if ok {
			r.kept = append(r.kept, i)
		}
		fields[i] = nf
	}
	if len(r.kept) == 0 {
		return nil // gob would refuse a view without exported fields
	}
	r.view = reflect.StructOf(fields)
	if sameLayout(t, r.view) != nil {
		return nil
	}
	// The struct's resetter, with every field it would walk into stubbed.
	stubs := map[reflect.Type]*resetter{}
	for i := 0; i < t.NumField(); i++ {
		stubs[t.Field(i).Type] = &resetter{}
	}
	r.reset = structResetter(t, stubs)
	return r
}

// gobSlab is a decoded table: n rows of size bytes from base.
type gobSlab struct {
	base unsafe.Pointer
	n    int
	size uintptr
}

// gobSlabDec is the state of one slab decode.
type gobSlabDec struct {
	plan   *gobSlabPlan
	tables []gobSlab
	// The root row, when the root is one, is the target itself: references
	// to it (a cycle through the root) point there.
	rootRow int
	root    unsafe.Pointer
	ptrs    []unsafe.Pointer // carved up for the slices of pointers
}

// object returns the struct that row number n (plus one, 0 for nil) of a
// table stands for.
func (st *gobSlabDec) object(table int, n int64) (unsafe.Pointer, error) {
	if n == 0 {
		return nil, nil
	}
	sl := &st.tables[table]
	if n < 1 || n > int64(sl.n) {
		return nil, gobBadRow(st.plan.rows[table].typ, n, sl.n)
	}
	if table == st.plan.rootTable && int(n-1) == st.rootRow {
		return st.root, nil
	}
	return unsafe.Add(sl.base, uintptr(n-1)*sl.size), nil
}

// pointers counts the elements of the slices of row numbers of the row
// view at p.
func (r *gobSlabRow) pointers(p unsafe.Pointer) int {
	n := 0
	for _, ref := range r.refs {
		if ref.list {
			n += len(*(*[]int)(unsafe.Add(p, ref.off)))
		}
	}
	return n
}

// fix replaces the row numbers in the row view at p by pointers, which
// makes it a value of the user's struct.
func (st *gobSlabDec) fix(r *gobSlabRow, p unsafe.Pointer) error {
	for _, ref := range r.refs {
		f := unsafe.Add(p, ref.off)
		if !ref.list {
			n := *(**int)(f)
			if n == nil {
				continue
			}
			obj, err := st.object(ref.table, int64(*n))
			if err != nil {
				return err
			}
			*(*unsafe.Pointer)(f) = obj
			continue
		}
		if err := st.fixList(ref.table, (*[]int)(f), (*[]unsafe.Pointer)(f)); err != nil {
			return err
		}
	}
	return nil
}

// fixList turns the row numbers at rows into pointers at out, the same
// slice header seen as the user's slice of pointers.
func (st *gobSlabDec) fixList(table int, rows *[]int, out *[]unsafe.Pointer) error {
	if *rows == nil {
		return nil
	}
	ns := *rows
	ptrs := st.ptrs[:len(ns):len(ns)]
	st.ptrs = st.ptrs[len(ns):]
	for i, n := range ns {
		obj, err := st.object(table, int64(n))
		if err != nil {
			return err
		}
		ptrs[i] = obj
	}
	*out = ptrs
	return nil
}

// decode makes the user's value from msg (an addressable s.msg that gob
// has decoded) in dst (settable, of the plan's root type). fresh says dst
// was zero (decodesFresh): then it is overwritten as a whole.
func (s *gobSlabPlan) decode(msg, dst reflect.Value, fresh bool) error {
	st := &gobSlabDec{plan: s, tables: make([]gobSlab, len(s.rows)), rootRow: -1}
	ptrs := 0
	for i, r := range s.rows {
		f := msg.Field(1 + i)
		sl := gobSlab{base: f.UnsafePointer(), n: f.Len(), size: r.view.Size()}
		st.tables[i] = sl
		if len(r.refs) > 0 {
			for k := 0; k < sl.n; k++ {
				ptrs += r.pointers(unsafe.Add(sl.base, uintptr(k)*sl.size))
			}
		}
	}
	root := msg.Field(0)
	switch s.root {
	case gobSlabRootRow:
		n, rows := root.Int(), st.tables[s.rootTable].n
		if n < 1 || n > int64(rows) {
			return gobBadRow(s.rows[s.rootTable].typ, n, rows)
		}
		st.rootRow, st.root = int(n-1), dst.Addr().UnsafePointer()
	case gobSlabRootPointers:
		ptrs += root.Len()
	case gobSlabRootStruct:
		ptrs += s.rootRow.pointers(root.Addr().UnsafePointer())
	}
	st.ptrs = make([]unsafe.Pointer, ptrs)
	for i, r := range s.rows {
		if len(r.refs) == 0 {
			continue
		}
		sl := st.tables[i]
		for k := 0; k < sl.n; k++ {
			if err := st.fix(r, unsafe.Add(sl.base, uintptr(k)*sl.size)); err != nil {
				return err
			}
		}
	}
	switch s.root {
	case gobSlabRootRow:
		sl := st.tables[s.rootTable]
		s.rows[s.rootTable].copyTo(dst, unsafe.Add(sl.base, uintptr(st.rootRow)*sl.size), fresh)
	case gobSlabRootPointer:
		obj, err := st.object(s.rootTable, root.Int())
		if err != nil {
			return err
		}
		dst.Set(reflect.NewAt(s.rows[s.rootTable].typ, obj))
	case gobSlabRootPointers:
		p := root.Addr().UnsafePointer()
		if err := st.fixList(s.rootTable, (*[]int)(p), (*[]unsafe.Pointer)(p)); err != nil {
			return err
		}
		if root.IsNil() {
			dst.SetZero()
		} else {
			*(*[]unsafe.Pointer)(dst.Addr().UnsafePointer()) = *(*[]unsafe.Pointer)(p)
		}
	case gobSlabRootStruct:
		p := root.Addr().UnsafePointer()
		if err := st.fix(s.rootRow, p); err != nil {
			return err
		}
		s.rootRow.copyTo(dst, p, fresh)
	}
	return nil
}

// copyTo copies the fixed row at src into dst (settable, of r's type): as a
// whole into a zero dst, else its data fields only, as the copying route
// writes them, and then resets dst's own cached fields. That leaves nothing
// stale: every other struct the value holds was made by this decode, in
// which gob left the cached fields zero, and so did the kept fields, which
// cannot reach cached ones but through interfaces (see Unmarshal) or as
// views (nested, which Unmarshal decodes only into a zero dst). The reset
// walk of a whole graph is not needed, nor is its cost.
func (r *gobSlabRow) copyTo(dst reflect.Value, src unsafe.Pointer, fresh bool) {
	from := reflect.NewAt(r.typ, src).Elem()
	if fresh {
		dst.Set(from)
		return
	}
	for _, i := range r.kept {
		dst.Field(i).Set(from.Field(i))
	}
	r.reset(dst.Addr().UnsafePointer(), newResetWalk())
}
