// Package cachepropast carries cacheprop's rule for what is a cached property
// (cacheprop.IsCached and cacheprop.IsCell, written for reflect) over to
// go/types, for the tools that read source rather than run it: the cachewrap
// generator and the cachepropvet analyzer. It asks cacheprop wherever it can
// rather than restating the rule, so the two views cannot drift apart
// unnoticed; its tests check them against each other.
package cachepropast

import (
	"go/types"
	"reflect"

	"github.com/leancache/leancache/cacheprop"
)

// PkgPath is the import path of package cacheprop, whose cells are cached
// properties with or without a tag.
var PkgPath = reflect.TypeFor[cacheprop.Property]().PkgPath()

// property is the interface cacheprop.IsCell tests for, rebuilt for go/types
// from reflect's view of it: the loaded program need not import cacheprop
// (a type may reach a cell through another package), and go/types matches
// an unexported method by its package's path, not its object.
var property = propertyInterface(reflect.TypeFor[cacheprop.Property]())

func propertyInterface(t reflect.Type) *types.Interface {
	pkg := types.NewPackage(t.PkgPath(), "cacheprop")
	var methods []*types.Func
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		if m.Type.NumIn() != 0 || m.Type.NumOut() != 0 {
			// TestAgreesWithCacheprop fails first; this says why.
			panic("cachepropast: cacheprop.Property." + m.Name + " has parameters or results, which IsCell does not model")
		}
		sig := types.NewSignatureType(nil, nil, nil, nil, nil, false)
		methods = append(methods, types.NewFunc(0, pkg, m.Name, sig))
	}
	it := types.NewInterfaceType(methods, nil)
	it.Complete()
	return it
}

// noCell is a field type that is no cell, so that cacheprop.IsCached answers
// for the tag alone.
var noCell = reflect.TypeFor[struct{}]()

// IsCached is cacheprop.IsCached for go/types: whether a struct field with
// this tag and type is a cached property.
func IsCached(tag string, t types.Type) bool {
	return IsTagged(tag) || IsCell(t)
}

// IsTagged reports whether the tag alone makes a field a cached property,
// whatever its type.
func IsTagged(tag string) bool {
	return cacheprop.IsCached(reflect.StructField{Tag: reflect.StructTag(tag), Type: noCell})
}

// IsCell is cacheprop.IsCell for go/types: a struct type whose pointer
// implements cacheprop.Property.
func IsCell(t types.Type) bool {
	if _, ok := t.Underlying().(*types.Struct); !ok {
		return false
	}
	return types.Implements(types.NewPointer(t), property)
}
