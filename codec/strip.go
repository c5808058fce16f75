package codec

import (
	"reflect"
)

// encodable returns v as its library must see it: retyped as its view
// when its type reaches cached properties (or interfaces that may hold
// them), else v itself.
func (s *stripper) encodable(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	e := s.encEntry(reflect.TypeOf(v))
	if e.err != nil {
		return nil, e.err
	}
	if e.view == nil {
		return v, nil
	}
	return retype(v, e.rtype), nil
}

// decodable returns the target its library must decode into, and the
// entry that says whether v must be reset afterwards. Anything but a
// pointer goes to the library untouched, which reports it.
func (s *stripper) decodable(v any) (any, *entry, error) {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return v, nil, nil
	}
	e := s.decEntry(t)
	if e.err != nil {
		return nil, nil, e.err
	}
	if e.view == nil {
		return v, e, nil
	}
	return retype(v, e.rtype), e, nil
}

// reset empties the cached properties of what v points to, after a
// decode. It runs whether or not the decode failed: a failed decode may
// have written part of the target.
func reset(v any, e *entry) {
	if e != nil && e.reset {
		resetCached(reflect.ValueOf(v))
	}
}

// mustRegister registers the codecs of this package at init; a clash is a
// programming error in this package.
func mustRegister(c Codec) {
	if err := Register(c); err != nil {
		panic(err)
	}
}
