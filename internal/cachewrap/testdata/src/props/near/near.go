// Package near wraps an interface over far.Doc without importing cacheprop.
package near

import "github.com/leancache/leancache/internal/cachewrap/testdata/src/props/far"

// Docs is wrapped.
type Docs interface {
	Get(d *far.Doc) (*far.Doc, error)
}
