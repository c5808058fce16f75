package cachewrap

import (
	"go/types"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/packages"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/internal/cachewrap/testdata/src/props"
	"github.com/leancache/leancache/internal/cachewrap/testdata/src/props/far"
)

// TestIsCellAgreesWithCacheprop checks the generator's go/types copy of
// cacheprop's rule against cacheprop itself, on every struct field of the
// golden inputs that carry cached properties, one of them loaded from a
// package that does not import cacheprop.
func TestIsCellAgreesWithCacheprop(t *testing.T) {
	values := map[string]reflect.Type{
		"props.Query": reflect.TypeFor[props.Query](), "props.Report": reflect.TypeFor[props.Report](),
		"props.Node": reflect.TypeFor[props.Node](), "props.Secret": reflect.TypeFor[props.Secret](),
		"props.Embeds": reflect.TypeFor[props.Embeds](), "props.Resetter": reflect.TypeFor[props.Resetter](),
		"props.Holder": reflect.TypeFor[props.Holder](), "far.Doc": reflect.TypeFor[far.Doc](),
	}
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedTypes},
		"./testdata/src/props", "./testdata/src/props/near")
	require.NoError(t, err)
	require.Len(t, pkgs, 2)
	byName := map[string]*types.Named{}
	for _, pkg := range pkgs {
		require.Empty(t, pkg.Errors)
		scope := pkg.Types.Scope()
		for _, name := range scope.Names() {
			if n, ok := scope.Lookup(name).Type().(*types.Named); ok {
				byName[pkg.Name+"."+name] = n
			}
		}
	}
	// near names far.Doc only through a signature: find it there.
	docs := byName["near.Docs"].Underlying().(*types.Interface)
	doc := docs.Method(0).Type().(*types.Signature).Params().At(0).Type().(*types.Pointer).Elem()
	byName["far.Doc"] = doc.(*types.Named)

	cells, fields := 0, 0
	for name, rt := range values {
		n := byName[name]
		require.NotNil(t, n, name)
		assert.Equal(t, cacheprop.IsCell(rt), isCell(n), "%s itself", name)
		st := n.Underlying().(*types.Struct)
		require.Equal(t, rt.NumField(), st.NumFields(), name)
		for i := range rt.NumField() {
			want := cacheprop.IsCached(rt.Field(i))
			assert.Equal(t, want, isCachedProperty(st.Tag(i), st.Field(i).Type()), "%s.%s", name, rt.Field(i).Name)
			fields++
			if want {
				cells++
			}
		}
	}
	assert.Greater(t, cells, 8, "the inputs hold cached properties of every kind")
	assert.Greater(t, fields-cells, 8, "and plain fields")
	assert.True(t, cacheprop.IsCell(reflect.TypeFor[props.Embeds]()), "embedding a cell makes one")
}
