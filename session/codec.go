package session

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/leancache/leancache/codec"
)

// A Codec encodes a session's deadline and values for a session manager
// such as github.com/alexedwards/scs/v2 (it satisfies scs.Codec), through
// one of leancache's codecs, so that domain objects held in a session lose
// their cached properties on the way out and come back with them empty,
// ready to recompute.
//
// Each value is encoded on its own, at its own type, and its type is
// recorded by name, so it decodes into that same type with every codec:
//
//   - Registered types (see TypeOf), and the built-in ones (string, bool,
//     the integer and float types, []byte, []string, time.Time and
//     time.Duration, as scs's GetString, GetInt, GetTime and the rest
//     expect), round-trip as themselves, their cached properties stripped,
//     whichever codec is used.
//   - A value of any other type is encoded as the codec encodes an any,
//     and decodes as the codec decodes into an any. gob brings back the
//     types passed to gob.Register (as scs's default codec requires; gob
//     needs even map[string]any and []any registered). The others bring
//     back generic forms: under JSON a struct or map becomes a
//     map[string]any and a number a float64; under msgpack a map becomes a
//     map[string]any and a number the smallest type that holds it (int8
//     for 1); under CBOR a map becomes a map[any]any and a non-negative
//     integer a uint64. Register a type to get it back as itself.
//   - time.Time values keep their instant, but msgpack and CBOR bring them
//     back in time.Local, and CBOR (in its default mode) to the whole
//     second. The session's deadline is not a value and is exact under
//     every codec.
//   - A cached property is never left to the codec's handling of any: gob
//     would write it, and the others could not bring its type back. A
//     value of an unregistered type with cached properties, or a value
//     holding one behind an interface field, is refused by Encode with a
//     *ValueError matching ErrCachedBehindInterface.
//
// Session data names the codec it was written with, and anyone who can
// write to memcached can name any codec, so Decode reads only frames
// written with the codecs its user allowed: by default, only its own.
// Frames naming another are refused with a *CodecError before any decoder
// runs. To switch codecs without ending the sessions already stored, build
// the new Codec with DecodeAlso(old) for as long as the old sessions live;
// what a Codec writes is always in its own codec.
//
// A Codec is safe for concurrent use.
type Codec struct {
	codec   codec.Codec
	decoder map[string]codec.Codec // the codecs Decode runs, by name
	byName  map[string]reflect.Type
	byType  map[reflect.Type]string
}

// A CodecOption configures a Codec in NewCodec: a Type (see TypeOf) or
// DecodeAlso.
type CodecOption interface {
	apply(*Codec) error
}

// decodeAlso is the CodecOption DecodeAlso returns.
type decodeAlso []codec.Codec

func (d decodeAlso) apply(c *Codec) error {
	for _, cd := range d {
		if cd == nil {
			return errors.New("session: NewCodec: DecodeAlso: nil codec")
		}
		// The Codec's own codec keeps decoding its own frames.
		if _, ok := c.decoder[cd.Name()]; !ok {
			c.decoder[cd.Name()] = cd
		}
	}
	return nil
}

// DecodeAlso lets Decode read session data written with these codecs as
// well as the Codec's own: the way to move sessions from one codec to
// another (from gob to JSON, say) without logging everyone out. Decoders
// are chosen by the name a frame records, so each codec allowed here is
// one more parser exposed to whoever can write to memcached; allow only
// those the application really wrote with, and remove them once their
// sessions have expired. A codec named like one already allowed is
// ignored.
func DecodeAlso(codecs ...codec.Codec) CodecOption {
	return decodeAlso(codecs)
}

// A Type is a Go type under the name a Codec records it by; see TypeOf.
type Type struct {
	name string
	typ  reflect.Type
}

// TypeOf returns T under name, for NewCodec: session values of exactly
// type T are recorded by name and decoded into a T. The name is what
// stored sessions refer to, so it must stay the same as long as sessions
// written under it live; it need not be Go's name for T, which would
// change if T moved. For a struct holding cacheprop cells, register the
// pointer type (*User) and store pointers: the cells must not be copied.
func TypeOf[T any](name string) Type {
	return Type{name: name, typ: reflect.TypeFor[T]()}
}

// builtin are the types every Codec knows, under Go's names for them.
var builtin = []Type{
	TypeOf[string]("string"), TypeOf[bool]("bool"),
	TypeOf[int]("int"), TypeOf[int8]("int8"), TypeOf[int16]("int16"),
	TypeOf[int32]("int32"), TypeOf[int64]("int64"),
	TypeOf[uint]("uint"), TypeOf[uint8]("uint8"), TypeOf[uint16]("uint16"),
	TypeOf[uint32]("uint32"), TypeOf[uint64]("uint64"),
	TypeOf[float32]("float32"), TypeOf[float64]("float64"),
	TypeOf[[]byte]("[]byte"), TypeOf[[]string]("[]string"),
	TypeOf[time.Time]("time.Time"), TypeOf[time.Duration]("time.Duration"),
}

// NewCodec returns a Codec over c that knows the types given as options
// (see TypeOf) besides the built-in ones, and decodes frames written with
// c and with the codecs given to DecodeAlso. It fails when c is nil, when
// a name is empty or used twice (the built-in names included), when a type
// is given twice, or for an interface type, which names no concrete type to
// decode into.
func NewCodec(c codec.Codec, opts ...CodecOption) (*Codec, error) {
	if c == nil {
		return nil, errors.New("session: NewCodec: nil codec")
	}
	sc := &Codec{
		codec:   c,
		decoder: map[string]codec.Codec{c.Name(): c},
		byName:  make(map[string]reflect.Type, len(builtin)+len(opts)),
		byType:  make(map[reflect.Type]string, len(builtin)+len(opts)),
	}
	for _, t := range builtin {
		if err := t.apply(sc); err != nil {
			return nil, err
		}
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("session: NewCodec: nil option")
		}
		if err := o.apply(sc); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// apply registers t, making a Type a CodecOption.
func (t Type) apply(sc *Codec) error {
	switch {
	case t.typ == nil || t.name == "":
		return errors.New("session: NewCodec: a type needs a name (use TypeOf)")
	case t.typ.Kind() == reflect.Interface:
		return fmt.Errorf("session: NewCodec: %q is the interface type %s", t.name, t.typ)
	case sc.byName[t.name] != nil:
		return fmt.Errorf("session: NewCodec: name %q given twice", t.name)
	case sc.byType[t.typ] != "":
		return fmt.Errorf("session: NewCodec: type %s given twice (as %q and %q)", t.typ, sc.byType[t.typ], t.name)
	}
	sc.byName[t.name] = t.typ
	sc.byType[t.typ] = t.name
	return nil
}

// Codec returns the codec that Encode writes with.
func (c *Codec) Codec() codec.Codec { return c.codec }

// anyBox carries a value of an unregistered type, so that the codec
// encodes it as an any and can decode it into one.
type anyBox struct {
	V any
}

// Encode returns the session data for deadline and values. A value that
// cannot be encoded fails the whole call with a *ValueError naming its key.
func (c *Codec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	dl, err := deadline.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("session: encode deadline: %w", err)
	}
	// Sorted keys make equal sessions encode to equal bytes.
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	entries := make([]entry, 0, len(keys))
	for _, k := range keys {
		e, err := c.encodeValue(k, values[k])
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return appendFrame(c.codec.Name(), dl, entries), nil
}

func (c *Codec) encodeValue(key string, v any) (entry, error) {
	rv := reflect.ValueOf(v)
	name, registered := "", false
	if v != nil {
		name, registered = c.byType[rv.Type()]
	}
	if path, t, found := cachedBehindInterface(rv, !registered); found {
		return entry{}, &ValueError{Op: "encode", Key: key, Path: path, Type: typeString(t), Err: ErrCachedBehindInterface}
	}
	var (
		data []byte
		err  error
	)
	if registered {
		data, err = c.codec.Marshal(v)
	} else {
		data, err = c.codec.Marshal(&anyBox{V: v})
	}
	if err != nil {
		tn := name
		if !registered {
			tn = typeString(reflect.TypeOf(v))
		}
		return entry{}, &ValueError{Op: "encode", Key: key, Type: tn, Err: err}
	}
	return entry{key: key, typ: name, data: data}, nil
}

// Decode returns the deadline and values in b, which a Codec of this
// package wrote with one of the codecs this one decodes (its own, and those
// given to DecodeAlso). Data not written by a Codec is an error matching
// ErrMalformed; data written with another codec is a *CodecError, matching
// ErrCodecNotAllowed, and none of it is decoded; a value that does not
// decode is a *ValueError naming its key. The map is never nil.
func (c *Codec) Decode(b []byte) (deadline time.Time, values map[string]any, err error) {
	f, err := parseFrame(b)
	if err != nil {
		return time.Time{}, nil, err
	}
	cd, ok := c.decoder[f.codec]
	if !ok {
		allowed := make([]string, 0, len(c.decoder))
		for name := range c.decoder {
			allowed = append(allowed, name)
		}
		sort.Strings(allowed)
		_, known := codec.ByName(f.codec)
		return time.Time{}, nil, &CodecError{Codec: f.codec, Allowed: allowed, known: known}
	}
	values = make(map[string]any, len(f.entries))
	for _, e := range f.entries {
		if _, dup := values[e.key]; dup {
			return time.Time{}, nil, fmt.Errorf("%w: value %q twice", ErrMalformed, e.key)
		}
		v, err := c.decodeValue(cd, e)
		if err != nil {
			return time.Time{}, nil, err
		}
		values[e.key] = v
	}
	return f.deadline, values, nil
}

func (c *Codec) decodeValue(cd codec.Codec, e entry) (any, error) {
	if e.typ == "" {
		var box anyBox
		if err := cd.Unmarshal(e.data, &box); err != nil {
			return nil, &ValueError{Op: "decode", Key: e.key, Err: err}
		}
		return box.V, nil
	}
	t, ok := c.byName[e.typ]
	if !ok {
		return nil, &ValueError{Op: "decode", Key: e.key, Type: e.typ, Err: ErrUnknownType}
	}
	p := reflect.New(t)
	if err := cd.Unmarshal(e.data, p.Interface()); err != nil {
		return nil, &ValueError{Op: "decode", Key: e.key, Type: e.typ, Err: err}
	}
	return p.Elem().Interface(), nil
}
