// Package cacheprop marks and holds cached properties: values derived from
// an object on demand that belong to this process and never to the wire.
//
// A struct field is a cached property when its tag has the key cacheprop
// (documented form `cacheprop:"cached"`; `cacheprop:""` counts too), whatever
// its type, or when its type is one of this package's cells ([Lazy]), with or
// without the tag. The codecs in package codec leave every cached property out
// of what they write and reset it in whatever they decode into, so a value
// read back from a cache recomputes its derived data instead of trusting a
// stale copy.
package cacheprop
