package session

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
)

// A Codec encodes each registered value at its own type, where every codec
// strips cached properties and resets them on decode. What sits behind an
// interface is left to the codec's handling of any, which cannot bring a
// struct's type back (JSON, msgpack, CBOR) or does not strip it (gob). This
// file finds such values before they are encoded, so a cached property can
// never leave through a session, whichever codec is chosen.

// reach says what a value of a type can hold.
type reach struct {
	// cached: a cached property, at the type itself (no interface
	// between), as package codec tells it.
	cached bool
	// iface: an interface, through the fields a codec writes (exported or
	// embedded, and not cached).
	iface bool
}

// reachCache memoizes reachOf.
var reachCache sync.Map // map[reflect.Type]reach

func reachOf(t reflect.Type) reach {
	if r, ok := reachCache.Load(t); ok {
		return r.(reach)
	}
	r := reach{cached: codec.ReachesCachedProperties(t), iface: reachesIface(t, map[reflect.Type]bool{})}
	reachCache.Store(t, r)
	return r
}

// reachesIface reports whether t reaches an interface; seen breaks
// cycles, as a type already on the path adds nothing new.
func reachesIface(t reflect.Type, seen map[reflect.Type]bool) bool {
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return reachesIface(t.Elem(), seen)
	case reflect.Map:
		return reachesIface(t.Key(), seen) || reachesIface(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return false
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && !cacheprop.IsCached(f) && reachesIface(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// cachedBehindInterface returns the path and type of the first value
// inside v that is held by an interface and whose type has cached
// properties. behind says v itself is held by an interface.
func cachedBehindInterface(v reflect.Value, behind bool) (path string, t reflect.Type, found bool) {
	w := ifaceWalk{seen: map[ptrKey]bool{}}
	if behind && v.IsValid() && reachOf(v.Type()).cached {
		return "", v.Type(), true
	}
	w.walk(v, "")
	return w.path, w.typ, w.typ != nil
}

type ptrKey struct {
	p uintptr
	t reflect.Type
}

type ifaceWalk struct {
	seen map[ptrKey]bool // pointers already followed, against cycles
	path string
	typ  reflect.Type
}

// walk stops at the first finding; it looks only where a type can hold an
// interface.
func (w *ifaceWalk) walk(v reflect.Value, path string) {
	if w.typ != nil || !v.IsValid() || !reachOf(v.Type()).iface {
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if reachOf(e.Type()).cached {
			w.path, w.typ = path, e.Type()
			return
		}
		w.walk(e, path)
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		k := ptrKey{v.Pointer(), v.Type()}
		if w.seen[k] {
			return
		}
		w.seen[k] = true
		w.walk(v.Elem(), path)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if (!f.IsExported() && !f.Anonymous) || cacheprop.IsCached(f) {
				continue
			}
			w.walk(v.Field(i), path+"."+f.Name)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			w.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			p := fmt.Sprintf("%s[%v]", path, it.Key())
			w.walk(it.Key(), p)
			w.walk(it.Value(), p)
		}
	}
}
