package codec

import (
	"fmt"
	"reflect"
	"unsafe"
)

// This file holds the unsafe parts of zero-copy views and the check they
// rest on (see the invariants in doc.go).

// sameLayout checks what zero-copy views rely on: the view has the
// original's size, alignment and field offsets, hence its pointer layout
// (field types are the same or views of the same layout).
func sameLayout(t, v reflect.Type) error {
	if t.Size() != v.Size() || t.Align() != v.Align() || t.NumField() != v.NumField() {
		return fmt.Errorf("view of %s has a different size or alignment", t)
	}
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Offset != v.Field(i).Offset {
			return fmt.Errorf("view of %s moves field %s", t, t.Field(i).Name)
		}
	}
	return nil
}

// rtypeOf returns the runtime type word of t, the first word of an
// interface holding a value of type t.
func rtypeOf(t reflect.Type) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}

// retype returns v, an interface, with its type word replaced by rtype: the
// same data seen as the view's type. The view has the original's layout,
// so the data word means the same (both are stored directly in the
// interface or both indirectly, by the same rule on the same shape).
func retype(v any, rtype unsafe.Pointer) any {
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[0] = rtype
	return v
}
