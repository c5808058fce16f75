package codec

import (
	"reflect"

	"github.com/leancache/leancache/cacheprop"
)

// This file makes a view zero-test as the type without the cached fields
// does. encoding/json's and cbor's omitzero, on a type without an IsZero
// method, is reflect.Value.IsZero, which walks a struct field by field and
// skips blank fields ("_"): a view names its cached properties "_", so
// that a struct whose only non-zero fields are cached ones is zero, as its
// twin is. reflect takes a shortcut, though, for a comparable struct: it
// compares the value with the zero value by the type's equality, and the
// equality reflect.StructOf builds (unlike the compiler's) compares blank
// fields too. So a view that would be comparable is made incomparable,
// without a change of layout, by giving one cached field a type that holds
// a zero-size array of funcs: nothing reads a cached field of a view.

// noEqual is a zero-size type that no struct holding it can be compared
// by.
type noEqual [0]func()

var noEqualType = reflect.TypeFor[noEqual]()

// blankTag returns the tag a view of t gives its cached fields once blank,
// nil when they keep a name. cbor reads struct options (toarray) from the
// field t.FieldByName("_") finds: the first blank field, or one promoted
// from an embedded struct. Every blank field gets the tag of that one. A
// promoted struct (flat) that has such a field keeps its cached fields
// named, lest blank fields at one depth hide it from the outer struct's
// FieldByName; its zero test then counts them, and an omitzero over it is
// refused (zeroTestExact).
func blankTag(t reflect.Type, flat bool) *reflect.StructTag {
	f, ok := t.FieldByName("_")
	switch {
	case ok && flat:
		return nil
	case ok:
		return &f.Tag
	}
	var none reflect.StructTag
	return &none
}

// incomparable makes the struct of fields, the view of t, incomparable
// when it would be comparable, by giving a blank cached field the type
// struct{_ noEqual; V T}: the same pointer layout, and the same size when
// the field starts on a pointer boundary and its room up to the next field
// rounds to that size. It leaves fields as they are when no cached field
// has such room; zeroTestExact then finds the view comparable.
func incomparable(t reflect.Type, fields []reflect.StructField) {
	for _, f := range fields {
		if !f.Type.Comparable() {
			return
		}
	}
	if t.Align() < noEqualType.Align() {
		return
	}
	for i, f := range fields {
		if f.Name != "_" || !cacheprop.IsCached(t.Field(i)) {
			continue
		}
		off, end := t.Field(i).Offset, t.Size()
		if i+1 < len(fields) {
			end = t.Field(i + 1).Offset
		}
		if off%uintptr(noEqualType.Align()) != 0 {
			continue
		}
		host := reflect.StructOf([]reflect.StructField{
			{Name: "_", PkgPath: pkgPath, Type: noEqualType},
			{Name: "V", Type: f.Type},
		})
		if host.Size() == end-off {
			fields[i].Type = host
			return
		}
	}
}

// hosted returns the type a cached field's host type (see incomparable)
// holds, or v itself when v is no host.
func hosted(v reflect.Type) reflect.Type {
	if v.Kind() == reflect.Struct && v.NumField() == 2 && v.Field(0).Type == noEqualType {
		return v.Field(1).Type
	}
	return v
}

// zeroTestExact reports whether reflect.Value.IsZero gives the same answer
// on a value of type t seen as its view v as on the same value in the type
// without the cached fields.
func zeroTestExact(t, v reflect.Type) bool {
	if t == v {
		// Unchanged (it reaches no cached field, or the library encodes
		// it by its own methods): its cached fields count if it holds
		// any by value.
		return !cachedInline(t)
	}
	switch {
	case t.Kind() == reflect.Array && v.Kind() == reflect.Array:
		return t.Len() == 0 || zeroTestExact(t.Elem(), v.Elem())
	case t.Kind() == reflect.Struct && v.Kind() == reflect.Struct:
		if v.Comparable() {
			for i := 0; i < v.NumField(); i++ {
				if f := v.Field(i); f.Name == "_" && f.Type.Size() > 0 {
					return false // reflect's shortcut compares it
				}
			}
		}
		for i := 0; i < t.NumField(); i++ {
			if cacheprop.IsCached(t.Field(i)) {
				if v.Field(i).Name != "_" {
					return false
				}
				continue
			}
			if !zeroTestExact(t.Field(i).Type, v.Field(i).Type) {
				return false
			}
		}
	}
	// Otherwise v is a slot or a box standing for a pointer, slice, map or
	// interface, whose zero test is the same word's.
	return true
}

// cachedInline reports whether a value of type t holds a cached property
// in its own memory (not behind a pointer, slice, map or interface).
func cachedInline(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return t.Len() > 0 && cachedInline(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); cacheprop.IsCached(f) || cachedInline(f.Type) {
				return true
			}
		}
	}
	return false
}
