// Package far holds a type with a cached property, for a package that does
// not import cacheprop itself.
package far

import "github.com/leancache/leancache/cacheprop"

// Doc carries a cell.
type Doc struct {
	ID    int
	Words cacheprop.Lazy[int]
}
