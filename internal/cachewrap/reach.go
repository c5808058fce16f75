package cachewrap

import (
	"go/types"

	"github.com/leancache/leancache/internal/cachepropast"
)

// The codecs leave every cached property out of what they write, keys and
// stored results alike, so the canonical form skips such fields: derived
// data neither tells two calls apart nor needs to survive memcached. Which
// fields those are is cacheprop's rule, carried over to go/types in one
// place, package cachepropast.

// isCachedProperty reports whether a struct field with this tag and type is
// a cached property.
func isCachedProperty(tag string, t types.Type) bool { return cachepropast.IsCached(tag, t) }

// isCell reports whether t is one of cacheprop's cell types.
func isCell(t types.Type) bool { return cachepropast.IsCell(t) }
