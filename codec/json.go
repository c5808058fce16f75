package codec

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"unsafe"
)

// JSON is the codec for encoding/json, registered as "json". Its output is
// what json.Marshal writes for the value's type without its cached
// properties; Unmarshal decodes as json.Unmarshal into that type and then
// resets every cached property of the target.
//
// Unmarshal runs within the decode budget (see [Budget]; [WithBudget] sets
// another): a walk of the input, directed by the target's type, refuses
// with a *[BudgetError] input nested deeper than the budget allows
// (counted over the whole input, which encoding/json's own limit is not
// once a recursive type's slots re-enter it) and input whose decoding
// would allocate more than the budget (a slice element costs its Go size
// and append's growth, a pointer its target, a string its bytes), before
// anything is decoded. Input small enough that counts of its bytes alone
// prove it within the budget is not walked. Recursive types are decoded
// in one pass, in time linear in the input, as encoding/json decodes
// their twins.
var JSON Codec = jsonCodec{}

// jsonCodec's zero value decodes within the default budget.
type jsonCodec struct{ budget Budget }

func (c jsonCodec) withBudget(b Budget) Codec { return jsonCodec{budget: b} }

// StripsCachedProperties reports true: a budget does not change what is
// written, and codecs from [WithBudget] are not == [JSON].
func (jsonCodec) StripsCachedProperties() bool { return true }

var jsonStrip = newStripper(&jsonDialect)

// jsonSlotMaxDepth bounds nesting in input for a recursive type decoded
// through slots (see jsonBlank): some 64 re-entries, each a pass.
const jsonSlotMaxDepth = 512

func init() { mustRegister(JSON) }

// Name returns "json".
func (jsonCodec) Name() string { return "json" }

// Marshal returns the JSON encoding of v without its cached properties.
// A value of a recursive type is encoded in time linear in its encoding,
// however deep (see marshalSpliced).
func (jsonCodec) Marshal(v any) ([]byte, error) {
	v, err := jsonStrip.encodable(v)
	if err != nil {
		return nil, err
	}
	if mayHoldSlot(v) {
		return jsonSplice.marshalSpliced(v)
	}
	return json.Marshal(v)
}

// Unmarshal decodes data into v, which must be a non-nil pointer, and
// resets v's cached properties. Input over the codec's decode budget (see
// [Budget]) is refused with a *[BudgetError] before anything is decoded.
func (c jsonCodec) Unmarshal(data []byte, v any) error {
	target, e, err := jsonStrip.decodable(v)
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return json.Unmarshal(data, v) // json's error for the target
	}
	shape := jsonShapeOf(rv.Type().Elem())
	direct := e.view != nil && shape.direct && shape.cyclic
	b := c.budget
	if e.view != nil && shape.cyclic && !shape.direct {
		b.MaxDepth = min(b.Depth(), jsonSlotMaxDepth)
	}
	// The walk runs unless the counts of data's bytes prove it would
	// accept and blank nothing (see jsonFastAccepts).
	fast := jsonFastAccepts(data, shape, b, direct)
	if !fast {
		blanks, err := checkJSON(data, shape, b, direct)
		if err == errJSONSyntax {
			// json says what is wrong before it decodes anything.
			if err = json.Unmarshal(data, new(struct{})); err == nil {
				err = fmt.Errorf("codec: json: input refused by the decode budget's walk")
			}
			return err
		}
		if err != nil {
			return err
		}
		if direct {
			data = jsonBlank(data, blanks)
		}
	}
	if direct {
		target = v
	}
	fresh := decodesFresh(v)
	err = json.Unmarshal(data, target)
	if fast && err != nil && jsonRefusedSyntax(data, err) {
		// json refused the input before it decoded anything, as after
		// the walk refuses it: v is untouched.
		return err
	}
	if !fresh {
		reset(v, e)
	}
	return err
}

// jsonRefusedSyntax reports whether err is json's refusal of data's
// syntax, which json gives before it decodes anything.
func jsonRefusedSyntax(data []byte, err error) bool {
	var syntax *json.SyntaxError
	return errors.As(err, &syntax) && !json.Valid(data)
}

// A recursive type's view closes each cycle with a slot that re-enters
// json.Unmarshal, which validates, and json skips, everything below it
// again: a deep chain would cost the square of its length. So a recursive
// type whose fields json sees as it sees its view's (jsonFieldsAgree) is
// decoded into the type itself, which json handles in one pass; the keys
// that would reach a cached property, which the view ignores, are first
// overwritten with a key of the same length that matches no field (the
// same length keeps json's error offsets), so the struct ignores them too.
//
// A recursive type whose fields do not agree so (a cached field's name
// matches another field's, in json's case-insensitive way) still goes
// through its slots, each of which costs a pass over what lies below it:
// such input may nest at most jsonSlotMaxDepth levels, so that the passes
// stay few.
func jsonBlank(data []byte, blanks [][2]int) []byte {
	if len(blanks) == 0 {
		return data
	}
	out := slices.Clone(data)
	for _, b := range blanks {
		// No field name has a comma: Go names cannot, nor can json's tag
		// names (isValidTag), whatever the folding.
		for k := b[0] + 1; k < b[1]-1; k++ {
			out[k] = ','
		}
	}
	return out
}

var (
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func jsonOmit(sf reflect.StructField, _ reflect.Type) (empty, zero bool) {
	_, opts := tagOptions(sf.Tag.Get("json"))
	return hasOption(opts, "omitempty"), hasOption(opts, "omitzero")
}

var jsonDialect = dialect{
	name:        "json",
	addrMatters: true,
	encMethods: func(t reflect.Type, addr bool) bool {
		if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) {
			return true
		}
		// encoding/json calls pointer-receiver methods only on
		// addressable values; elsewhere it walks the struct.
		p := reflect.PointerTo(t)
		return addr && t.Kind() != reflect.Pointer && (p.Implements(jsonMarshalerType) || p.Implements(textMarshalerType))
	},
	decMethods: func(t reflect.Type) bool {
		p := reflect.PointerTo(t)
		return p.Implements(jsonUnmarshalerType) || p.Implements(textUnmarshalerType)
	},
	classify: jsonClassify,
	renamed:  func(sf reflect.StructField) reflect.StructTag { return sf.Tag },
	omit:     jsonOmit,
	wrapTag: func(tag reflect.StructTag) reflect.StructTag {
		return setTag(tag, "json", withOption(tag.Get("json"), "omitzero"))
	},
	needsZeroMethod: func(sf reflect.StructField, parent reflect.Type) bool {
		_, zero := jsonOmit(sf, parent)
		return zero && hasZeroMethod(sf.Type)
	},
	reflectZero: func(t reflect.Type) bool { return !hasZeroMethod(t) },
	anyBox:      func(empty, zero bool) reflect.Type { return jsonAnyType },
	slotZero:    zeroFunc,
}

// jsonClassify follows encoding/json's typeFields.
func jsonClassify(sf reflect.StructField) fieldClass {
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return classSkip
	}
	if sf.Anonymous {
		t := sf.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if !sf.IsExported() && t.Kind() != reflect.Struct {
			return classSkip
		}
	} else if !sf.IsExported() {
		return classSkip
	}
	name, _ := tagOptions(tag)
	ft := sf.Type
	if ft.Name() == "" && ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	// encoding/json ignores an invalid name, and promotes the struct.
	if jsonValidTag(name) || !sf.Anonymous || ft.Kind() != reflect.Struct {
		return classField
	}
	return classInline
}

// jsonAny stands for an empty-interface field: its content is only known
// per value, so it re-enters [JSON] to have its cached properties left out.
type jsonAny struct{ V any }

var jsonAnyType = registerBox(reflect.TypeFor[jsonAny]())

// MarshalJSON encodes the content as [JSON] does, after checking that it
// does not refer back to itself (see jsonCycles).
func (b jsonAny) MarshalJSON() ([]byte, error) {
	v, err := jsonStrip.encodable(b.V)
	if err != nil {
		return nil, err
	}
	if err := jsonCycles(v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// UnmarshalJSON decodes as encoding/json decodes into an interface.
func (b *jsonAny) UnmarshalJSON(data []byte) error { return json.Unmarshal(data, &b.V) }

// IsZero reports a nil content, which omitempty and omitzero omit alike.
func (b jsonAny) IsZero() bool { return b.V == nil }

// jsonNull is what json writes for a nil pointer, slice or map. The
// encoder copies what MarshalJSON returns, so one shared slice serves.
var jsonNull = []byte("null")

// jsonSplice writes a slot as a JSON string of 0xff and hex digits,
// which json neither escapes nor changes when it compacts a marshaler's
// output. json's Encoder writes what Marshal returns, and a newline.
var jsonSplice = spliceFormat{
	lead:       []byte{'"'},
	suffix:     []byte{'"'},
	hexKey:     true,
	newEncoder: func(w io.Writer) interface{ Encode(any) error } { return json.NewEncoder(w) },
	trail:      1,
	wrap: func(slot reflect.Type, err error) error {
		return &json.MarshalerError{Type: slot, Err: err}
	},
	cycle: func(v reflect.Value) error {
		return &json.UnsupportedValueError{Value: v, Str: fmt.Sprintf("encountered a cycle via %s", v.Type())}
	},
}

// marshalJSON returns null for a nil field, else a placeholder that
// [JSON]'s Marshal fills with the field's encoding.
func (si *slotInfo) marshalJSON(p unsafe.Pointer, slot reflect.Type) ([]byte, error) {
	if si.value(p).IsNil() {
		return jsonNull, nil
	}
	return jsonSplice.placeholder(hold(si, slot, p)), nil
}

func (si *slotInfo) unmarshalJSON(data []byte, p unsafe.Pointer) error {
	return json.Unmarshal(data, reflect.NewAt(si.view, p).Interface())
}

// MarshalJSON encodes the field the slot stands for.
func (p ptrSlot[N]) MarshalJSON() ([]byte, error) {
	return slotAt[N](&ptrSlots).marshalJSON(unsafe.Pointer(&p), reflect.TypeFor[ptrSlot[N]]())
}

// UnmarshalJSON decodes into the field the slot stands for.
func (p *ptrSlot[N]) UnmarshalJSON(data []byte) error {
	return slotAt[N](&ptrSlots).unmarshalJSON(data, unsafe.Pointer(p))
}

// MarshalJSON encodes the field the slot stands for.
func (p sliceSlot[N]) MarshalJSON() ([]byte, error) {
	return slotAt[N](&sliceSlots).marshalJSON(unsafe.Pointer(&p), reflect.TypeFor[sliceSlot[N]]())
}

// UnmarshalJSON decodes into the field the slot stands for.
func (p *sliceSlot[N]) UnmarshalJSON(data []byte) error {
	return slotAt[N](&sliceSlots).unmarshalJSON(data, unsafe.Pointer(p))
}
