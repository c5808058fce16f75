package codec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"unsafe"
)

// encoding/json reports a value that refers to itself (a ring list, a
// struct whose interface field holds the struct) with an
// UnsupportedValueError once it is 1000 pointers deep. Slots and interface
// boxes re-enter json.Marshal with a fresh depth count, so json would never
// get there and the recursion would exhaust the stack, which kills the
// process. Before handing such a view to json, JSON therefore walks the
// value the way json will, and reports a cycle as json reports it.

// cycleKey names a pointer, map or slice on the current path, by type as
// json does: a struct and its first field share an address.
type cycleKey struct {
	t reflect.Type
	p unsafe.Pointer
	n int
}

// jsonCycles returns json's error for v if v, as json will encode it,
// refers to itself.
func jsonCycles(v any) error {
	w := cycleWalk{path: map[cycleKey]bool{}}
	return w.walk(reflect.ValueOf(v))
}

type cycleWalk struct {
	path map[cycleKey]bool
}

func (w *cycleWalk) enter(v reflect.Value, k cycleKey) (bool, error) {
	if w.path[k] {
		return false, &json.UnsupportedValueError{Value: v, Str: fmt.Sprintf("encountered a cycle via %s", v.Type())}
	}
	w.path[k] = true
	return true, nil
}

func (w *cycleWalk) walk(v reflect.Value) error {
	t := v.Type()
	if wrapperTypes[t] {
		return w.walkAny(v.Field(0))
	}
	if _, ok := slotIndex[t]; ok {
		if !v.CanAddr() {
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		return w.walk(slotOf(t).value(v.Addr().UnsafePointer()))
	}
	if jsonDialect.encMethods(t, true) {
		return nil // the type's own methods encode it
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if v.IsNil() {
			return nil
		}
		k := cycleKey{t: t, p: v.UnsafePointer()}
		if v.Kind() == reflect.Slice {
			k.n = v.Len()
		}
		if _, err := w.enter(v, k); err != nil {
			return err
		}
		defer delete(w.path, k)
		switch v.Kind() {
		case reflect.Pointer:
			return w.walk(v.Elem())
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				if err := w.walk(it.Value()); err != nil {
					return err
				}
			}
			return nil
		}
		return w.walkElems(v)
	case reflect.Array:
		return w.walkElems(v)
	case reflect.Interface:
		return w.walkAny(v)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				if err := w.walk(v.Field(i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w *cycleWalk) walkElems(v reflect.Value) error {
	if !mayRefer(v.Type().Elem()) {
		return nil
	}
	for i := 0; i < v.Len(); i++ {
		if err := w.walk(v.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

// walkAny walks what interface v holds, seen as the view JSON gives it.
func (w *cycleWalk) walkAny(v reflect.Value) error {
	if v.IsNil() {
		return nil
	}
	e := v.Elem()
	x, _, err := jsonStrip.encodableEntry(e.Interface())
	if err != nil {
		return err
	}
	return w.walk(reflect.ValueOf(x))
}

// mayRefer reports whether values of type t can hold pointers, maps,
// slices or interfaces, through which a value can refer to itself.
func mayRefer(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Struct:
		return true
	case reflect.Array:
		return mayRefer(t.Elem())
	}
	return false
}
