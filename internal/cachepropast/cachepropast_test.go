package cachepropast

import (
	"go/types"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/packages"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/internal/cachepropast/testdata/kinds"
)

// TestAgreesWithCacheprop checks the go/types rule against cacheprop's own
// reflect rule on every field of kinds.Fields, and on the field types
// themselves: one fact, two views of it, which must not drift apart.
func TestAgreesWithCacheprop(t *testing.T) {
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedTypes}, "./testdata/kinds")
	require.NoError(t, err)
	require.Len(t, pkgs, 1)
	require.Empty(t, pkgs[0].Errors)
	st := pkgs[0].Types.Scope().Lookup("Fields").Type().Underlying().(*types.Struct)
	rt := reflect.TypeFor[kinds.Fields]()
	require.Equal(t, rt.NumField(), st.NumFields())

	cached, cells := 0, 0
	for i := range rt.NumField() {
		f := rt.Field(i)
		want := cacheprop.IsCached(f)
		assert.Equal(t, want, IsCached(st.Tag(i), st.Field(i).Type()), "IsCached %s", f.Name)
		assert.Equal(t, cacheprop.IsCell(f.Type), IsCell(st.Field(i).Type()), "IsCell %s", f.Name)
		if want {
			cached++
		}
		if cacheprop.IsCell(f.Type) {
			cells++
		}
	}
	assert.GreaterOrEqual(t, cached, 9, "the inputs hold cached properties of every kind")
	assert.GreaterOrEqual(t, cells, 7, "cells among them")
	assert.GreaterOrEqual(t, rt.NumField()-cached, 5, "and plain fields")
}

// TestPkgPath is where the cells live.
func TestPkgPath(t *testing.T) {
	assert.Equal(t, "github.com/leancache/leancache/cacheprop", PkgPath)
}
