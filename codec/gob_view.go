package codec

import (
	"encoding"
	"encoding/gob"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/leancache/leancache/cacheprop"
)

// This file builds gob views: for a type that reaches cached properties, a
// type made with reflect.StructOf that has the same size, alignment, field
// offsets and pointer layout, in which every cached property (and every
// unexported field) is a blank field "_" that gob skips. A pointer to the
// user's value is handed to gob as a pointer to its view, so nothing is
// copied and gob writes what it would for the type without cached fields.

var (
	gobEncoderType      = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
)

var gobMarshalsCache sync.Map // map[reflect.Type]bool

// gobMarshals reports whether gob encodes t with t's own methods (GobEncode,
// then MarshalBinary), found the way gob looks for them: on t, on the types
// its pointers point to, and on *t. Such a type is left untouched: its
// methods, not its fields, decide what is written. Memoized: the interface
// walk of gob_iface.go asks for every value it meets.
func gobMarshals(t reflect.Type) bool {
	if r, ok := gobMarshalsCache.Load(t); ok {
		return r.(bool)
	}
	r := gobFindMarshaler(t)
	gobMarshalsCache.Store(t, r)
	return r
}

func gobFindMarshaler(t reflect.Type) bool {
	for rt := t; ; rt = rt.Elem() {
		if rt.Implements(gobEncoderType) || rt.Implements(binaryMarshalerType) {
			return true
		}
		if rt.Kind() != reflect.Pointer {
			break
		}
	}
	if t.Kind() != reflect.Pointer {
		pt := reflect.PointerTo(t)
		return pt.Implements(gobEncoderType) || pt.Implements(binaryMarshalerType)
	}
	return false
}

// errGobRecursive makes the view builder give up on a type that contains
// itself: StructOf cannot build recursive types, so the whole type takes the
// copying route of gob_flat.go instead.
var errGobRecursive = errors.New("recursive type")

// blankPkgPath is the package path StructOf needs for the blank fields.
const blankPkgPath = "github.com/leancache/leancache/codec"

// gobViewBuilder builds the views of one root type.
type gobViewBuilder struct {
	root     reflect.Type
	building map[reflect.Type]bool // structs on the current path
	done     map[reflect.Type]reflect.Type
}

func newGobViewBuilder(root reflect.Type) *gobViewBuilder {
	return &gobViewBuilder{root: root, building: map[reflect.Type]bool{}, done: map[reflect.Type]reflect.Type{}}
}

func (b *gobViewBuilder) unsupported(path, reason string) error {
	return &UnsupportedTypeError{Codec: "gob", Type: b.root, Path: path, Reason: reason}
}

// view returns t's view; t itself when nothing below it needs stripping.
func (b *gobViewBuilder) view(t reflect.Type, path string) (reflect.Type, error) {
	if !reachesCached(t) || gobMarshals(t) {
		return t, nil
	}
	if v, ok := b.done[t]; ok {
		return v, nil
	}
	var v reflect.Type
	var err error
	switch t.Kind() {
	case reflect.Pointer:
		var e reflect.Type
		if e, err = b.view(t.Elem(), path); err == nil {
			v = reflect.PointerTo(e)
		}
	case reflect.Slice:
		var e reflect.Type
		if e, err = b.view(t.Elem(), path+"[]"); err == nil {
			v = reflect.SliceOf(e)
		}
	case reflect.Array:
		var e reflect.Type
		if e, err = b.view(t.Elem(), path+"[]"); err == nil {
			v = reflect.ArrayOf(t.Len(), e)
		}
	case reflect.Map:
		if reachesCached(t.Key()) {
			return nil, b.unsupported(path, fmt.Sprintf("map key type %v holds cached properties", t.Key()))
		}
		var e reflect.Type
		if e, err = b.view(t.Elem(), path+"[]"); err == nil {
			v = reflect.MapOf(t.Key(), e)
		}
	case reflect.Struct:
		v, err = b.structView(t, path)
	default:
		v = t
	}
	if err != nil {
		return nil, err
	}
	b.done[t] = v
	return v, nil
}

// structView keeps each field gob sends under its name (embedded fields
// become plain fields named after their type, which is how gob sends them
// anyway, and which avoids StructOf's embedding traps) and blanks the rest.
// Blank fields keep their types, so the pointer layout is the user's.
func (b *gobViewBuilder) structView(t reflect.Type, path string) (reflect.Type, error) {
	if b.building[t] {
		return nil, errGobRecursive
	}
	b.building[t] = true
	defer delete(b.building, t)

	fields := make([]reflect.StructField, t.NumField())
	sent := 0
	for i := range fields {
		f := t.Field(i)
		nf := reflect.StructField{Name: f.Name, Type: f.Type}
		switch {
		case cacheprop.IsCached(f) || !f.IsExported() || gobEmptied(f.Type):
			nf.Name, nf.PkgPath = "_", blankPkgPath
		default:
			vt, err := b.view(f.Type, path+"."+f.Name)
			if err != nil {
				return nil, err
			}
			nf.Type = vt
			if gobSends(vt) {
				sent++
			}
		}
		fields[i] = nf
	}
	if sent == 0 && t.NumField() > 0 {
		// gob refuses a struct with fields but none it can send; the type
		// without cached fields would be an empty struct, which it accepts.
		return nil, b.unsupported(path, fmt.Sprintf("%v has no data fields left once cached properties are removed", t))
	}
	v := reflect.StructOf(fields)
	if v.Size() != t.Size() || v.Align() != t.Align() {
		return nil, b.unsupported(path, fmt.Sprintf("view of %v has another size or alignment", t))
	}
	for i := range fields {
		if v.Field(i).Offset != t.Field(i).Offset {
			return nil, b.unsupported(path+"."+t.Field(i).Name, "view field at another offset")
		}
	}
	return v, nil
}

// gobEmptied reports whether t is (a pointer to) a struct with fields of
// which gob would send none once the cached ones are gone. gob refuses such
// a struct, but the type without cached fields has an empty struct there,
// which gob accepts and which carries nothing: the field is left out.
func gobEmptied(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.NumField() == 0 || !reachesCached(t) || gobMarshals(t) {
		return false
	}
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() && !cacheprop.IsCached(f) && gobSends(f.Type) {
			return false
		}
	}
	return true
}

// gobSends mirrors gob's rule for exported fields: chans and funcs, and
// pointers to them, are not sent.
func gobSends(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() != reflect.Chan && t.Kind() != reflect.Func
}
