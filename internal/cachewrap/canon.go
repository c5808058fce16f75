package cachewrap

import (
	"fmt"
	"go/types"
	"reflect"
	"strings"
)

// canon decides, from static types alone, whether encoding/json writes every
// value of a type canonically: two values that differ never encode alike
// (keys), and decoding gives back what was encoded (results in memcached).
type canon struct {
	qual types.Qualifier
	// decode also requires the way back: unmarshalers beside marshalers.
	decode bool
	// visiting breaks the walk of recursive types: a type in progress is
	// assumed fine, and any fault is reported where it is first met.
	visiting map[types.Type]bool
}

// Method sets the json and encoding packages look for, built here so that
// the loaded program need not import them.
var (
	errorType       = types.Universe.Lookup("error").Type()
	byteSlice       = types.NewSlice(types.Typ[types.Byte])
	jsonMarshaler   = methodIface("MarshalJSON", nil, byteSlice, errorType)
	textMarshaler   = methodIface("MarshalText", nil, byteSlice, errorType)
	binaryMarshaler = methodIface("MarshalBinary", nil, byteSlice, errorType)
	jsonUnmarshaler = methodIface("UnmarshalJSON", byteSlice, nil, errorType)
	textUnmarshaler = methodIface("UnmarshalText", byteSlice, nil, errorType)
)

func methodIface(name string, param types.Type, results ...types.Type) *types.Interface {
	var params []*types.Var
	if param != nil {
		params = append(params, types.NewParam(0, nil, "", param))
	}
	var res []*types.Var
	for _, r := range results {
		if r != nil {
			res = append(res, types.NewParam(0, nil, "", r))
		}
	}
	sig := types.NewSignatureType(nil, nil, nil, types.NewTuple(params...), types.NewTuple(res...), false)
	it := types.NewInterfaceType([]*types.Func{types.NewFunc(0, nil, name, sig)}, nil)
	it.Complete()
	return it
}

// implements reports whether t, or *t when addressable, has the methods of it.
func implements(t types.Type, it *types.Interface, addressable bool) bool {
	if types.Implements(t, it) {
		return true
	}
	if _, isPtr := t.Underlying().(*types.Pointer); !isPtr && addressable && !types.IsInterface(t) {
		return types.Implements(types.NewPointer(t), it)
	}
	return false
}

// selfEncoding reports whether t encodes itself, which the generator trusts.
func (c *canon) selfEncoding(t types.Type, addressable bool) bool {
	if c.decode {
		// Unmarshal always decodes through a pointer.
		return implements(t, jsonMarshaler, addressable) && implements(t, jsonUnmarshaler, true) ||
			implements(t, textMarshaler, addressable) && implements(t, textUnmarshaler, true)
	}
	return implements(t, jsonMarshaler, addressable) || implements(t, textMarshaler, addressable)
}

// why returns "" if every value of t (reached addressably or not) is written
// canonically by encoding/json, and otherwise the reason it is not.
func (c *canon) why(t types.Type, addressable bool) string {
	if c.visiting == nil {
		c.visiting = map[types.Type]bool{}
	}
	if c.selfEncoding(t, addressable) {
		return c.promoted(t, addressable, "MarshalJSON", "MarshalText")
	}
	if _, ok := t.(*types.Named); ok {
		if c.visiting[t] {
			return ""
		}
		c.visiting[t] = true
		defer delete(c.visiting, t)
	}
	if r := hopeless(t, c.qual); r != "" {
		return r
	}
	name := types.TypeString(t, c.qual)
	switch u := t.Underlying().(type) {
	case *types.Basic:
		if u.Kind() == types.UntypedNil || u.Kind() == types.Invalid {
			return name + " is not a valid argument type"
		}
		return ""
	case *types.Pointer:
		return c.why(u.Elem(), true)
	case *types.Slice:
		return c.why(u.Elem(), true)
	case *types.Array:
		return c.why(u.Elem(), addressable)
	case *types.Map:
		if r := c.mapKey(u.Key()); r != "" {
			return r
		}
		// Map values are never addressable.
		return c.why(u.Elem(), false)
	case *types.Struct:
		return c.structWhy(t, u, addressable)
	case *types.Interface:
		if tp, ok := t.(*types.TypeParam); ok {
			return c.typeParamWhy(tp, addressable)
		}
		return name + " is an interface: JSON would lose the dynamic type of its value"
	}
	return name + " is not supported"
}

// promoted returns why a struct that encodes itself only through a method
// promoted from an embedded field is not canonical: JSON then writes that
// field alone, as with struct{ time.Time; Name string }.
func (c *canon) promoted(t types.Type, addressable bool, methods ...string) string {
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return ""
	}
	for _, name := range methods {
		obj, index, _ := types.LookupFieldOrMethod(t, addressable, nil, name)
		if _, isFunc := obj.(*types.Func); !isFunc || len(index) < 2 {
			continue
		}
		via := st.Field(index[0])
		for i := 0; i < st.NumFields(); i++ {
			if i != index[0] && !isZeroSize(st.Field(i).Type()) {
				return fmt.Sprintf("%s has %s only through its embedded %s, so JSON writes that field alone",
					types.TypeString(t, c.qual), name, via.Name())
			}
		}
		return ""
	}
	return ""
}

func (c *canon) mapKey(k types.Type) string {
	if b, ok := k.Underlying().(*types.Basic); ok && b.Info()&(types.IsString|types.IsInteger) != 0 {
		return ""
	}
	if _, ok := k.(*types.TypeParam); !ok && types.Implements(k, textMarshaler) {
		if !c.decode || implements(k, textUnmarshaler, true) {
			return ""
		}
	}
	return "map key " + types.TypeString(k, c.qual) + " is neither a string, an integer nor a TextMarshaler"
}

// typeParamWhy accepts a type parameter when every term of its constraint's
// type set is canonical: ~string | ~int64 is, any and comparable are not,
// since they admit interfaces and structs with unexported fields.
func (c *canon) typeParamWhy(tp *types.TypeParam, addressable bool) string {
	terms, ok := constraintTerms(tp.Constraint())
	if !ok || len(terms) == 0 {
		return fmt.Sprintf("type parameter %s (%s) admits types whose JSON is not faithful; //cachewrap:trust accepts it",
			tp.Obj().Name(), types.TypeString(tp.Constraint(), c.qual))
	}
	for _, term := range terms {
		if r := c.why(term, addressable); r != "" {
			return fmt.Sprintf("type parameter %s admits %s: %s", tp.Obj().Name(), types.TypeString(term, c.qual), r)
		}
	}
	return ""
}

// constraintTerms lists the types a constraint's unions name; ok is false
// when some embedded element allows any type.
func constraintTerms(constraint types.Type) (terms []types.Type, ok bool) {
	it, isIface := constraint.Underlying().(*types.Interface)
	if !isIface {
		return []types.Type{constraint}, true
	}
	if it.IsMethodSet() {
		return nil, false
	}
	for i := 0; i < it.NumEmbeddeds(); i++ {
		switch e := it.EmbeddedType(i).(type) {
		case *types.Union:
			for j := 0; j < e.Len(); j++ {
				sub, ok := constraintTerms(e.Term(j).Type())
				if !ok {
					return nil, false
				}
				terms = append(terms, sub...)
			}
		default:
			if types.IsInterface(e) {
				sub, ok := constraintTerms(e)
				if !ok {
					continue // a method-only element narrows nothing
				}
				terms = append(terms, sub...)
			} else {
				terms = append(terms, e)
			}
		}
	}
	return terms, true
}

func (c *canon) structWhy(t types.Type, st *types.Struct, addressable bool) string {
	return c.fields(types.TypeString(t, c.qual), st, addressable, map[string]bool{})
}

// fields walks a struct's fields as encoding/json does, flattening embedded
// structs, and reports the first field JSON would leave out or lose. Cached
// properties are skipped: codec.JSON, which writes keys, and the store's
// codec leave them out, and leaving out derived data loses nothing.
func (c *canon) fields(owner string, st *types.Struct, addressable bool, seen map[string]bool) string {
	for i := 0; i < st.NumFields(); i++ {
		f := st.Field(i)
		if isCachedProperty(st.Tag(i), f.Type()) {
			continue // the codecs leave it out (reach.go)
		}
		tag, hasTag := reflect.StructTag(st.Tag(i)).Lookup("json")
		jsonName, _, _ := strings.Cut(tag, ",")
		if hasTag && tag == "-" {
			return fmt.Sprintf("field %s of %s is tagged json:\"-\", so JSON leaves it out", f.Name(), owner)
		}
		if f.Name() == "_" || isZeroSize(f.Type()) {
			continue // holds nothing to lose
		}
		ft := f.Type()
		if f.Embedded() && jsonName == "" {
			et := ft
			if p, ok := et.Underlying().(*types.Pointer); ok {
				et = p.Elem()
			}
			if est, ok := et.Underlying().(*types.Struct); ok && !c.selfEncoding(ft, addressable) {
				// JSON flattens an embedded struct into its parent.
				if c.visiting[et] {
					continue
				}
				if n, ok := et.(*types.Named); ok {
					c.visiting[n] = true
					r := c.fields(types.TypeString(et, c.qual), est, addressable || ft != et, seen)
					delete(c.visiting, n)
					if r != "" {
						return r
					}
					continue
				}
				if r := c.fields(owner, est, addressable || ft != et, seen); r != "" {
					return r
				}
				continue
			}
		}
		if !f.Exported() {
			return fmt.Sprintf("field %s of %s is unexported, so JSON leaves it out", f.Name(), owner)
		}
		key := f.Name()
		if jsonName != "" {
			key = jsonName
		}
		if seen[key] {
			return fmt.Sprintf("two fields of %s are named %s in JSON, which then drops one", owner, key)
		}
		seen[key] = true
		if r := c.why(ft, addressable); r != "" {
			return r
		}
	}
	return ""
}

func isZeroSize(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			if !isZeroSize(u.Field(i).Type()) {
				return false
			}
		}
		return true
	case *types.Array:
		return u.Len() == 0 || isZeroSize(u.Elem())
	}
	return false
}

// hopeless returns why no value of t can ever be encoded, even trusted: JSON
// fails on every func, channel and complex number, so such a call would never
// be cached.
func hopeless(t types.Type, qual types.Qualifier) string {
	name := types.TypeString(t, qual)
	switch u := t.Underlying().(type) {
	case *types.Signature:
		return name + " is a func, which has no canonical encoding"
	case *types.Chan:
		return name + " is a channel, which has no canonical encoding"
	case *types.Basic:
		if u.Kind() == types.UnsafePointer {
			return name + " is an unsafe pointer"
		}
		if u.Info()&types.IsComplex != 0 {
			return name + " is complex, which JSON cannot encode"
		}
	}
	return ""
}
