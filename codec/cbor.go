package codec

import (
	"fmt"
	"io"
	"math/big"
	"reflect"
	"time"
	"unsafe"

	"github.com/fxamacker/cbor/v2"
)

// CBOR is the codec for github.com/fxamacker/cbor/v2 in its default modes,
// registered as "cbor". Its output is what cbor.Marshal writes for the
// value's type without its cached properties; Unmarshal decodes as
// cbor.Unmarshal into that type, within the limits below, and resets every
// cached property of the target. Recursive types are encoded, and decoded
// from what CBOR writes, in one pass, in time linear in the encoding.
var CBOR Codec = cborCodec{}

// The decoding limits of [CBOR]. Nesting is bounded by the decode budget
// (see [Budget]; CBORMaxNestedLevels is its default), which the codec's
// pre-scan enforces over the whole input, across the re-entries into cbor
// that restart cbor's own count (cbor's limit is set to its maximum). The
// element and pair limits are cbor's defaults: cbor checks that input is
// well formed and within them before decoding, so a declared length never
// exceeds what the input holds; the pre-scan bounds what the elements cost.
const (
	CBORMaxNestedLevels  = DefaultMaxDepth
	CBORMaxArrayElements = 131072
	CBORMaxMapPairs      = 131072
)

// cborCodec is [CBOR] under a decode budget; the zero value is CBOR itself.
type cborCodec struct{ budget Budget }

func (cborCodec) withBudget(b Budget) Codec { return cborCodec{b.clampDepth()} }

var (
	cborStrip = newStripper(&cborDialect)
	cborDec   = func() cbor.DecMode {
		dm, err := cbor.DecOptions{
			MaxNestedLevels:  maxScanDepth,
			MaxArrayElements: CBORMaxArrayElements,
			MaxMapPairs:      CBORMaxMapPairs,
		}.DecMode()
		if err != nil {
			panic(err) // the options are constants within cbor's ranges
		}
		return dm
	}()
)

func init() { mustRegister(CBOR) }

// Name returns "cbor".
func (cborCodec) Name() string { return "cbor" }

// Marshal returns the CBOR encoding of v without its cached properties.
// A value of a recursive type is encoded in time linear in its encoding,
// however deep (see marshalSpliced).
func (cborCodec) Marshal(v any) ([]byte, error) {
	v, err := cborStrip.encodable(v)
	if err != nil {
		return nil, err
	}
	if mayHoldSlot(v) {
		return cborSplice.marshalSpliced(v)
	}
	return cbor.Marshal(v)
}

// Unmarshal decodes data into v, which must be a non-nil pointer, and
// resets v's cached properties. Input over the decode budget (see
// [Budget]) is refused before decoding with a *[BudgetError].
func (c cborCodec) Unmarshal(data []byte, v any) error {
	keys, err := checkCBOR(data, decodeTargetType(v), c.budget)
	if err != nil {
		return err
	}
	target, e, err := cborStrip.decodable(v)
	if err != nil {
		return err
	}
	if e != nil && e.view != nil && mayHoldSlot(target) && keys.cborDirect(data, reflect.TypeOf(v)) {
		target = v // see cborDirect
	}
	fresh := decodesFresh(v)
	err = cborDec.Unmarshal(data, target)
	if !fresh {
		reset(v, e)
	}
	return err
}

var (
	cborMarshalerType   = reflect.TypeFor[cbor.Marshaler]()
	cborUnmarshalerType = reflect.TypeFor[cbor.Unmarshaler]()
	cborBinaryMarshal   = reflect.TypeFor[interface{ MarshalBinary() ([]byte, error) }]()
	cborBinaryUnmarshal = reflect.TypeFor[interface{ UnmarshalBinary([]byte) error }]()
	// cborSpecial are the types cbor encodes and decodes by rules of its
	// own.
	cborSpecial = map[reflect.Type]bool{
		reflect.TypeFor[time.Time]():        true,
		reflect.TypeFor[big.Int]():          true,
		reflect.TypeFor[cbor.Tag]():         true,
		reflect.TypeFor[cbor.RawTag]():      true,
		reflect.TypeFor[cbor.RawMessage]():  true,
		reflect.TypeFor[cbor.ByteString]():  true,
		reflect.TypeFor[cbor.SimpleValue](): true,
	}
)

// cborTag returns the tag cbor reads for sf: its cbor tag, else its json
// tag, and which key that is.
func cborTag(tag reflect.StructTag) (key, value string) {
	if v := tag.Get("cbor"); v != "" {
		return "cbor", v
	}
	return "json", tag.Get("json")
}

func cborOmit(sf reflect.StructField, _ reflect.Type) (empty, zero bool) {
	_, v := cborTag(sf.Tag)
	_, opts := tagOptions(v)
	return hasOption(opts, "omitempty"), hasOption(opts, "omitzero")
}

var cborDialect = dialect{
	name: "cbor",
	encMethods: func(t reflect.Type, _ bool) bool {
		p := reflect.PointerTo(t)
		return cborSpecial[t] || p.Implements(cborMarshalerType) || p.Implements(cborBinaryMarshal)
	},
	decMethods: func(t reflect.Type) bool {
		p := reflect.PointerTo(t)
		return cborSpecial[t] || p.Implements(cborUnmarshalerType) || p.Implements(cborBinaryUnmarshal) ||
			p.Implements(textUnmarshalerType) || p.Implements(jsonUnmarshalerType)
	},
	classify: cborClassify,
	renamed:  func(sf reflect.StructField) reflect.StructTag { return sf.Tag },
	omit:     cborOmit,
	wrapTag: func(tag reflect.StructTag) reflect.StructTag {
		key, v := cborTag(tag)
		return setTag(tag, key, withOption(v, "omitzero"))
	},
	needsZeroMethod: func(sf reflect.StructField, parent reflect.Type) bool {
		_, zero := cborOmit(sf, parent)
		return zero && cborZeroMethod(sf.Type)
	},
	// A toarray struct is zero when it has no fields, whatever its
	// methods (cbor's isZeroFieldStruct): a view has the same fields.
	reflectZero: func(t reflect.Type) bool {
		return !hasZeroMethod(t) && (t.Kind() != reflect.Struct || !cborToArray(t))
	},
	// cbor's omitempty and omitzero both omit a nil interface only.
	anyBox:   func(empty, zero bool) reflect.Type { return cborAnyType },
	slotZero: zeroFunc,
}

// cborClassify follows cbor's getFields.
func cborClassify(sf reflect.StructField) fieldClass {
	ft := sf.Type
	for ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if !sf.IsExported() && !(sf.Anonymous && ft.Kind() == reflect.Struct) {
		return classSkip
	}
	_, tag := cborTag(sf.Tag)
	if tag == "-" {
		return classSkip
	}
	if name, _ := tagOptions(tag); name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
		return classField
	}
	return classInline
}

// cborZeroMethod reports whether cbor decides omitzero of a field of type
// t by t's IsZero method (getIsZeroFunc), which a toarray struct held by
// value does not consult.
func cborZeroMethod(t reflect.Type) bool {
	return hasZeroMethod(t) && (t.Kind() != reflect.Struct || !cborToArray(t))
}

// cborAny stands for an empty-interface field: its content is only known
// per value, so it goes through [CBOR]'s views too.
type cborAny struct{ V any }

var cborAnyType = registerBox(reflect.TypeFor[cborAny]())

// MarshalCBOR encodes the content with [CBOR].
func (b cborAny) MarshalCBOR() ([]byte, error) { return CBOR.Marshal(b.V) }

// UnmarshalCBOR decodes as cbor decodes into an interface.
func (b *cborAny) UnmarshalCBOR(data []byte) error { return cborDec.Unmarshal(data, &b.V) }

// IsZero reports a nil content, which omitempty and omitzero omit alike.
func (b cborAny) IsZero() bool { return b.V == nil }

// cborNil is what cbor writes for a nil pointer, slice or map. The encoder
// copies what MarshalCBOR returns, so one shared slice serves.
var cborNil = []byte{0xf6}

// cborSplice writes a slot as a byte string of 25 bytes: cbor checks a
// marshaler's output is well formed, and copies it unchanged. cbor's
// Encoder writes what Marshal returns.
var cborSplice = spliceFormat{
	lead:       []byte{0x58, byte(1 + len(spliceMarker) + len(spliceKey{}))},
	newEncoder: func(w io.Writer) interface{ Encode(any) error } { return cbor.NewEncoder(w) },
	// cbor returns a marshaler's error as it is.
	wrap: func(_ reflect.Type, err error) error { return err },
	// cbor itself recurses on such a value until the stack is exhausted.
	cycle: func(v reflect.Value) error {
		return fmt.Errorf("codec: cbor: encountered a cycle via %s: %w", v.Type(), ErrCycle)
	},
}

// marshalCBOR returns nil for a nil field, else a placeholder that
// [CBOR]'s Marshal fills with the field's encoding.
func (si *slotInfo) marshalCBOR(p unsafe.Pointer, slot reflect.Type) ([]byte, error) {
	if si.value(p).IsNil() {
		return cborNil, nil
	}
	return cborSplice.placeholder(hold(si, slot, p)), nil
}

func (si *slotInfo) unmarshalCBOR(data []byte, p unsafe.Pointer) error {
	return cborDec.Unmarshal(data, reflect.NewAt(si.view, p).Interface())
}

// MarshalCBOR encodes the field the slot stands for.
func (p ptrSlot[N]) MarshalCBOR() ([]byte, error) {
	return slotAt[N](&ptrSlots).marshalCBOR(unsafe.Pointer(&p), reflect.TypeFor[ptrSlot[N]]())
}

// UnmarshalCBOR decodes into the field the slot stands for.
func (p *ptrSlot[N]) UnmarshalCBOR(data []byte) error {
	return slotAt[N](&ptrSlots).unmarshalCBOR(data, unsafe.Pointer(p))
}

// MarshalCBOR encodes the field the slot stands for.
func (p sliceSlot[N]) MarshalCBOR() ([]byte, error) {
	return slotAt[N](&sliceSlots).marshalCBOR(unsafe.Pointer(&p), reflect.TypeFor[sliceSlot[N]]())
}

// UnmarshalCBOR decodes into the field the slot stands for.
func (p *sliceSlot[N]) UnmarshalCBOR(data []byte) error {
	return slotAt[N](&sliceSlots).unmarshalCBOR(data, unsafe.Pointer(p))
}
