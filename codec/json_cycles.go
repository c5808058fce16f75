package codec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"unsafe"
)

// encoding/json reports a value that refers to itself (a ring list, a
// struct whose interface field holds the struct) with an
// UnsupportedValueError once it is 1000 pointers deep. Slots and interface
// boxes re-enter json.Marshal with a fresh depth count, so json would never
// get there and the recursion would exhaust the stack, which kills the
// process. Every box therefore walks what it is about to encode the way
// json will, and reports a cycle as json reports it; slots are not walked
// but spliced (see marshalSpliced), which keeps the slots on the path and
// reports one met again inside itself. A value that crosses no box costs
// no walk at all.

// cycleKey names a pointer, map or slice on the current path, by type as
// json does: a struct and its first field share an address.
type cycleKey struct {
	t reflect.Type
	p unsafe.Pointer
	n int
}

// jsonCycles returns json's error for v, a value as JSON hands it to json,
// if v refers to itself.
//
// Every such cycle passes through a slot or an interface box (a value can
// only refer to itself through a recursive type or an interface), so the
// walk skips what cannot reach one; and like json it only starts keeping
// the pointers on its path once it is deep enough for a cycle to be likely.
func jsonCycles(v any) error {
	if v == nil {
		return nil
	}
	w := cycleWalk{}
	return w.walk(reflect.ValueOf(v))
}

// cycleDepth is the nesting depth from which the walk keeps track of the
// pointers on its path (encoding/json's startDetectingCyclesAfter).
const cycleDepth = 1000

type cycleWalk struct {
	depth int
	path  map[cycleKey]bool
}

// A cycleType is what the walk needs to know about a view type.
type cycleType struct {
	skip   bool      // holds no slot or box, or is encoded by its own methods
	box    bool      // an interface box
	slot   *slotInfo // a slot
	fields []int     // of a struct: the encoded fields that may hold one
}

var cycleTypes sync.Map // map[reflect.Type]*cycleType

func cycleTypeOf(t reflect.Type) *cycleType {
	if c, ok := cycleTypes.Load(t); ok {
		return c.(*cycleType)
	}
	c := &cycleType{box: wrapperTypes[t], slot: slotOf(t)}
	if !c.box && c.slot == nil {
		c.skip = t.Kind() != reflect.Interface && !holdsWrapper(t, map[reflect.Type]bool{}) ||
			jsonDialect.encMethods(t, true)
		if !c.skip && t.Kind() == reflect.Struct {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if f.IsExported() && (f.Type.Kind() == reflect.Interface || holdsWrapper(f.Type, map[reflect.Type]bool{})) {
					c.fields = append(c.fields, i)
				}
			}
		}
	}
	cycleTypes.Store(t, c)
	return c
}

func (w *cycleWalk) walk(v reflect.Value) error {
	c := cycleTypeOf(v.Type())
	switch {
	case c.skip:
		return nil
	case c.box:
		return w.walkAny(v.Field(0))
	case c.slot != nil:
		if !v.CanAddr() {
			cp := reflect.New(v.Type()).Elem()
			cp.Set(v)
			v = cp
		}
		return w.walk(c.slot.value(v.Addr().UnsafePointer()))
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if v.IsNil() {
			return nil
		}
		w.depth++
		defer func() { w.depth-- }()
		if w.depth > cycleDepth {
			k := cycleKey{t: v.Type(), p: v.UnsafePointer()}
			if v.Kind() == reflect.Slice {
				k.n = v.Len()
			}
			if w.path == nil {
				w.path = map[cycleKey]bool{}
			}
			if w.path[k] {
				return &json.UnsupportedValueError{Value: v, Str: fmt.Sprintf("encountered a cycle via %s", v.Type())}
			}
			w.path[k] = true
			defer delete(w.path, k)
		}
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
		for _, i := range c.fields {
			if err := w.walk(v.Field(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *cycleWalk) walkElems(v reflect.Value) error {
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
	x, err := jsonStrip.encodable(v.Elem().Interface())
	if err != nil {
		return err
	}
	return w.walk(reflect.ValueOf(x))
}
