package cachewrap

import (
	"go/types"
	"reflect"

	"github.com/leancache/leancache/cacheprop"
)

// The codecs leave every cached property out of what they write, keys and
// stored results alike, so the canonical form skips such fields: derived
// data neither tells two calls apart nor needs to survive memcached. Which
// fields those are is cacheprop's rule (cacheprop.IsCached). The generator
// sees go/types, not reflect, so this file is the one place that carries the
// rule over, asking cacheprop wherever it can rather than restating it.

// property is the interface cacheprop.IsCell tests for, rebuilt for go/types
// from reflect's view of it: the loaded program need not import cacheprop
// (an argument's type may reach a cell through another package), and go/types
// matches an unexported method by its package's path, not its object.
var property = propertyInterface(reflect.TypeFor[cacheprop.Property]())

func propertyInterface(t reflect.Type) *types.Interface {
	pkg := types.NewPackage(t.PkgPath(), "cacheprop")
	var methods []*types.Func
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		if m.Type.NumIn() != 0 || m.Type.NumOut() != 0 {
			// TestIsCellAgreesWithCacheprop fails first; this says why.
			panic("cachewrap: cacheprop.Property." + m.Name + " has parameters or results, which isCell does not model")
		}
		sig := types.NewSignatureType(nil, nil, nil, nil, nil, false)
		methods = append(methods, types.NewFunc(0, pkg, m.Name, sig))
	}
	it := types.NewInterfaceType(methods, nil)
	it.Complete()
	return it
}

// noCell is a field type that is no cell, so that IsCached answers for the
// tag alone.
var noCell = reflect.TypeFor[struct{}]()

// isCachedProperty reports whether a struct field with this tag and type is
// a cached property.
func isCachedProperty(tag string, t types.Type) bool {
	return cacheprop.IsCached(reflect.StructField{Tag: reflect.StructTag(tag), Type: noCell}) || isCell(t)
}

// isCell is cacheprop.IsCell for go/types: a struct type whose pointer
// implements cacheprop.Property.
func isCell(t types.Type) bool {
	if _, ok := t.Underlying().(*types.Struct); !ok {
		return false
	}
	return types.Implements(types.NewPointer(t), property)
}
