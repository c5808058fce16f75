// Package kinds holds a field of every kind cacheprop's rule tells apart,
// for the test that checks cachepropast against cacheprop itself.
package kinds

import (
	"github.com/leancache/leancache/cacheprop"
)

// Fields has one field per case.
type Fields struct {
	Plain      string
	Tagged     string `cacheprop:"x"`
	EmptyTag   int    `cacheprop:""`
	OtherTag   int    `json:"-"`
	Cell       cacheprop.Lazy[int]
	Memo       cacheprop.Memo[string, int]
	LazyPtr    *cacheprop.Lazy[int]
	LazySlice  []cacheprop.Lazy[int]
	Weak       cacheprop.WeakTable[string, int]
	Embeds     Embeds
	Resetter   Resetter
	Alias      LazyAlias
	Named      NamedLazy
	Generic    Gen[string]
	unexported cacheprop.Lazy[int]
	Stats      cacheprop.MemoStats
	cacheprop.Lazy[string]
}

// Embeds embeds a cell, whose methods it promotes: a cell itself.
type Embeds struct {
	cacheprop.Lazy[int]
	ID int
}

// Resetter has a Reset method of its own, which makes no cell.
type Resetter struct{ N int }

// Reset empties r.
func (r *Resetter) Reset() { r.N = 0 }

// LazyAlias is another name for a cell.
type LazyAlias = cacheprop.Lazy[bool]

// NamedLazy is a new type over a cell: it loses the cell's methods.
type NamedLazy cacheprop.Lazy[int]

// Gen embeds a cell of its type argument.
type Gen[T any] struct {
	cacheprop.Lazy[T]
}
