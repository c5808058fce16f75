package codec

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/leancache/leancache/cacheprop"
)

// This file builds views. A view of a type is a type built with
// reflect.StructOf (and PointerTo, SliceOf, ArrayOf, MapOf) that has the
// same size, alignment, field offsets and pointer layout as the original,
// with every cached property renamed to an unexported name, which the
// libraries ignore. A value is then encoded by handing the library the same
// memory under the view's type: nothing is copied, and the library writes
// what it writes for a type that lacks the cached fields.
//
// Where a view cannot be expressed as a plain type (a recursive type, an
// interface field whose content is only known per value, a field whose
// omitempty/omitzero test depends on a method the view lacks) the field gets
// a wrapper type of the same layout whose marshaler methods re-enter the
// codec: see slots.go.

// A fieldClass is how a library treats a struct field.
type fieldClass int

const (
	// classSkip: the library ignores the field.
	classSkip fieldClass = iota
	// classField: the library encodes the field under a name.
	classField
	// classInline: an embedded struct (or pointer to one) whose fields the
	// library promotes into the outer struct.
	classInline
)

// A dialect describes how one library walks types; the builder uses it to
// build views that the library treats exactly like the original types.
type dialect struct {
	name string
	// addrMatters: the library picks methods by addressability (json),
	// so views are built per addressability.
	addrMatters bool
	// encMethods reports whether the library encodes a value of type t
	// (addressable or not) with t's own methods, or treats it as a
	// built-in special type, so that t must reach it untouched.
	encMethods func(t reflect.Type, addr bool) bool
	// decMethods is encMethods for decoding.
	decMethods func(t reflect.Type) bool
	// classify says how the library treats struct field sf.
	classify func(sf reflect.StructField) fieldClass
	// renamed returns the tag for a field the view must give an exported
	// name other than sf.Name, so that the library still uses sf.Name as
	// its key (msgpack keys unexported embedded fields by name).
	renamed func(sf reflect.StructField) reflect.StructTag
	// omit reports the omitempty and omitzero options of field sf of
	// struct type parent.
	omit func(sf reflect.StructField, parent reflect.Type) (empty, zero bool)
	// wrapTag returns the tag for a field with omit options whose type
	// became a wrapper (a slot or an interface box): the wrapper's IsZero
	// must then decide omission.
	wrapTag func(tag reflect.StructTag) reflect.StructTag
	// needsZeroMethod reports whether omitting field sf of parent, whose
	// type's view differs from the type, depends on a method the view
	// loses (an IsZero the library calls).
	needsZeroMethod func(sf reflect.StructField, parent reflect.Type) bool
	// reflectZero reports whether the library's omitzero test of a field
	// of type t is reflect.Value.IsZero; nil for a library without one.
	// A view must then zero-test as the type without the cached fields
	// does (omitzero.go).
	reflectZero func(t reflect.Type) bool
	// anyBox returns the wrapper type for an empty-interface field with the
	// given omit options.
	anyBox func(empty, zero bool) reflect.Type
	// slotZero builds the omission test of a slot wrapper standing for a
	// field of type t.
	slotZero func(t reflect.Type, empty, zero bool) func(p unsafe.Pointer) bool
	// viewSlice, if set, is told of every slice view type built, before
	// the library can meet it: msgpack's decoder of such slices is ours
	// (see msgpackViewSlice). Nil for the other libraries.
	viewSlice func(v reflect.Type)
}

// A planKey names one view: of type t, for values that are addressable
// (json only), for decoding or encoding, and whether t is an embedded struct
// whose fields are promoted (such a view is always built, as a method-less
// copy, because reflect.StructOf must never embed a type with methods).
type planKey struct {
	t    reflect.Type
	addr bool
	dec  bool
	flat bool
	// level counts how often a recursive type has been unrolled on the way
	// to this view; see unrollLevels.
	level uint8
}

// unrollLevels says how many times a recursive struct type is unrolled
// into nested views before a slot closes the cycle. Every slot re-enters
// the library (a call, allocations, and for json and cbor a copy and a
// validation of the nested output), so a tree pays for that only every so
// many levels, and a tree shallower than that not at all. The cost is view
// types, one per level, whose descriptions (reflect's type strings) grow as
// k^levels for a type that refers to itself k times: so a type that refers
// to itself once is unrolled 8 levels, twice 5, more often 3.
func unrollLevels(t reflect.Type) int {
	if r, ok := unrollCache.Load(t); ok {
		return r.(int)
	}
	levels := 3
	switch selfRefs(t, t, map[reflect.Type]bool{}) {
	case 0, 1:
		levels = 8
	case 2:
		levels = 5
	}
	unrollCache.Store(t, levels)
	return levels
}

var unrollCache sync.Map // map[reflect.Type]int

// selfRefs counts, up to 3, the paths by which a value of type u refers to
// a value of struct type t without passing through another t.
func selfRefs(t, u reflect.Type, onPath map[reflect.Type]bool) int {
	switch u.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return selfRefs(t, u.Elem(), onPath)
	case reflect.Struct:
		if u == t && len(onPath) > 0 {
			return 1
		}
		if onPath[u] {
			return 0
		}
		onPath[u] = true
		defer delete(onPath, u)
		n := 0
		for i := 0; i < u.NumField() && n < 3; i++ {
			n += selfRefs(t, u.Field(i).Type, onPath)
		}
		return n
	}
	return 0
}

// An entry is the cached answer for a type given to Marshal or Unmarshal.
type entry struct {
	view  reflect.Type   // nil: give the library the value as it is
	rtype unsafe.Pointer // view's runtime type word, to retype interfaces
	reset bool           // Unmarshal must reset cached properties afterwards
	err   error
	// transient: err is not the type's fault; the entry is not cached.
	transient bool
}

// A stripper builds and caches views for one dialect.
type stripper struct {
	d *dialect
	// enc and dec cache the entry of each type given to Marshal and
	// Unmarshal. They are keyed by reflect.Type alone so that a lookup
	// allocates nothing.
	enc, dec sync.Map // map[reflect.Type]*entry

	// mu serialises building. done remembers every view built, so that
	// types shared between top-level types are built once; building keeps
	// the struct types on the current path, which is how recursion is
	// found (the role of the placeholder in encoding/json's typeEncoder).
	mu       sync.Mutex
	done     map[planKey]reflect.Type
	building map[planKey]bool
	pending  []*slotInfo
	slotMemo map[slotKey]reflect.Type
	// added lists what the build in progress put in done and slotMemo, so
	// that a failed build leaves nothing half-made behind.
	added     []planKey
	addedSlot []slotKey
	// taken lists the slots the build in progress took from the pools,
	// and exhausted whether it found a pool empty.
	taken     []slotRef
	exhausted bool
}

func newStripper(d *dialect) *stripper {
	return &stripper{
		d:        d,
		done:     map[planKey]reflect.Type{},
		building: map[planKey]bool{},
		slotMemo: map[slotKey]reflect.Type{},
	}
}

// encEntry returns the entry for encoding a value of dynamic type t.
func (s *stripper) encEntry(t reflect.Type) *entry { return s.cachedEntry(&s.enc, t, false) }

// decEntry returns the entry for decoding into a value of type t.
func (s *stripper) decEntry(t reflect.Type) *entry { return s.cachedEntry(&s.dec, t, true) }

func (s *stripper) cachedEntry(m *sync.Map, t reflect.Type, dec bool) *entry {
	if e, ok := m.Load(t); ok {
		return e.(*entry)
	}
	e := s.newEntry(t, dec)
	if e.transient {
		return e
	}
	// A race builds the entry twice; both builds give the same answer.
	actual, _ := m.LoadOrStore(t, e)
	return actual.(*entry)
}

// undo removes what a failed build added, slots included, so that it
// leaves nothing half-made behind and takes nothing for good.
func (s *stripper) undo() {
	s.pending = nil
	for _, k := range s.added {
		delete(s.done, k)
	}
	for _, k := range s.addedSlot {
		delete(s.slotMemo, k)
	}
	releaseSlots(s.taken)
	s.taken = s.taken[:0]
}

func (s *stripper) newEntry(t reflect.Type, dec bool) *entry {
	e := &entry{}
	if dec {
		e.reset = needsReset(t)
		if !reachesCached(t) {
			return e
		}
	} else if !reachesStrip(t) {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.added, s.addedSlot, s.taken, s.exhausted = s.added[:0], s.addedSlot[:0], s.taken[:0], false
	finished := false
	defer func() {
		if !finished { // a panic (a bug of ours) goes on, taking nothing
			s.undo()
		}
	}()
	v, err := s.build(planKey{t: t, dec: dec}, "")
	finished = true
	if err == nil {
		err = s.fillPending()
	}
	if err != nil {
		s.undo()
		var ute *UnsupportedTypeError
		if errors.As(err, &ute) {
			ute.Codec, ute.Type = s.d.name, t
		}
		e.err = err
		// A type's own shape fails every time: its error is cached. An
		// empty slot pool is the process's state, which a later build may
		// find otherwise.
		e.transient = s.exhausted
		return e
	}
	if v != t {
		e.view = v
		e.rtype = rtypeOf(v)
	}
	return e
}

// holdsWrapper reports whether view type t holds a slot or an interface
// box.
func holdsWrapper(t reflect.Type, seen map[reflect.Type]bool) bool {
	if wrapperTypes[t] {
		return true
	}
	if _, ok := slotIndex[t]; ok {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return holdsWrapper(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if holdsWrapper(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// errInProgress reports that a struct type on the current path was met
// again: the enclosing pointer, slice or map becomes a slot.
var errInProgress = errors.New("codec: type in progress")

func unsupported(path, format string, args ...any) error {
	return &UnsupportedTypeError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// build returns the view for k. It returns k.t itself when the library
// can have the type as it is.
func (s *stripper) build(k planKey, path string) (v reflect.Type, err error) {
	if !s.d.addrMatters {
		k.addr = false
	}
	if v, ok := s.done[k]; ok {
		return v, nil
	}
	t := k.t
	if !k.flat {
		if k.dec && !reachesCached(t) || !k.dec && !reachesStrip(t) {
			return t, nil
		}
		if k.dec && s.d.decMethods(t) || !k.dec && s.d.encMethods(t, k.addr) {
			return t, nil
		}
	}
	if s.building[k] {
		if int(k.level)+1 < unrollLevels(t) {
			k.level++
			return s.build(k, path)
		}
		return nil, errInProgress
	}
	// reflect's type constructors panic on what they cannot build; turn
	// that into an error naming the field rather than crash the caller.
	// Any other panic is a bug of ours and goes on, after newEntry's
	// deferred unlock.
	defer func() {
		if r := recover(); r != nil {
			if !isReflectPanic(r) {
				panic(r)
			}
			v, err = nil, unsupported(path, "reflect cannot build its view: %v", r)
		}
	}()
	elemKey := func(et reflect.Type, addr bool) planKey {
		return planKey{t: et, addr: addr, dec: k.dec, level: k.level}
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		if t.Kind() == reflect.Map && reachesCached(t.Key()) {
			return nil, unsupported(path, "map key type %s holds cached properties", t.Key())
		}
		// Pointer targets and slice elements are addressable, map values
		// are not: json picks pointer-receiver marshalers by that.
		ev, err := s.build(elemKey(t.Elem(), t.Kind() != reflect.Map), path+elemPath(t))
		if errors.Is(err, errInProgress) {
			v, err = s.slot(k, false, false, nil)
		} else if err == nil {
			v = composite(t, ev)
			if v != t && t.Kind() == reflect.Slice && s.d.viewSlice != nil {
				s.d.viewSlice(v)
			}
		}
		if err != nil {
			return nil, err
		}
	case reflect.Array:
		ev, err := s.build(elemKey(t.Elem(), k.addr), path+"[]")
		if err != nil {
			return nil, err
		}
		v = composite(t, ev)
	case reflect.Interface:
		if k.dec || t.NumMethod() != 0 {
			return t, nil
		}
		v = s.d.anyBox(false, false)
	case reflect.Struct:
		v, err = s.structView(k, path)
		if err != nil {
			return nil, err
		}
	default:
		return t, nil
	}
	s.done[k] = v
	s.added = append(s.added, k)
	return v, nil
}

func elemPath(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return ""
	case reflect.Map:
		return "[value]"
	}
	return "[]"
}

// composite rebuilds pointer, slice, array or map type t around the view
// ev of its element; t itself when the element is unchanged.
func composite(t, ev reflect.Type) reflect.Type {
	if ev == t.Elem() {
		return t
	}
	switch t.Kind() {
	case reflect.Pointer:
		return reflect.PointerTo(ev)
	case reflect.Slice:
		return reflect.SliceOf(ev)
	case reflect.Array:
		return reflect.ArrayOf(t.Len(), ev)
	case reflect.Map:
		return reflect.MapOf(t.Key(), ev)
	}
	panic("codec: composite of " + t.String())
}

// pkgPath is given to every unexported field of a view: StructOf requires
// all unexported fields to share one package path.
var pkgPath = reflect.TypeFor[entry]().PkgPath()

func (s *stripper) structView(k planKey, path string) (reflect.Type, error) {
	s.building[k] = true
	defer delete(s.building, k)
	t := k.t
	n := t.NumField()
	fields := make([]reflect.StructField, n)
	names := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		names[t.Field(i).Name] = true
	}
	unique := func(base string) string {
		name := base
		for j := 2; names[name]; j++ {
			name = fmt.Sprintf("%s%d", base, j)
		}
		names[name] = true
		return name
	}
	changed := k.flat
	blank := blankTag(t, k.flat)
	for i := 0; i < n; i++ {
		sf := t.Field(i)
		fpath := path + "." + sf.Name
		nf := reflect.StructField{Name: sf.Name, Type: sf.Type, Tag: sf.Tag}
		if !sf.IsExported() {
			nf.PkgPath = pkgPath
		}
		switch class := s.d.classify(sf); {
		case cacheprop.IsCached(sf):
			// The library skips unexported fields: this is the stripping.
			// Blank where it can be, so that reflect's zero test skips it
			// too (see omitzero.go).
			nf.Name, nf.PkgPath = "_", pkgPath
			if blank != nil {
				nf.Tag = *blank
			} else {
				nf.Name = unique("cached_" + sf.Name)
			}
			changed = true
		case class == classSkip:
			changed = changed || sf.Anonymous
		case class == classInline:
			et, ptr := sf.Type, false
			if et.Kind() == reflect.Pointer {
				et, ptr = et.Elem(), true
			}
			ev, err := s.build(planKey{t: et, addr: k.addr || ptr, dec: k.dec, flat: true, level: k.level}, fpath)
			if errors.Is(err, errInProgress) {
				return nil, unsupported(fpath, "embedded struct %s embeds itself", et)
			} else if err != nil {
				return nil, err
			}
			if ptr {
				ev = reflect.PointerTo(ev)
			}
			nf.Type, nf.Anonymous, nf.PkgPath = ev, true, ""
			if !sf.IsExported() {
				nf.Name, nf.Tag = unique("Embedded_"+sf.Name), s.d.renamed(sf)
			}
			changed = true
		default: // classField
			ft, err := s.build(planKey{t: sf.Type, addr: k.addr, dec: k.dec, level: k.level}, fpath)
			if err != nil {
				return nil, err
			}
			if sf.Anonymous || !sf.IsExported() {
				// Never embed a type with methods in a built type (it can
				// crash the runtime); a named field is what the library
				// makes of it anyway.
				nf.PkgPath = ""
				if !sf.IsExported() {
					nf.Name, nf.Tag = unique("Field_"+sf.Name), s.d.renamed(sf)
				}
				changed = true
			}
			changed = changed || ft != sf.Type
			if !k.dec {
				if ft, err = s.omission(k, sf, ft, fpath); err != nil {
					return nil, err
				}
				empty, zero := s.d.omit(sf, t)
				if (wrapperTypes[ft] || slotOf(ft) != nil) && (empty || zero) {
					nf.Tag = s.d.wrapTag(nf.Tag)
				}
			}
			nf.Type = ft
		}
		fields[i] = nf
	}
	if !changed {
		return t, nil
	}
	if !k.dec && s.d.reflectZero != nil {
		incomparable(t, fields)
	}
	v := reflect.StructOf(fields)
	if err := sameLayout(t, v); err != nil {
		return nil, unsupported(path, "%v", err)
	}
	return v, nil
}

// stripCache memoizes reachesStrip.
var stripCache sync.Map // map[reflect.Type]bool

// reachesStrip reports whether encoding t involves anything a view
// changes: a cached property, or an interface whose content may hold one.
// Types for which it is false go to the library untouched.
func reachesStrip(t reflect.Type) bool {
	if r, ok := stripCache.Load(t); ok {
		return r.(bool)
	}
	r := walkType(t, map[reflect.Type]bool{}, true)
	stripCache.Store(t, r)
	return r
}
