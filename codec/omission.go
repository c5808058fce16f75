package codec

import (
	"reflect"
)

// This file decides omission (omitempty, omitzero) in views: a field whose
// view type differs from its type must still be omitted exactly when the
// library omits it from the type without the cached fields.

// omission makes sure field sf, whose view type is ft, is omitted exactly
// when the library omits it from the type without the cached fields: the
// view's own zero test serves where it gives the same answer, a wrapper's
// IsZero decides where the library calls a method the view lacks, and the
// field is reported as unsupported when neither can be had.
func (s *stripper) omission(k planKey, sf reflect.StructField, ft reflect.Type, fpath string) (reflect.Type, error) {
	empty, zero := s.d.omit(sf, k.t)
	if !empty && !zero {
		return ft, nil
	}
	if zero && s.d.reflectZero != nil && s.d.reflectZero(sf.Type) && !zeroTestExact(sf.Type, ft) {
		return nil, unsupported(fpath, "%s omits it by reflect's zero test, which on %s would count cached fields: %s", s.d.name, sf.Type, inexactReason)
	}
	if ft == sf.Type {
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
	return nil, unsupported(fpath, "%s omits it by the IsZero method of %s, which a view cannot carry (a type built by reflect has no methods); omit by pointer (a pointer field's IsZero is kept), or drop the option", s.d.name, sf.Type)
}

// inexactReason says when a view's zero test counts cached fields, and
// what to do about it.
const inexactReason = "a struct held in it by value is encoded by its own methods yet has cached fields, or is " +
	"comparable and has no cached field starting on a pointer boundary (see the package doc); omit by pointer, or drop the option"

// isZeroer is the IsZero method the libraries consult for omission.
type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// hasZeroMethod reports whether t or *t has an IsZero method.
func hasZeroMethod(t reflect.Type) bool {
	return t.Implements(isZeroerType) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(isZeroerType)
}
