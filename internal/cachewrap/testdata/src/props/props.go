// Package props is a golden input: arguments and results that carry cached
// properties (see package cacheprop), which the codecs leave out of keys and
// values, so they neither stop a call from being keyed nor keep a result out
// of memcached.
package props

import (
	"context"

	"github.com/leancache/leancache/cacheprop"
)

// Query is an argument with derived data: a tagged field, an unexported
// cell and an exported one.
type Query struct {
	City   string
	Label  string `cacheprop:"cached"`
	score  int    `cacheprop:""`
	norm   cacheprop.Lazy[string]
	Tokens cacheprop.Lazy[[]string]
}

// Report is a result with derived data, one piece of it tagged json:"-" as
// well.
type Report struct {
	Title   string
	Words   cacheprop.Lazy[int]
	Summary string `cacheprop:"cached" json:"-"`
	Memo    cacheprop.Memo[string, int]
}

// Node is recursive and carries a cached property at every level.
type Node struct {
	Name  string
	Kids  []*Node
	Depth cacheprop.Lazy[int]
}

// Secret has a plain unexported field beside its cell: that field still
// stops the call from being keyed.
type Secret struct {
	ID   int
	note string
	Hash cacheprop.Lazy[string]
}

// Service is wrapped.
type Service interface {
	Search(ctx context.Context, q *Query) ([]*Report, error)
	Get(id string) (*Report, error)
	Walk(ctx context.Context, root *Node) (*Node, error)
	Reveal(s *Secret) (string, error)
}

// Embeds embeds a cell, whose methods it promotes: cacheprop counts it a cell
// itself.
type Embeds struct {
	cacheprop.Lazy[int]
	ID int
}

// Resetter has a Reset method of its own, which does not make it a cell.
type Resetter struct{ N int }

// Reset empties r.
func (r *Resetter) Reset() { r.N = 0 }

// Holder holds the others, by field.
type Holder struct {
	E Embeds
	R Resetter
	P *Embeds
}

// cachewrap is a package-level name, which the generated file's import of
// the runtime must not take.
var cachewrap = "taken"

var _ = cachewrap
