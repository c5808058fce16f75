package codec

import (
	"reflect"
)

// An UnsupportedTypeError is returned by the Marshal and Unmarshal methods of
// [JSON], [Msgpack] and [CBOR] when a type reaches cached properties in a way
// the codec cannot leave out while still writing exactly what the library
// writes for the type without them (see the package documentation for the
// cases). The type is reported once per codec; no bytes are written.
type UnsupportedTypeError struct {
	// Codec is the codec's name, such as "json".
	Codec string
	// Type is the type given to Marshal or Unmarshal.
	Type reflect.Type
	// Path locates the offending field from Type, such as ".Items[].Meta";
	// it is empty when Type itself is the problem.
	Path string
	// Reason says what cannot be done.
	Reason string
}

// Error names the codec, the type and the field path, and says why.
func (e *UnsupportedTypeError) Error() string {
	s := "codec: " + e.Codec + ": unsupported type " + e.Type.String()
	if e.Path != "" {
		s += " at " + e.Path
	}
	return s + ": " + e.Reason
}
