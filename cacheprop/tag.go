package cacheprop

import (
	"reflect"
)

// TagKey is the struct tag key that marks a field as a cached property.
const TagKey = "cacheprop"

// Property is implemented by the cell types of this package. The codecs treat
// a field whose type implements Property (through a pointer) as a cached
// property even without a tag, and call Reset on it after decoding.
//
// Property has an unexported method so that only this package's types
// implement it: a user type that merely has a Reset method is not a cached
// property unless it is tagged.
type Property interface {
	// Reset returns the cell to its zero, not-computed state.
	Reset()
	cachedProperty()
}

var propertyType = reflect.TypeFor[Property]()

// IsCached reports whether the struct field f is a cached property: its tag
// has the key cacheprop, or its type is one of this package's cells.
func IsCached(f reflect.StructField) bool {
	if _, ok := f.Tag.Lookup(TagKey); ok {
		return true
	}
	return IsCell(f.Type)
}

// IsCell reports whether t is one of this package's cell types (such as
// Lazy[T]), which are cached properties with or without a tag.
func IsCell(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(propertyType)
}
