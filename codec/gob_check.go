package codec

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
)

// This file is [Gob]'s decode budget: a walk of gob's wire format, in the
// order encoding/gob's Decoder reads it, before gob sees the stream. gob
// decodes nested values by recursion, without a limit, so a short stream
// of a recursive type (a list millions of levels deep) overflows the
// stack, which kills the process; and gob sizes slices by the counts it
// reads (its own type descriptors too), up to about 10 MB each. The walk
// reads the type definitions (wireType), then the first value, and checks
//   - that values nest at most Budget.Depth() levels (structs, slices,
//     arrays, maps and interface values each count one);
//   - that every count and length fits in what is left of its message
//     (every element takes at least one byte);
//   - that what those counts make gob allocate, given the largest element
//     of the Go type decoded into, stays within Budget.MaxAlloc.
//
// The walk does not match wire fields to Go fields: it charges every
// element, struct and entry as if it were the largest the target type can
// hold, which bounds what gob allocates without decoding twice.

// Bootstrap type ids of encoding/gob (type.go), fixed by its wire format.
const (
	gobIDBool      = 1
	gobIDInt       = 2
	gobIDUint      = 3
	gobIDFloat     = 4
	gobIDBytes     = 5
	gobIDString    = 6
	gobIDComplex   = 7
	gobIDInterface = 8
	gobIDWireType  = 16
)

// gobWire is one type definition of the stream, as far as the walk needs it.
type gobWire struct {
	kind   byte // 'a'rray, 's'lice, 'S'truct, 'm'ap, 'e'ncoder (its methods' bytes)
	elem   int64
	key    int64
	length int64
	fields []int64
}

type gobCheck struct {
	// types are the definitions read so far; shared, read-only, those
	// of a memoized prefix (see gobDefsMemo), which types overrides.
	types    map[int64]*gobWire
	shared   map[int64]*gobWire
	deepest  int // the deepest level entered
	depth    int
	max      int
	alloc    int64
	limit    int64
	sizes    gobSizes
	err      error
	complete bool // the first value was walked
	defs     int  // type definitions read
	// recent caches typeOf by the id's low bits: a value's walk asks for
	// the same few types at every element, and two map lookups each time
	// were a tenth of it.
	recent [8]gobRecentType
}

type gobRecentType struct {
	id int64
	w  *gobWire
}

// gobCheckBudget walks data, a gob stream decoded into a value of Go type
// t, of the given sizes (see gobSizesOf). lead is the length of the type
// definitions data starts with when its first value was walked and holds
// no other definitions (none inside interface values), else -1: then what
// gob learns from the stream is those definitions (see gobStreamDec).
func gobCheckBudget(data []byte, t reflect.Type, sizes gobSizes, b Budget) (lead int, err error) {
	c := &gobCheck{max: b.Depth(), limit: b.MaxAlloc(len(data)), sizes: sizes}
	r := &gobReader{data: data}
	memo, _ := gobDefsMemo.Load(t)
	prefix := gobDefsPrefix(data)
	prefixDefs := -1 // the definitions in prefix, once walked
	if len(prefix) == 0 {
		prefixDefs = 0
	}
	if m, _ := memo.(*gobPrefixWalk); m != nil && m.deepest <= c.max && string(m.prefix) == string(prefix) {
		// The same type definitions as the last stream for t: their
		// walk's outcome is known.
		c.shared, c.defs, c.alloc, r.msgs = m.types, m.defs, m.alloc, m.msgs
		r.pos, r.end = len(prefix), len(prefix)
		prefixDefs = m.defs
		if c.spend(0); c.err != nil {
			return -1, c.err
		}
	}
	for c.err == nil && !c.complete && r.end < len(data) {
		if !r.refill(c) {
			return -1, nil // gobCheckFraming has said what is wrong
		}
		c.message(r)
		if !c.complete && r.left() > 0 {
			c.fail("extra data after a type definition")
		}
		r.pos = r.end
		if r.end == len(prefix) && prefixDefs < 0 {
			prefixDefs = c.defs
		}
		if !c.complete && c.err == nil && c.shared == nil && r.end == len(prefix) && len(prefix) <= gobDefsMemoMax {
			gobDefsMemo.Store(t, &gobPrefixWalk{
				prefix: bytes.Clone(prefix), types: c.types, defs: c.defs, alloc: c.alloc, msgs: r.msgs, deepest: c.deepest,
			})
			// Definitions inside the value (interfaces) go to a map of
			// their own: the memoized one is shared.
			c.shared, c.types = c.types, nil
		}
	}
	if c.err != nil || !c.complete || c.defs != prefixDefs {
		return -1, c.err
	}
	return len(prefix), nil
}

// gobDefsMemo holds, per target type, the type definitions that began the
// last stream decoded into it and what walking them found: a cache writes
// the same definitions before every value of a type, and walking them
// again (allocating their descriptions) costs a tenth of a decode. The
// walk of the definitions depends on their bytes and on the budget only
// through its limits, which are checked again.
var gobDefsMemo sync.Map // map[reflect.Type]*gobPrefixWalk

// gobDefsMemoMax bounds the definitions memoized per type, in bytes.
const gobDefsMemoMax = 16 << 10

// gobPrefixWalk is the walk's state after the definitions in prefix.
// types is never written once memoized.
type gobPrefixWalk struct {
	prefix     []byte
	types      map[int64]*gobWire
	defs, msgs int
	alloc      int64
	deepest    int
}

// gobDefsPrefix returns the messages at the start of data that define
// types (a negative type id), as far as their framing can be read.
func gobDefsPrefix(data []byte) []byte {
	pos := 0
	for pos < len(data) {
		n, w := gobUint(data[pos:])
		if w == 0 || n == 0 || n > uint64(len(data)-pos-w) {
			break
		}
		id, iw := gobUint(data[pos+w : pos+w+int(n)])
		if iw == 0 || id&1 == 0 { // a non-negative id: the value
			break
		}
		pos += w + int(n)
	}
	return data[:pos]
}

// typeOf returns the definition of type id read so far.
func (c *gobCheck) typeOf(id int64) *gobWire {
	e := &c.recent[id&7]
	if e.w != nil && e.id == id {
		return e.w
	}
	w, ok := c.types[id]
	if !ok {
		w = c.shared[id]
	}
	if w != nil {
		*e = gobRecentType{id, w}
	}
	return w
}

func (c *gobCheck) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrGobCorrupt}, args...)...)
	}
}

func (c *gobCheck) spend(n int64) {
	c.alloc += n
	if c.alloc > c.limit && c.err == nil {
		c.err = &BudgetError{Codec: "gob", Limit: "allocation", Max: c.limit, Need: c.alloc}
	}
}

// A gobReader reads messages: data[pos:end] is what is left of the
// current one, the rest of the stream follows. Positions, not reslicing:
// the walk moves on a byte at a time, and a slice written to the heap
// costs a write barrier while the collector runs, which a decode that
// allocates as much as gob's makes it do often.
type gobReader struct {
	data     []byte
	pos, end int
	msgs     int // messages read
}

// left is how many bytes of the current message are left.
func (r *gobReader) left() int { return r.end - r.pos }

// refill reads the next message, as gob does when it needs more.
func (r *gobReader) refill(c *gobCheck) bool {
	if r.end == len(r.data) {
		c.fail("stream ends early")
		return false
	}
	n, w := gobUint(r.data[r.end:])
	if w == 0 || n > uint64(len(r.data)-r.end-w) {
		c.fail("bad message length")
		return false
	}
	r.pos = r.end + w
	r.end = r.pos + int(n)
	r.msgs++
	return true
}

func (r *gobReader) uint(c *gobCheck) uint64 {
	if r.pos < r.end && r.data[r.pos] < 0x80 { // one byte: most of them
		n := r.data[r.pos]
		r.pos++
		return uint64(n)
	}
	return r.longUint(c)
}

func (r *gobReader) longUint(c *gobCheck) uint64 {
	if r.pos >= r.end {
		c.fail("message ends early")
		return 0
	}
	n, w := gobUint(r.data[r.pos:r.end])
	if w == 0 {
		c.fail("bad unsigned integer")
		return 0
	}
	r.pos += w
	return n
}

func (r *gobReader) int(c *gobCheck) int64 {
	x := r.uint(c)
	i := int64(x >> 1)
	if x&1 != 0 {
		i = ^i
	}
	return i
}

// count reads a count of items each taking at least one byte.
func (r *gobReader) count(c *gobCheck) int64 {
	n := r.uint(c)
	if n > uint64(r.left()) {
		c.fail("count %d exceeds the %d bytes left of its message", n, r.left())
		return 0
	}
	return int64(n)
}

func (r *gobReader) skip(c *gobCheck) int64 {
	n := r.count(c)
	if c.err == nil {
		r.pos += int(n)
	}
	return n
}

// message walks one top-level message: a type definition or the value.
func (c *gobCheck) message(r *gobReader) {
	id := r.int(c)
	if c.err != nil {
		return
	}
	if id < 0 {
		c.wireType(r, -id)
		return
	}
	c.complete = true
	if w := c.typeOf(id); w != nil && w.kind == 'S' {
		c.value(r, id)
		return
	}
	if r.uint(c) != 0 && c.err == nil {
		c.fail("non-zero delta for a singleton")
	}
	c.value(r, id)
}

// wireType reads the definition of type id (a gob-encoded wireType).
func (c *gobCheck) wireType(r *gobReader, id int64) {
	if !c.enter() {
		return
	}
	defer c.leave()
	c.defs++
	w := &gobWire{}
	field := 0
	for c.err == nil {
		d := r.uint(c)
		if d == 0 || c.err != nil {
			break
		}
		field += int(d)
		switch field {
		case 1, 2, 3, 4: // ArrayT, SliceT, StructT, MapT
			w.kind = "asSm"[field-1]
			c.typeStruct(r, w)
		case 5, 6, 7: // GobEncoderT, BinaryMarshalerT, TextMarshalerT
			w.kind = 'e'
			c.typeStruct(r, w)
		default:
			c.fail("bad wireType field %d", field)
		}
	}
	c.spend(128 + 24*int64(len(w.fields)))
	if c.types == nil {
		c.types = map[int64]*gobWire{}
	}
	c.types[id] = w
	c.recent[id&7] = gobRecentType{} // a definition read again replaces the first
}

// typeStruct reads an arrayType, sliceType, structType, mapType or
// gobEncoderType into w: fields in the order of those types.
func (c *gobCheck) typeStruct(r *gobReader, w *gobWire) {
	if !c.enter() {
		return
	}
	defer c.leave()
	field := 0
	for c.err == nil {
		d := r.uint(c)
		if d == 0 || c.err != nil {
			return
		}
		field += int(d)
		switch {
		case field == 1: // CommonType{Name string; Id int}
			c.commonType(r)
		case w.kind == 'S' && field == 2: // Field []fieldType
			n := r.count(c)
			c.spend(24 * n)
			for i := int64(0); i < n && c.err == nil; i++ {
				w.fields = append(w.fields, c.fieldType(r))
			}
		case w.kind != 'S' && w.kind != 'e' && field == 2:
			if w.kind == 'm' {
				w.key = r.int(c)
			} else {
				w.elem = r.int(c)
			}
		case w.kind == 'm' && field == 3:
			w.elem = r.int(c)
		case w.kind == 'a' && field == 3:
			w.length = r.int(c)
		default:
			c.fail("bad type definition field %d", field)
		}
	}
}

func (c *gobCheck) commonType(r *gobReader) {
	field := 0
	for c.err == nil {
		d := r.uint(c)
		if d == 0 || c.err != nil {
			return
		}
		field += int(d)
		switch field {
		case 1:
			c.spend(r.skip(c) + 16)
		case 2:
			r.int(c)
		default:
			c.fail("bad CommonType field %d", field)
		}
	}
}

func (c *gobCheck) fieldType(r *gobReader) int64 {
	field := 0
	var id int64
	for c.err == nil {
		d := r.uint(c)
		if d == 0 || c.err != nil {
			return id
		}
		field += int(d)
		switch field {
		case 1:
			c.spend(r.skip(c) + 16)
		case 2:
			id = r.int(c)
		default:
			c.fail("bad fieldType field %d", field)
		}
	}
	return id
}

func (c *gobCheck) enter() bool {
	c.depth++
	c.deepest = max(c.deepest, c.depth)
	if c.depth > c.max {
		if c.err == nil {
			c.err = &BudgetError{Codec: "gob", Limit: "depth", Max: int64(c.max), Need: int64(c.depth)}
		}
		return false
	}
	return true
}

func (c *gobCheck) leave() { c.depth-- }

// leaf walks a value of id if it is one of the builtin types most fields
// and elements are (a number, a string), and reports whether it was: the
// loops below call it before value, which saves a call per element.
func (c *gobCheck) leaf(r *gobReader, id int64) bool {
	switch id {
	case gobIDBool, gobIDInt, gobIDUint, gobIDFloat:
		r.uint(c)
	case gobIDBytes, gobIDString:
		c.spend(r.skip(c) + 16)
	default:
		return false
	}
	return true
}

// value walks a value of type id.
func (c *gobCheck) value(r *gobReader, id int64) {
	if c.err != nil || c.leaf(r, id) {
		return
	}
	switch id {
	case gobIDComplex:
		r.uint(c)
		r.uint(c)
		return
	case gobIDInterface:
		c.iface(r)
		return
	}
	w := c.typeOf(id)
	if w == nil {
		c.fail("undefined type id %d", id)
		return
	}
	if !c.enter() {
		return
	}
	defer c.leave()
	switch w.kind {
	case 'e':
		c.spend(r.skip(c) + 16)
	case 'a', 's':
		n := r.count(c)
		c.spend(n * c.sizes.elem)
		for i := int64(0); i < n && c.err == nil; i++ {
			if !c.leaf(r, w.elem) {
				c.value(r, w.elem)
			}
		}
	case 'm':
		n := r.count(c)
		c.spend(n * (3*c.sizes.entry + 64))
		for i := int64(0); i < n && c.err == nil; i++ {
			c.value(r, w.key)
			c.value(r, w.elem)
		}
	case 'S':
		// A struct may be a pointer's target, which gob allocates.
		c.spend(c.sizes.ptr)
		field := -1
		for c.err == nil {
			d := r.uint(c)
			if d == 0 || c.err != nil {
				return
			}
			field += int(d)
			if field < 0 || field >= len(w.fields) || d > uint64(len(w.fields)) {
				c.fail("field number %d out of range", field)
				return
			}
			if f := w.fields[field]; !c.leaf(r, f) {
				c.value(r, f)
			}
		}
	default:
		c.fail("empty type definition %d", id)
	}
}

// iface walks an interface value as gob's decodeInterface reads it: a
// name, type definitions, the concrete type's id, the value's length and
// the value (a singleton or a struct) inside that length.
func (c *gobCheck) iface(r *gobReader) {
	if !c.enter() {
		return
	}
	defer c.leave()
	if r.skip(c) == 0 || c.err != nil {
		return // nil
	}
	// decodeTypeSequence: type definitions, each perhaps followed by a
	// count to skip, until the concrete type's id; when the message ends
	// first, gob reads on into the next one.
	var id int64
	for c.err == nil {
		if r.left() == 0 && !r.refill(c) {
			return
		}
		id = r.int(c)
		if id >= 0 || c.err != nil {
			break
		}
		c.wireType(r, -id)
		if r.left() > 0 {
			r.uint(c)
		}
	}
	n := r.count(c)
	if c.err != nil {
		return
	}
	c.spend(gobIfaceSize + 64)
	// gob decodes the value from where it starts, or, for an interface it
	// ignores, drops n bytes: the value must be n bytes, so that both read
	// the same bytes next. gob's encoder writes a different n when the
	// value holds interfaces whose type definitions it writes inline; gob
	// decodes those, so they pass as gob reads them (and an ignored one is
	// dropped as gob drops it, a case this walk reads as decoded).
	left, msgs, defs := r.left(), r.msgs, c.defs
	if w := c.typeOf(id); w == nil || w.kind != 'S' {
		if r.uint(c) != 0 && c.err == nil {
			c.fail("non-zero delta for a singleton")
		}
	}
	c.value(r, id)
	if c.err == nil && c.defs == defs && (r.msgs != msgs || int64(left-r.left()) != n) {
		c.fail("interface value of %d bytes does not match its length %d", left-r.left(), n)
	}
}

// gobSizes bounds what gob may allocate on its own for one wire value
// while decoding into a Go type: ptr for a struct (a pointer's target),
// elem for a slice's or array's element, entry for a map's key and
// element. A registered type behind an interface is assumed to be at most
// gobIfaceSize bytes, as gob's registry cannot be asked.
type gobSizes struct{ ptr, elem, entry int64 }

const gobIfaceSize = 256

var gobSizeCache sync.Map // map[reflect.Type]gobSizes

// gobSizesOf returns the largest of each kind that t can reach.
func gobSizesOf(t reflect.Type) gobSizes {
	if v, ok := gobSizeCache.Load(t); ok {
		return v.(gobSizes)
	}
	var z gobSizes
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer:
			z.ptr = max(z.ptr, int64(t.Elem().Size()))
			walk(t.Elem())
		case reflect.Slice, reflect.Array:
			z.elem = max(z.elem, int64(t.Elem().Size()))
			walk(t.Elem())
		case reflect.Map:
			z.entry = max(z.entry, int64(t.Key().Size()+t.Elem().Size()))
			walk(t.Key())
			walk(t.Elem())
		case reflect.Interface:
			z.ptr, z.elem, z.entry = max(z.ptr, gobIfaceSize), max(z.elem, gobIfaceSize), max(z.entry, gobIfaceSize)
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				walk(t.Field(i).Type)
			}
		}
	}
	walk(t)
	gobSizeCache.Store(t, z)
	return z
}

// add returns the larger of each of z and o.
func (z gobSizes) add(o gobSizes) gobSizes {
	return gobSizes{max(z.ptr, o.ptr), max(z.elem, o.elem), max(z.entry, o.entry)}
}
