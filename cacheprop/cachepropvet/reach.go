package cachepropvet

import (
	"go/types"
	"reflect"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"

	"github.com/leancache/leancache/internal/cachepropast"
)

// route is one way a value leaves the program that the analyzer follows: an
// encoder other than leancache's codecs, or a copy by value.
type route int

const (
	viaJSON route = iota
	viaGob
	viaMsgpack
	viaCBOR
	// byValue is a copy of the value itself, as a Store[T] of a struct T
	// makes on every Get: what matters then is a cell held in place, not
	// behind a pointer, exported or not.
	byValue
	numRoutes
)

// encoder describes how each encoder route picks the fields it writes.
var encoders = [...]struct {
	name string
	// codec is the leancache codec that writes the same format, stripped.
	codec string
	// tags are the struct tag keys the encoder reads, first found wins.
	tags []string
	// marshalers are the methods that make a type encode itself: its
	// methods then decide what is written, not its fields.
	marshalers []string
}{
	viaJSON:    {"encoding/json", "codec.JSON", []string{"json"}, []string{"MarshalJSON", "MarshalText"}},
	viaGob:     {"encoding/gob", "codec.Gob", nil, []string{"GobEncode", "MarshalBinary"}},
	viaMsgpack: {"msgpack", "codec.Msgpack", []string{"msgpack"}, []string{"EncodeMsgpack", "MarshalMsgpack", "MarshalBinary", "MarshalText"}},
	viaCBOR:    {"cbor", "codec.CBOR", []string{"cbor", "json"}, []string{"MarshalCBOR", "MarshalBinary"}},
}

// leaksFact is exported for a package-level named type that reaches a cached
// property, so that packages importing it need not walk it again (and
// could not see its tags and fields through a cut such as a build cache
// entry). Path[r] is the field path, relative to the type, by which route r
// reaches one; empty when Leaks[r] is false, and empty too when the type is
// itself a cell.
type leaksFact struct {
	Leaks [numRoutes]bool
	Path  [numRoutes]string
}

// AFact marks leaksFact as an analysis fact.
func (*leaksFact) AFact() {}

func (f *leaksFact) String() string {
	var b strings.Builder
	b.WriteString("leaks")
	names := [numRoutes]string{"json", "gob", "msgpack", "cbor", "value"}
	for r := range numRoutes {
		if f.Leaks[r] {
			b.WriteString(" " + names[r] + ":" + f.Path[r])
		}
	}
	return b.String()
}

// reach is the outcome of walking a type for one route.
type reach struct {
	leaks bool
	path  string // relative to the type walked: ".Items[].Total"
}

// walker walks types for the package under analysis. It memoizes per route
// (typeutil.Map treats identical types as one key) every leak it finds, and
// a type that does not leak only once its walk is complete: inside a cycle,
// a type met again counts as no leak until the outer walk ends.
type walker struct {
	pass     *analysis.Pass
	memo     [numRoutes]typeutil.Map
	visiting [numRoutes]typeutil.Map
	depth    int
}

// walk reports whether a value of type t reaches a cached property when it
// takes route r.
func (w *walker) walk(t types.Type, r route) reach {
	t = types.Unalias(t)
	if v := w.memo[r].At(t); v != nil {
		return v.(reach)
	}
	if w.visiting[r].At(t) != nil {
		return reach{}
	}
	w.visiting[r].Set(t, true)
	w.depth++
	res := w.walk1(t, r)
	w.depth--
	w.visiting[r].Delete(t)
	if res.leaks || w.depth == 0 {
		w.memo[r].Set(t, res)
	}
	return res
}

func (w *walker) walk1(t types.Type, r route) reach {
	if cachepropast.IsCell(t) {
		return reach{leaks: true}
	}
	switch t := t.(type) {
	case *types.Named:
		if r != byValue && hasMarshaler(t, encoders[r].marshalers) {
			return reach{}
		}
		if t.TypeArgs().Len() == 0 && t.Obj().Pkg() != nil && t.Obj().Pkg() != w.pass.Pkg {
			// Another package's type: its analysis said, through a fact.
			var f leaksFact
			if w.pass.ImportObjectFact(t.Obj(), &f) {
				return reach{f.Leaks[r], f.Path[r]}
			}
			if t.Obj().Parent() == t.Obj().Pkg().Scope() {
				return reach{}
			}
		}
		return w.walk(t.Underlying(), r)
	case *types.Pointer:
		if r == byValue {
			return reach{}
		}
		return w.walk(t.Elem(), r)
	case *types.Slice:
		if r == byValue {
			return reach{}
		}
		return w.elem(t.Elem(), r, "[]")
	case *types.Array:
		return w.elem(t.Elem(), r, "[]")
	case *types.Map:
		if r == byValue {
			return reach{}
		}
		if res := w.elem(t.Key(), r, "[key]"); res.leaks {
			return res
		}
		return w.elem(t.Elem(), r, "[]")
	case *types.Struct:
		for i := range t.NumFields() {
			f := t.Field(i)
			if r != byValue && !writes(f, t.Tag(i), r) {
				continue
			}
			if r == byValue {
				if cachepropast.IsCell(f.Type()) {
					return reach{true, "." + f.Name()}
				}
			} else if cachepropast.IsCached(t.Tag(i), f.Type()) {
				return reach{true, "." + f.Name()}
			}
			if res := w.walk(f.Type(), r); res.leaks {
				return reach{true, "." + f.Name() + res.path}
			}
		}
	}
	return reach{}
}

func (w *walker) elem(t types.Type, r route, step string) reach {
	res := w.walk(t, r)
	if res.leaks {
		res.path = step + res.path
	}
	return res
}

// writes reports whether the encoder of route r writes field f: every one
// of them skips unexported fields (json, msgpack and cbor still descend into
// an unexported embedded struct, gob does not) and fields its tag names "-".
func writes(f *types.Var, tag string, r route) bool {
	if !f.Exported() && (!f.Embedded() || r == viaGob) {
		return false
	}
	return !skippedByTag(tag, encoders[r].tags)
}

// skippedByTag reports whether the first of keys the tag has says "-".
func skippedByTag(tag string, keys []string) bool {
	for _, k := range keys {
		if v, ok := reflect.StructTag(tag).Lookup(k); ok {
			return v == "-"
		}
	}
	return false
}

// hasMarshaler reports whether t or *t has one of the methods.
func hasMarshaler(t *types.Named, methods []string) bool {
	for _, m := range methods {
		if obj, _, _ := types.LookupFieldOrMethod(types.NewPointer(t), true, nil, m); obj != nil {
			if _, ok := obj.(*types.Func); ok {
				return true
			}
		}
	}
	return false
}

// exportFacts records, for every package-level named type of the package
// that reaches a cached property by some route, how it does.
func (w *walker) exportFacts() {
	scope := w.pass.Pkg.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() {
			continue
		}
		var f leaksFact
		any := false
		for r := range numRoutes {
			res := w.walk(tn.Type(), r)
			f.Leaks[r], f.Path[r] = res.leaks, res.path
			any = any || res.leaks
		}
		if any {
			w.pass.ExportObjectFact(tn, &f)
		}
	}
}
