package codec

import (
	"reflect"
)

// This file decides omission (omitempty, omitzero) in views: a field whose
// view type differs from its type must still be omitted exactly when the
// library omits it from the original.

// omission makes sure field sf, whose view type ft differs from its type,
// is omitted exactly when the library omits it from the original: a
// wrapper's IsZero then decides, or the field is reported as unsupported
// when its layout admits no wrapper.
func (s *stripper) omission(k planKey, sf reflect.StructField, ft reflect.Type, fpath string) (reflect.Type, error) {
	empty, zero := s.d.omit(sf, k.t)
	if !empty && !zero {
		return ft, nil
	}
	if wrapperTypes[ft] {
		return s.d.anyBox(empty, zero), nil
	}
	if !s.d.needsZeroMethod(sf, k.t) && slotOf(ft) == nil {
		return ft, nil
	}
	switch sf.Type.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		return s.slot(planKey{t: sf.Type, addr: k.addr, dec: k.dec, level: k.level}, empty, zero, ft)
	}
	return nil, unsupported(fpath, "%s decides its omission by a zero test the view of %s cannot reproduce; omit by pointer, or drop the option", s.d.name, sf.Type)
}

// isZeroer is the IsZero method the libraries consult for omission.
type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// hasZeroMethod reports whether t or *t has an IsZero method.
func hasZeroMethod(t reflect.Type) bool {
	return t.Implements(isZeroerType) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(isZeroerType)
}

// zeroTestDiffers reports whether a zero test on a view of t can disagree
// with the library's on the original: the view lacks t's IsZero method, and
// a struct's view still holds the cached fields, which the type without
// them lacks.
func zeroTestDiffers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Array:
		return reachesCached(t) || hasZeroMethod(t)
	}
	return hasZeroMethod(t)
}
