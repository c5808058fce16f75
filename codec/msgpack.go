package codec

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// Msgpack is the codec for github.com/vmihailenco/msgpack/v5, registered as
// "msgpack". Its output is what msgpack.Marshal writes for the value's type
// without its cached properties; Unmarshal first checks that every length
// the input declares fits in the input (msgpack v5 would allocate what a
// forged length asks for), then decodes as msgpack.Unmarshal into that type
// and resets every cached property of the target.
var Msgpack Codec = msgpackCodec{}

// msgpackCodec is [Msgpack] under a decode budget; the zero value is
// Msgpack itself.
type msgpackCodec struct{ budget Budget }

func (msgpackCodec) withBudget(b Budget) Codec { return msgpackCodec{b.clampDepth()} }

var msgpackStrip = newStripper(&msgpackDialect)

func init() { mustRegister(Msgpack) }

// Name returns "msgpack".
func (msgpackCodec) Name() string { return "msgpack" }

// Marshal returns the MessagePack encoding of v without its cached
// properties.
func (msgpackCodec) Marshal(v any) ([]byte, error) {
	v, err := msgpackStrip.encodable(v)
	if err != nil {
		return nil, err
	}
	return msgpack.Marshal(v)
}

// Unmarshal decodes data into v, which must be a non-nil pointer, and
// resets v's cached properties. Input whose declared lengths exceed what it
// holds is refused before decoding with an error wrapping
// io.ErrUnexpectedEOF; input over the decode budget (see [Budget]: nested
// deeper than [MsgpackMaxDepth] by default, or whose decoding into v would
// allocate too much) with a *[BudgetError].
func (c msgpackCodec) Unmarshal(data []byte, v any) error {
	if err := checkMsgpack(data, decodeTargetType(v), c.budget); err != nil {
		return err
	}
	target, e, err := msgpackStrip.decodable(v)
	if err != nil {
		return err
	}
	fresh := decodesFresh(v)
	err = msgpackUnmarshal(data, target)
	if !fresh {
		reset(v, e)
	}
	return err
}

// ErrMsgpackPanic is wrapped by the error [Msgpack]'s Unmarshal returns
// when msgpack v5 breaks on reflection misuse for an input: it panics, for
// instance, on a map that repeats the key of an interface-typed field.
var ErrMsgpackPanic = errors.New("codec: msgpack: the library panicked on this input")

// msgpackUnmarshal is msgpack.Unmarshal with the library's reflection
// panics turned into errors. Only panics raised by package reflect (the
// library misusing it) are caught: a panic from a user's DecodeMsgpack or
// UnmarshalMsgpack method is not the input's fault and goes on.
func msgpackUnmarshal(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if !isReflectPanic(r) {
				panic(r)
			}
			err = fmt.Errorf("%w: %v", ErrMsgpackPanic, r)
		}
	}()
	return msgpack.Unmarshal(data, v)
}

func isReflectPanic(r any) bool {
	switch r := r.(type) {
	case *reflect.ValueError:
		return true
	case string:
		return strings.HasPrefix(r, "reflect: ") || strings.HasPrefix(r, "reflect.")
	}
	return false
}

var (
	msgpackEncoderType   = reflect.TypeFor[msgpack.CustomEncoder]()
	msgpackDecoderType   = reflect.TypeFor[msgpack.CustomDecoder]()
	msgpackMarshalerType = reflect.TypeFor[msgpack.Marshaler]()
	msgpackUnmarshalType = reflect.TypeFor[msgpack.Unmarshaler]()
	msgpackBinaryMarsh   = reflect.TypeFor[interface{ MarshalBinary() ([]byte, error) }]()
	msgpackBinaryUnmarsh = reflect.TypeFor[interface{ UnmarshalBinary([]byte) error }]()
	msgpackEncIfaces     = []reflect.Type{msgpackEncoderType, msgpackMarshalerType, msgpackBinaryMarsh, textMarshalerType}
	msgpackDecIfaces     = []reflect.Type{msgpackDecoderType, msgpackUnmarshalType, msgpackBinaryUnmarsh, textUnmarshalerType}
)

// implementsAny reports whether t or, unless t is a pointer, *t implements
// one of ifaces: msgpack looks on both.
func implementsAny(t reflect.Type, ifaces []reflect.Type) bool {
	for _, i := range ifaces {
		if t.Implements(i) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(i) {
			return true
		}
	}
	return false
}

func msgpackEnc(t reflect.Type, _ bool) bool { return implementsAny(t, msgpackEncIfaces) }
func msgpackDec(t reflect.Type) bool         { return implementsAny(t, msgpackDecIfaces) }

// msgpackOmit reports omitempty, set on the field or, for the fields after
// it, on the struct's _msgpack field.
func msgpackOmit(sf reflect.StructField, parent reflect.Type) (empty, zero bool) {
	_, opts := tagOptions(sf.Tag.Get("msgpack"))
	if hasOption(opts, "omitempty") {
		return true, false
	}
	if f, ok := parent.FieldByName("_msgpack"); ok && f.Index[0] < sf.Index[0] {
		_, opts := tagOptions(f.Tag.Get("msgpack"))
		return hasOption(opts, "omitempty"), false
	}
	return false, false
}

var msgpackDialect = dialect{
	name:       "msgpack",
	encMethods: msgpackEnc,
	decMethods: msgpackDec,
	classify:   msgpackClassify,
	renamed: func(sf reflect.StructField) reflect.StructTag {
		tag := sf.Tag.Get("msgpack")
		if name, _ := tagOptions(tag); name == "" {
			return setTag(sf.Tag, "msgpack", sf.Name+tag)
		}
		return sf.Tag
	},
	omit:    msgpackOmit,
	wrapTag: func(tag reflect.StructTag) reflect.StructTag { return tag },
	needsZeroMethod: func(sf reflect.StructField, parent reflect.Type) bool {
		empty, _ := msgpackOmit(sf, parent)
		return empty && sf.Type.Implements(isZeroerType)
	},
	anyBox: func(empty, zero bool) reflect.Type { return msgpackAnyType },
	slotZero: func(t reflect.Type, empty, _ bool) func(p unsafe.Pointer) bool {
		return func(p unsafe.Pointer) bool { return empty && msgpackEmpty(reflect.NewAt(t, p).Elem()) }
	},
	viewSlice: func(v reflect.Type) { msgpack.Register(reflect.Zero(v).Interface(), nil, msgpackViewSlice) },
}

// msgpackViewSlice is msgpack v5.4.1's decodeSliceValue for a slice view
// type, but for one allocation: where the slice must grow, msgpack makes a
// slice of the missing elements and appends it to the target's, so a
// product's reviews are allocated twice and copied once (a quarter of what
// decoding the product allocates); this makes the slice once, of the
// length the input declares (the pre-scan checked that it fits in the
// input), and keeps what the target held. The value decoded is the same;
// only the spare capacity differs. View types are the codec's own, so no
// user type is decoded differently.
func msgpackViewSlice(d *msgpack.Decoder, v reflect.Value) error {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return err
	}
	switch {
	case n == -1:
		v.SetZero()
		return nil
	case n == 0 && v.IsNil():
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		return nil
	case v.Cap() >= n:
		v.SetLen(n)
	default:
		grown := reflect.MakeSlice(v.Type(), n, n)
		reflect.Copy(grown, v.Slice(0, v.Cap()))
		v.Set(grown)
	}
	for i := range n {
		if err := d.DecodeValue(v.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

// msgpackClassify follows msgpack's getFields.
func msgpackClassify(sf reflect.StructField) fieldClass {
	name, opts := tagOptions(sf.Tag.Get("msgpack"))
	if name == "-" || sf.Name == "_msgpack" || !sf.IsExported() && !sf.Anonymous {
		return classSkip
	}
	if !sf.Anonymous || hasOption(opts, "noinline") {
		return classField
	}
	t := sf.Type
	if hasOption(opts, "inline") {
		if t.Kind() == reflect.Struct {
			return classInline
		}
		return classField
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// msgpack inlines an embedded struct only if it would encode and
	// decode it field by field.
	if t.Kind() == reflect.Struct && !msgpackEnc(t, false) && !msgpackDec(t) {
		return classInline
	}
	return classField
}

// msgpackEmpty is msgpack's omitempty test (Encoder.isEmptyValue). A
// struct is empty when it encodes to no fields; that is asked of [Msgpack]
// itself, so that cached fields do not count.
func msgpackEmpty(v reflect.Value) bool {
	for v.Kind() == reflect.Interface {
		if v.IsNil() {
			return true
		}
		v = v.Elem()
	}
	if z, ok := v.Interface().(isZeroer); ok {
		return kindNilable(v.Kind()) && v.IsNil() || z.IsZero()
	}
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Struct:
		b, err := Msgpack.Marshal(v.Interface())
		return err == nil && len(b) == 1 && (b[0] == 0x80 || b[0] == 0x90)
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Pointer:
		return v.IsNil()
	}
	return false
}

func kindNilable(k reflect.Kind) bool {
	switch k {
	case reflect.Chan, reflect.Func, reflect.Interface, reflect.Map, reflect.Pointer, reflect.Slice:
		return true
	}
	return false
}

// msgpackAny stands for an empty-interface field: its content is only
// known per value, so it goes through [Msgpack]'s views too.
type msgpackAny struct{ V any }

var msgpackAnyType = registerBox(reflect.TypeFor[msgpackAny]())

// EncodeMsgpack encodes the content as msgpack encodes an interface field,
// without its cached properties.
func (b msgpackAny) EncodeMsgpack(e *msgpack.Encoder) error {
	if b.V == nil {
		return e.EncodeNil()
	}
	v, err := msgpackStrip.encodable(b.V)
	if err != nil {
		return err
	}
	return e.EncodeValue(reflect.ValueOf(v))
}

// DecodeMsgpack decodes as msgpack decodes into an interface field.
func (b *msgpackAny) DecodeMsgpack(d *msgpack.Decoder) error {
	return d.DecodeValue(reflect.ValueOf(&b.V).Elem())
}

// IsZero is msgpack's omitempty test of the content.
func (b msgpackAny) IsZero() bool { return msgpackEmpty(reflect.ValueOf(&b.V).Elem()) }

// EncodeMsgpack encodes the field the slot stands for.
func (p ptrSlot[N]) EncodeMsgpack(e *msgpack.Encoder) error {
	return e.EncodeValue(slotAt[N](&ptrSlots).value(unsafe.Pointer(&p)))
}

// DecodeMsgpack decodes into the field the slot stands for.
func (p *ptrSlot[N]) DecodeMsgpack(d *msgpack.Decoder) error {
	return d.DecodeValue(slotAt[N](&ptrSlots).value(unsafe.Pointer(p)))
}

// EncodeMsgpack encodes the field the slot stands for.
func (p sliceSlot[N]) EncodeMsgpack(e *msgpack.Encoder) error {
	return e.EncodeValue(slotAt[N](&sliceSlots).value(unsafe.Pointer(&p)))
}

// DecodeMsgpack decodes into the field the slot stands for.
func (p *sliceSlot[N]) DecodeMsgpack(d *msgpack.Decoder) error {
	return d.DecodeValue(slotAt[N](&sliceSlots).value(unsafe.Pointer(p)))
}
