package codec

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/leancache/leancache/cacheprop"
)

// This file strips what interface-typed fields hold. gob writes such a value
// with its own, registered type, and that type cannot be swapped for a view
// (gob maps each registered name to one type). What can be done is to hand
// gob a copy in which every cached property is zero: gob leaves zero fields
// out, so the bytes carry none of the derived data, and a plain gob reader
// that registered the same type decodes it with those fields empty. Only
// the paths from the value's root to such interfaces are copied; the user's
// value is never written to.

// gobMaxIfaceDepth bounds the walk; gob itself would overflow its stack on
// a value with a cycle, which this walk reports as an error instead.
const gobMaxIfaceDepth = 10000

// ErrGobTooDeep is returned (wrapped) by [Gob]'s Marshal for a value whose
// interfaces lead, through pointers, deeper than 10,000 levels: in practice
// a cycle, on which plain gob would overflow its stack.
var ErrGobTooDeep = fmt.Errorf("codec: gob: value nested deeper than %d levels, or cyclic", gobMaxIfaceDepth)

var gobIfaceCache sync.Map // map[reflect.Type]bool

// gobReachesIface reports whether a value of type t can hold an interface
// in a place gob sends: exported fields, pointers, slices, arrays, map
// keys and values, never inside a type gob encodes with its own methods.
func gobReachesIface(t reflect.Type) bool {
	if r, ok := gobIfaceCache.Load(t); ok {
		return r.(bool)
	}
	r := gobWalkIface(t, map[reflect.Type]bool{})
	gobIfaceCache.Store(t, r)
	return r
}

func gobWalkIface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if gobMarshals(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return gobWalkIface(t.Elem(), seen)
	case reflect.Map:
		return gobWalkIface(t.Key(), seen) || gobWalkIface(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return false
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() && gobWalkIface(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// gobStripper makes the copy for one Marshal.
type gobStripper struct {
	depth int
}

// strip returns v, or a copy of v in which what interfaces hold has its
// cached properties zeroed, and whether it copied. Inside an interface
// (zero set), v's own cached properties are zeroed too; outside, the view
// already leaves them out.
func (s *gobStripper) strip(v reflect.Value, zero bool) (reflect.Value, bool, error) {
	t := v.Type()
	if !gobReachesIface(t) && !(zero && reachesCached(t)) || gobMarshals(t) {
		return v, false, nil
	}
	if s.depth++; s.depth > gobMaxIfaceDepth {
		return v, false, ErrGobTooDeep
	}
	defer func() { s.depth-- }()
	switch t.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return v, false, nil
		}
		e, changed, err := s.strip(v.Elem(), true)
		if err != nil || !changed {
			return v, false, err
		}
		c := reflect.New(t).Elem()
		c.Set(e)
		return c, true, nil
	case reflect.Pointer:
		if v.IsNil() {
			return v, false, nil
		}
		e, changed, err := s.strip(v.Elem(), zero)
		if err != nil || !changed {
			return v, false, err
		}
		c := reflect.New(t.Elem())
		c.Elem().Set(e)
		return c, true, nil
	case reflect.Struct:
		return s.stripStruct(v, zero)
	case reflect.Slice, reflect.Array:
		var c reflect.Value
		for i := 0; i < v.Len(); i++ {
			e, changed, err := s.strip(v.Index(i), zero)
			if err != nil {
				return v, false, err
			}
			if changed && !c.IsValid() {
				c = gobCopyList(v)
			}
			if changed {
				c.Index(i).Set(e)
			}
		}
		if c.IsValid() {
			return c, true, nil
		}
	case reflect.Map:
		var c reflect.Value
		for it := v.MapRange(); it.Next(); {
			e, changed, err := s.strip(it.Value(), zero)
			if err != nil {
				return v, false, err
			}
			if changed && !c.IsValid() {
				c = reflect.MakeMapWithSize(t, v.Len())
				for it2 := v.MapRange(); it2.Next(); {
					c.SetMapIndex(it2.Key(), it2.Value())
				}
			}
			if changed {
				c.SetMapIndex(it.Key(), e)
			}
		}
		if c.IsValid() {
			return c, true, nil
		}
	}
	return v, false, nil
}

// stripStruct copies the struct if a field it sends changes or, inside an
// interface, if a cached property holds a value.
func (s *gobStripper) stripStruct(v reflect.Value, zero bool) (reflect.Value, bool, error) {
	t := v.Type()
	var c reflect.Value
	copyOnce := func() {
		if !c.IsValid() {
			c = reflect.New(t).Elem()
			gobCopySent(c, v)
		}
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if cacheprop.IsCached(f) {
			// The copy leaves it zero; outside interfaces the view leaves it
			// out anyway. Reading it only to ask would race with a Lazy
			// being computed.
			if zero && !cacheprop.IsCell(f.Type) && !v.Field(i).IsZero() {
				copyOnce()
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		e, changed, err := s.strip(v.Field(i), zero)
		if err != nil {
			return v, false, err
		}
		if changed {
			copyOnce()
			c.Field(i).Set(e)
		}
	}
	if c.IsValid() {
		return c, true, nil
	}
	return v, false, nil
}

// gobCopySent copies into dst (settable, zero) what gob sends of src: of a
// struct held inline, only its exported fields that are not cached. The
// rest stays zero, and is never read: a cell may be in use by another
// goroutine, and a copy gob reads once has no use for it.
func gobCopySent(dst, src reflect.Value) {
	t := src.Type()
	switch {
	case t.Kind() == reflect.Struct && !gobMarshals(t):
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() && !cacheprop.IsCached(f) {
				gobCopySent(dst.Field(i), src.Field(i))
			}
		}
	case t.Kind() == reflect.Array && !gobMarshals(t):
		for i := 0; i < src.Len(); i++ {
			gobCopySent(dst.Index(i), src.Index(i))
		}
	default:
		dst.Set(src)
	}
}

// gobCopyList returns a copy of a slice or array, as gobCopySent.
func gobCopyList(v reflect.Value) reflect.Value {
	var c reflect.Value
	if v.Kind() == reflect.Array {
		c = reflect.New(v.Type()).Elem()
	} else {
		c = reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	}
	for i := 0; i < v.Len(); i++ {
		gobCopySent(c.Index(i), v.Index(i))
	}
	return c
}
