package codec

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"sync"
	"unsafe"

	"github.com/leancache/leancache/cacheprop"
)

// This file answers two questions every codec asks of a type, once per type:
// does it reach a cached property at all (if not, the library can have it
// untouched), and how are its cached properties reset after a decode.

// ReachesCachedProperties reports whether a value of type t can hold a
// cached property (a field tagged cacheprop, or a cacheprop cell) through
// struct fields, embedded or not, pointers, slices, arrays, or map keys and
// values. What an interface holds is known per value only and is not
// followed. It is the test every codec of this package applies before
// handing a type to its library untouched; other packages ask it rather
// than walk types themselves. Memoized per type.
func ReachesCachedProperties(t reflect.Type) bool { return reachesCached(t) }

// reachCache memoizes reachesCached.
var reachCache sync.Map // map[reflect.Type]bool

// reachesCached reports whether a value of type t can hold a cached property
// through struct fields (embedded or not), pointers, slices, arrays, or map
// keys and values. Interface-typed fields are not followed: what they hold is
// only known per value.
func reachesCached(t reflect.Type) bool {
	if r, ok := reachCache.Load(t); ok {
		return r.(bool)
	}
	r := walkType(t, map[reflect.Type]bool{}, false)
	reachCache.Store(t, r)
	return r
}

// needsReset is reachesCached that also follows interfaces: an interface
// field may point at a struct with cached properties, which a decode into it
// fills and which must then be reset.
func needsReset(t reflect.Type) bool {
	return walkType(t, map[reflect.Type]bool{}, true)
}

// walkType reports whether t reaches a cached property (or, with
// interfaces, an interface). seen breaks cycles: a type already on the path
// adds nothing new.
func walkType(t reflect.Type, seen map[reflect.Type]bool, interfaces bool) bool {
	switch t.Kind() {
	case reflect.Interface:
		return interfaces
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return walkType(t.Elem(), seen, interfaces)
	case reflect.Map:
		return walkType(t.Key(), seen, interfaces) || walkType(t.Elem(), seen, interfaces)
	case reflect.Struct:
		if seen[t] {
			return false
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if cacheprop.IsCached(f) || walkType(f.Type, seen, interfaces) {
				return true
			}
		}
	}
	return false
}

// typeReaches reports whether a value of type from can contain a value of
// type target.
func typeReaches(from, target reflect.Type, seen map[reflect.Type]bool) bool {
	if from == target {
		return true
	}
	if seen[from] {
		return false
	}
	seen[from] = true
	switch from.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return typeReaches(from.Elem(), target, seen)
	case reflect.Map:
		return typeReaches(from.Key(), target, seen) || typeReaches(from.Elem(), target, seen)
	case reflect.Struct:
		for i := 0; i < from.NumField(); i++ {
			if typeReaches(from.Field(i).Type, target, seen) {
				return true
			}
		}
	}
	return false
}

// A resetter empties the cached properties of the value at p. A nil fn
// means the type has nothing to reset.
type resetter struct {
	fn func(p unsafe.Pointer, w resetWalk)
	// tracks: a reset of the type can meet a pointer it must remember
	// (see resetTracks), and needs a walk's state; without, it starts
	// with none and allocates nothing.
	tracks bool
}

// resetWalk follows a reset down through pointers into recursive types,
// so that a value whose nodes are shared or form cycles is walked once per
// node. Remembering pointers costs a map, which trees and lists, what these
// types mostly hold, do not need: a walk follows its first
// resetTrackAfter pointers without one, counting them over the whole walk
// (not per path: a graph of fan-out two with shared nodes has
// exponentially many paths of length resetTrackAfter), and from then on
// remembers every pointer it meets: it walks at most resetTrackAfter + n
// nodes of a value of n, and looks at each pointer below them once.
type resetWalk struct{ st *resetState }

// resetState is what every step of one walk shares.
type resetState struct {
	followed int
	seen     map[unsafe.Pointer]bool
}

// newResetWalk starts a walk.
func newResetWalk() resetWalk { return resetWalk{&resetState{}} }

// resetTrackAfter is how many pointers into recursive types a reset follows
// before it starts remembering them.
const resetTrackAfter = 1 << 14

// visit reports whether p is to be walked: not met before, as far as the
// walk remembers.
func (w resetWalk) visit(p unsafe.Pointer) bool {
	st := w.st
	if st == nil {
		// A walk without state is of a type that resetTracks found no
		// such pointer in.
		return true
	}
	if st.seen == nil {
		if st.followed < resetTrackAfter {
			st.followed++
			return true
		}
		st.seen = make(map[unsafe.Pointer]bool)
	}
	if st.seen[p] {
		return false
	}
	st.seen[p] = true
	return true
}

var (
	resetCache sync.Map   // map[reflect.Type]*resetter
	resetMu    sync.Mutex // serialises building, so cycles see one set of resetters
)

// resetCached resets, in place, every cached property reachable from v:
// tagged fields are set to their zero value, cells (cacheprop.Property) are
// Reset. v must be a pointer or addressable; anything else is left alone.
// Decoders call it after decoding so that no stale derived data survives.
func resetCached(v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	} else if !v.CanAddr() {
		return
	}
	r := resetterOf(v.Type())
	if r.fn == nil {
		return
	}
	var w resetWalk
	if r.tracks {
		w = newResetWalk()
	}
	r.fn(v.Addr().UnsafePointer(), w)
}

// resetTracks reports whether a reset of t can meet a pointer that another
// path reaches too: one into a recursive type, or anything held in an
// interface.
func resetTracks(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer:
		return typeReaches(t.Elem(), t, map[reflect.Type]bool{}) || resetTracks(t.Elem(), seen)
	case reflect.Slice, reflect.Array:
		return resetTracks(t.Elem(), seen)
	case reflect.Map:
		return resetTracks(t.Key(), seen) || resetTracks(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if resetTracks(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

func resetValue(v reflect.Value, w resetWalk) {
	if r := resetterOf(v.Type()); r.fn != nil {
		r.fn(v.Addr().UnsafePointer(), w)
	}
}

// resetterOf returns t's resetter, building it on first use.
func resetterOf(t reflect.Type) *resetter {
	if r, ok := resetCache.Load(t); ok {
		return r.(*resetter)
	}
	resetMu.Lock()
	defer resetMu.Unlock()
	built := map[reflect.Type]*resetter{}
	r := buildResetter(t, built)
	// Publish only complete resetters: a recursive type's members refer to
	// each other and must not be seen half-built by a lock-free Load.
	for bt, br := range built {
		resetCache.LoadOrStore(bt, br)
	}
	return r
}

func buildResetter(t reflect.Type, built map[reflect.Type]*resetter) *resetter {
	if r, ok := resetCache.Load(t); ok {
		return r.(*resetter)
	}
	if r, ok := built[t]; ok {
		return r // in progress (a cycle) or done in this build
	}
	r := &resetter{tracks: resetTracks(t, map[reflect.Type]bool{})}
	built[t] = r
	if !needsReset(t) {
		return r
	}
	switch t.Kind() {
	case reflect.Struct:
		r.fn = structResetter(t, built)
	case reflect.Pointer:
		elem := buildResetter(t.Elem(), built)
		// Only a pointer type that its own element can reach again can
		// take part in a cycle of values.
		cyclic := typeReaches(t.Elem(), t, map[reflect.Type]bool{})
		r.fn = func(p unsafe.Pointer, w resetWalk) {
			q := *(*unsafe.Pointer)(p)
			if q == nil || elem.fn == nil {
				return
			}
			if cyclic && !w.visit(q) {
				return
			}
			elem.fn(q, w)
		}
	case reflect.Slice:
		elem, size := buildResetter(t.Elem(), built), t.Elem().Size()
		r.fn = func(p unsafe.Pointer, w resetWalk) {
			s := (*sliceHeader)(p)
			if elem.fn == nil {
				return
			}
			for i := 0; i < s.len; i++ {
				elem.fn(unsafe.Add(s.data, uintptr(i)*size), w)
			}
		}
	case reflect.Array:
		elem, size, n := buildResetter(t.Elem(), built), t.Elem().Size(), t.Len()
		r.fn = func(p unsafe.Pointer, w resetWalk) {
			if elem.fn == nil {
				return
			}
			for i := 0; i < n; i++ {
				elem.fn(unsafe.Add(p, uintptr(i)*size), w)
			}
		}
	case reflect.Map:
		r.fn = mapResetter(t, built)
	case reflect.Interface:
		r.fn = func(p unsafe.Pointer, w resetWalk) { resetInterface(reflect.NewAt(t, p).Elem(), w) }
	}
	return r
}

type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}

func structResetter(t reflect.Type, built map[reflect.Type]*resetter) func(unsafe.Pointer, resetWalk) {
	type op struct {
		off   uintptr
		typ   reflect.Type
		cell  bool      // Reset through cacheprop.Property
		zero  bool      // a tagged field: set to its zero value
		child *resetter // a field that reaches cached properties
	}
	var ops []op
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch {
		case cacheprop.IsCell(f.Type):
			ops = append(ops, op{off: f.Offset, typ: f.Type, cell: true})
		case cacheprop.IsCached(f):
			ops = append(ops, op{off: f.Offset, typ: f.Type, zero: true})
		case needsReset(f.Type):
			ops = append(ops, op{off: f.Offset, typ: f.Type, child: buildResetter(f.Type, built)})
		}
	}
	return func(p unsafe.Pointer, w resetWalk) {
		for i := range ops {
			o := &ops[i]
			fp := unsafe.Add(p, o.off)
			switch {
			case o.cell:
				reflect.NewAt(o.typ, fp).Interface().(cacheprop.Property).Reset()
			case o.zero:
				reflect.NewAt(o.typ, fp).Elem().SetZero()
			case o.child.fn != nil:
				o.child.fn(fp, w)
			}
		}
	}
}

// mapResetter resets map keys and values. Map values are not addressable, so
// a value that holds cached properties inline is copied out, reset and
// stored back; pointers are followed in place. Keys holding cached
// properties are re-keyed only if resetting changes them.
func mapResetter(t reflect.Type, built map[reflect.Type]*resetter) func(unsafe.Pointer, resetWalk) {
	kt, et := t.Key(), t.Elem()
	keyR, elemR := buildResetter(kt, built), buildResetter(et, built)
	return func(p unsafe.Pointer, w resetWalk) {
		m := reflect.NewAt(t, p).Elem()
		if m.Len() == 0 || (keyR.fn == nil && elemR.fn == nil) {
			return
		}
		type rekey struct{ old, new, val reflect.Value }
		var moves []rekey
		it := m.MapRange()
		for it.Next() {
			k, v := it.Key(), it.Value()
			if elemR.fn != nil {
				if et.Kind() == reflect.Pointer {
					if !v.IsNil() {
						resetValue(v.Elem(), w)
					}
				} else {
					nv := reflect.New(et).Elem()
					nv.Set(v)
					elemR.fn(nv.Addr().UnsafePointer(), w)
					v = nv
					m.SetMapIndex(k, nv)
				}
			}
			if keyR.fn != nil && kt.Kind() != reflect.Pointer {
				nk := reflect.New(kt).Elem()
				nk.Set(k)
				keyR.fn(nk.Addr().UnsafePointer(), w)
				if !nk.Equal(k) {
					moves = append(moves, rekey{k, nk, v})
				}
			} else if keyR.fn != nil && !k.IsNil() {
				resetValue(k.Elem(), w)
			}
		}
		for _, mv := range moves {
			m.SetMapIndex(mv.old, reflect.Value{})
			m.SetMapIndex(mv.new, mv.val)
		}
	}
}

// resetInterface resets what an interface holds: through a pointer in place;
// a struct held by value is copied, reset and stored back.
func resetInterface(v reflect.Value, w resetWalk) {
	if v.IsNil() {
		return
	}
	e := v.Elem()
	if e.Kind() == reflect.Pointer {
		if e.IsNil() {
			return
		}
		if w.visit(e.UnsafePointer()) {
			resetValue(e.Elem(), w)
		}
		return
	}
	if !needsReset(e.Type()) {
		return
	}
	c := reflect.New(e.Type()).Elem()
	c.Set(e)
	resetValue(c, w)
	v.Set(c)
}

// A decode into a zero value cannot leave a stale cached property behind,
// so the reset walk after it is skipped (for a deep tree it costs as much
// as a tenth of the decode): the libraries fill only what the view shows,
// or, decoding a recursive type into the type itself, what the input's
// keys name once those of cached fields are blanked or refused; whatever
// they allocate starts zero, and a zero cell is a reset one. That holds
// unless the type reaches an interface (json and msgpack fill what one
// already points to, gob and msgpack build registered types, none of them
// through views) or a type that decodes itself by its own methods and
// holds cached properties (the method may fill them). freshDecodeOK is
// that test, memoized per type.
func freshDecodeOK(t reflect.Type) bool {
	if r, ok := freshCache.Load(t); ok {
		return r.(bool)
	}
	r := freshWalk(t, map[reflect.Type]bool{})
	freshCache.Store(t, r)
	return r
}

var freshCache sync.Map // map[reflect.Type]bool

// ownDecoders are the methods by which some library decodes a type
// itself; freshDecodeOK asks for any of them, whichever codec decodes.
var ownDecoders = append([]reflect.Type{
	jsonUnmarshalerType, cborUnmarshalerType, reflect.TypeFor[gob.GobDecoder](),
}, msgpackDecIfaces...)

func freshWalk(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	if t.Kind() != reflect.Pointer && implementsAny(t, ownDecoders) && needsReset(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return false
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return freshWalk(t.Elem(), seen)
	case reflect.Map:
		return freshWalk(t.Key(), seen) && freshWalk(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); !cacheprop.IsCached(f) && !freshWalk(f.Type, seen) {
				return false
			}
		}
	}
	return true
}

// decodesFresh reports whether v points to a zero value of a type for
// which freshDecodeOK holds: then a decode into it needs no reset walk.
// Decoders ask it before they decode. The zero test reads v's memory
// (padding included, which only makes it answer false more often).
func decodesFresh(v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || !freshDecodeOK(rv.Type().Elem()) {
		return false
	}
	b := unsafe.Slice((*byte)(rv.UnsafePointer()), rv.Type().Elem().Size())
	for len(b) > len(zeroBlock) {
		if !bytes.Equal(b[:len(zeroBlock)], zeroBlock[:]) {
			return false
		}
		b = b[len(zeroBlock):]
	}
	return bytes.Equal(b, zeroBlock[:len(b)])
}

var zeroBlock [512]byte
