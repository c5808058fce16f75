package codec

import (
	"reflect"
	"sync"
	"unsafe"
)

// Slots stand in a view for a pointer, slice or map field whose view cannot
// be a plain type: a type that reaches itself (reflect.StructOf cannot build
// recursive types), or a field whose omission depends on an IsZero method
// the view would lose. A slot is a named type with the field's layout and
// the libraries' marshaler methods; the methods look up what the slot
// stands for and encode the field's memory under its view, re-entering the
// library.
//
// Methods can only belong to types declared at compile time, so there is a
// fixed pool of slot types per layout, told apart by a type parameter (an
// array type whose length is the slot's index). Each slot is given to one
// field type of one codec, for the life of the process.

// slotCount is the number of slot types per layout. Every codec, and for
// json every addressability, encoding and decoding, takes its own slot for
// a recursive field type: 256 serve some 30 recursive types.
const slotCount = 256

// ptrSlot has the layout of a pointer or a map: one pointer word.
type ptrSlot[N any] struct{ p unsafe.Pointer }

// sliceSlot has the layout of a slice header.
type sliceSlot[N any] struct {
	p      unsafe.Pointer
	n, cap int
}

// A slotInfo says what a slot stands for.
type slotInfo struct {
	s    *stripper
	orig reflect.Type // the field type the slot stands for
	key  planKey      // how orig's view is built
	// view is orig's view, the type the field's memory is encoded as. It
	// is set before the slot's codec publishes any type that uses it.
	view reflect.Type
	// zero decides omission (omitempty, omitzero) of the field at p; nil
	// when the field has neither option.
	zero func(p unsafe.Pointer) bool
}

// value returns the field at p seen as its view, addressable.
func (si *slotInfo) value(p unsafe.Pointer) reflect.Value {
	return reflect.NewAt(si.view, p).Elem()
}

// isZero is the IsZero of every slot.
func (si *slotInfo) isZero(p unsafe.Pointer) bool {
	return si.zero != nil && si.zero(p)
}

// A slotPool hands out the slots of one layout. A nil info is a free slot:
// a build that fails gives back every slot it took (see release), so a
// failing type costs the process nothing.
type slotPool struct {
	infos [slotCount]*slotInfo
}

// take gives si the first free slot and returns its index, or -1 when all
// are in use. The caller holds slotMu.
func (p *slotPool) take(si *slotInfo) int {
	for i, x := range p.infos {
		if x == nil {
			p.infos[i] = si
			return i
		}
	}
	return -1
}

// release frees the slots listed. A failed build calls it: the views that
// use those slots are never published, so no reader can see them.
func releaseSlots(refs []slotRef) {
	slotMu.Lock()
	defer slotMu.Unlock()
	for _, r := range refs {
		r.pool.infos[r.i] = nil
	}
}

var (
	slotMu     sync.Mutex // guards allocation in both pools
	ptrSlots   slotPool
	sliceSlots slotPool
	// slotIndex maps every slot type to its pool and index.
	slotIndex = func() map[reflect.Type]slotRef {
		m := make(map[reflect.Type]slotRef, 2*slotCount)
		for i := 0; i < slotCount; i++ {
			m[ptrSlotTypes[i]] = slotRef{&ptrSlots, i}
			m[sliceSlotTypes[i]] = slotRef{&sliceSlots, i}
		}
		return m
	}()
)

type slotRef struct {
	pool *slotPool
	i    int
}

// slotAt returns the slot of index N's length in pool. Infos are written
// before the views using them are published (through the codecs' sync.Map
// caches), so this read needs no lock.
func slotAt[N any](pool *slotPool) *slotInfo {
	return pool.infos[reflect.TypeFor[N]().Len()]
}

// slotOf returns the info of slot type t, or nil if t is not a slot.
func slotOf(t reflect.Type) *slotInfo {
	if r, ok := slotIndex[t]; ok {
		slotMu.Lock()
		defer slotMu.Unlock()
		return r.pool.infos[r.i]
	}
	return nil
}

// A slotKey names a slot: the field type (as a plan) and the omit options
// its IsZero implements.
type slotKey struct {
	k           planKey
	empty, zero bool
}

// slot returns the slot type standing for a field of type k.t with the
// given omit options. view is k.t's view, or nil when it is not built yet
// (k.t reaches a struct still being built); fillPending sets it then.
func (s *stripper) slot(k planKey, empty, zero bool, view reflect.Type) (reflect.Type, error) {
	key := slotKey{k, empty, zero}
	if t, ok := s.slotMemo[key]; ok {
		return t, nil
	}
	pool, types := &ptrSlots, &ptrSlotTypes
	if k.t.Kind() == reflect.Slice {
		pool, types = &sliceSlots, &sliceSlotTypes
	}
	if v := slotOf(view); v != nil {
		view = v.view
	}
	si := &slotInfo{s: s, orig: k.t, key: k, view: view}
	if empty || zero {
		si.zero = s.d.slotZero(k.t, empty, zero)
	}
	slotMu.Lock()
	i := pool.take(si)
	slotMu.Unlock()
	if i < 0 {
		// This depends on the process, not on the type: the build's error
		// is not cached (see newEntry).
		s.exhausted = true
		return nil, unsupported("", "more than %d recursive or self-omitting field types of this layout in the process", slotCount)
	}
	s.taken = append(s.taken, slotRef{pool, i})
	if view == nil {
		s.pending = append(s.pending, si)
	}
	s.slotMemo[key] = types[i]
	s.addedSlot = append(s.addedSlot, key)
	return types[i], nil
}

// fillPending sets the views of slots created while their target was being
// built.
func (s *stripper) fillPending() error {
	for len(s.pending) > 0 {
		si := s.pending[0]
		s.pending = s.pending[1:]
		if si.view != nil {
			continue
		}
		t := si.orig
		// A slot closes a cycle back to the outermost unrolled view.
		ev, err := s.build(planKey{t: t.Elem(), addr: t.Kind() != reflect.Map, dec: si.key.dec}, "")
		if err != nil {
			return err
		}
		if v := slotOf(ev); v != nil && v.orig == t.Elem() {
			ev = v.view
		}
		view := composite(t, ev)
		slotMu.Lock()
		si.view = view
		slotMu.Unlock()
	}
	return nil
}

// IsZero reports whether the field the slot stands for is omitted.
func (p ptrSlot[N]) IsZero() bool { return slotAt[N](&ptrSlots).isZero(unsafe.Pointer(&p)) }

// IsZero reports whether the field the slot stands for is omitted.
func (p sliceSlot[N]) IsZero() bool { return slotAt[N](&sliceSlots).isZero(unsafe.Pointer(&p)) }

// kindEmpty is the omitempty test the libraries share for pointers, slices
// and maps.
func kindEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Slice, reflect.Map, reflect.Array, reflect.String:
		return v.Len() == 0
	}
	return false
}

// methodZero is the omitzero test of json and cbor: the type's IsZero
// method if it has one (with a nil pointer counting as zero), else a
// reflect zero test. v is addressable.
func methodZero(v reflect.Value) bool {
	t := v.Type()
	switch {
	case t.Implements(isZeroerType):
		if v.Kind() == reflect.Pointer && (v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) {
			return true
		}
		return v.Interface().(isZeroer).IsZero()
	case reflect.PointerTo(t).Implements(isZeroerType):
		return v.Addr().Interface().(isZeroer).IsZero()
	}
	return v.IsZero()
}

// zeroFunc returns the omission test of a slot for json and cbor.
func zeroFunc(t reflect.Type, empty, zero bool) func(p unsafe.Pointer) bool {
	return func(p unsafe.Pointer) bool {
		v := reflect.NewAt(t, p).Elem()
		return empty && kindEmpty(v) || zero && methodZero(v)
	}
}

// wrapperTypes holds the interface boxes of all codecs.
var wrapperTypes = map[reflect.Type]bool{}

func registerBox(t reflect.Type) reflect.Type {
	wrapperTypes[t] = true
	return t
}
