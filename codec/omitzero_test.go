package codec

import (
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// A positional (toarray) struct with cached fields has fewer elements on
// the wire than fields: decoding it straight into the type (cborDirect,
// for views that hold slots) would misread every element after a cached
// field, so such a type always decodes through its view.
func TestCBORToArrayDecodesThroughTheView(t *testing.T) {
	type holder struct{ Arr []ccArray }
	type holderTwin struct{ Arr []ccArrayTwin }
	v := &holder{Arr: []ccArray{{A: 1, Memo: "m", B: "b", C: []ccArray{{A: 2, B: "c"}}}}}
	data, err := CBOR.Marshal(v)
	require.NoError(t, err)
	want, err := cbor.Marshal(&holderTwin{Arr: []ccArrayTwin{{A: 1, B: "b", C: []ccArrayTwin{{A: 2, B: "c"}}}}})
	require.NoError(t, err)
	require.Equal(t, want, data)
	var got holder
	require.NoError(t, CBOR.Unmarshal(data, &got))
	require.Equal(t, 2, got.Arr[0].C[0].A)
	require.Equal(t, "b", got.Arr[0].B)
}

// ccZeroerHolder holds a type with its own IsZero by value: the libraries
// call that method, which no view can carry.
type ccZeroerHolder struct {
	Z ccZeroer `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
}

// ccPacked has no room for the incomparable host: 4-byte aligned, every
// field comparable.
type ccPacked struct {
	A    int32
	Memo int32 `cacheprop:"cached"`
}

type ccPackedHolder struct {
	P ccPacked `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
}

type ccPackedHolderTwin struct {
	P struct{ A int32 } `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
}

// ccStampHolder holds by value a type the libraries encode by its own
// methods (promoted from time.Time) and which has a cached field: the view
// keeps it, cached field and all, so reflect's zero test would count it.
type ccStampHolder struct {
	S struct {
		Stamp ccStamp
		N     int
	} `json:",omitzero" cbor:",omitzero"`
}

// CCFlatBlank, embedded, has a blank field of its own: its cached field
// keeps a name (blankTag), so that the outer struct's FieldByName("_")
// still finds that one, and a zero test over it would count the cached one.
type CCFlatBlank struct {
	//lint:ignore U1000 read by cbor
	_    struct{} `cbor:",toarray"`
	A    int
	Memo string `cacheprop:"cached"`
}

type CCFlatBlankTwin struct {
	//lint:ignore U1000 read by cbor
	_ struct{} `cbor:",toarray"`
	A int
}

type ccFlatBlankOuter struct {
	CCFlatBlank
	B int
}

type ccFlatBlankOuterTwin struct {
	CCFlatBlankTwin
	B int
}

type ccFlatBlankHolder struct {
	O ccFlatBlankOuter `json:",omitzero" cbor:",omitzero"`
}

func TestPromotedBlankFieldKeepsItsMeaning(t *testing.T) {
	for _, lib := range libraries() {
		got, err := lib.codec.Marshal(&ccFlatBlankOuter{CCFlatBlank: CCFlatBlank{A: 1, Memo: "m"}, B: 2})
		require.NoError(t, err)
		want, err := lib.marshal(&ccFlatBlankOuterTwin{CCFlatBlankTwin: CCFlatBlankTwin{A: 1}, B: 2})
		require.NoError(t, err)
		assert.Equal(t, want, got, lib.name)
	}
}

// TestOmitzeroRefusals pins what stays refused, with the reason, and that
// the libraries without that zero test are not refused on the same types.
func TestOmitzeroRefusals(t *testing.T) {
	refused := []struct {
		lib    Codec
		v      any
		reason string
	}{
		{JSON, &ccZeroerHolder{}, "IsZero method of codec.ccZeroer"},
		{CBOR, &ccZeroerHolder{}, "IsZero method of codec.ccZeroer"},
		{Msgpack, &ccZeroerHolder{}, "IsZero method of codec.ccZeroer"},
		{JSON, &ccPackedHolder{}, "would count cached fields"},
		{CBOR, &ccPackedHolder{}, "would count cached fields"},
		{JSON, &ccStampHolder{}, "would count cached fields"},
		{CBOR, &ccStampHolder{}, "would count cached fields"},
		{JSON, &ccFlatBlankHolder{}, "would count cached fields"},
		{CBOR, &ccFlatBlankHolder{}, "would count cached fields"},
	}
	for _, r := range refused {
		_, err := r.lib.Marshal(r.v)
		var ute *UnsupportedTypeError
		require.ErrorAs(t, err, &ute, "%s %T", r.lib.Name(), r.v)
		assert.Equal(t, r.lib.Name(), ute.Codec)
		assert.Contains(t, ute.Path, ".")
		assert.Contains(t, ute.Reason, r.reason, "%s %T", r.lib.Name(), r.v)
	}
	// msgpack's omitempty on a struct counts the fields it encodes, not
	// reflect's zero test: the packed struct is no problem there.
	for _, memo := range []int32{0, 7} {
		got, err := Msgpack.Marshal(&ccPackedHolder{P: ccPacked{Memo: memo}})
		require.NoError(t, err)
		want, err := msgpack.Marshal(&ccPackedHolderTwin{})
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

// ccLateBlank's cached field comes before its "_" field: cbor reads
// toarray from the first blank field of a struct, which in the view is the
// cached one, so it must carry the same tag.
type ccLateBlank struct {
	A    int
	Memo string `cacheprop:"cached"`
	//lint:ignore U1000 read by cbor
	_ struct{} `cbor:",toarray"`
	B string
}

type ccLateBlankTwin struct {
	A int
	//lint:ignore U1000 read by cbor
	_ struct{} `cbor:",toarray"`
	B string
}

func TestCachedFieldsBeforeTheBlankField(t *testing.T) {
	got, err := CBOR.Marshal(&ccLateBlank{A: 1, Memo: "m", B: "b"})
	require.NoError(t, err)
	want, err := cbor.Marshal(&ccLateBlankTwin{A: 1, B: "b"})
	require.NoError(t, err)
	assert.Equal(t, want, got)
	var back ccLateBlank
	require.NoError(t, CBOR.Unmarshal(got, &back))
	assert.Equal(t, ccLateBlank{A: 1, B: "b"}, back)
}

// The wire schema of a type with omitted fields is its twin's: the omit
// options are in it (they change the bytes), the cached fields are not, so
// the fingerprint tells the two apart from neither.
func TestOmitSchemaIsTheTwins(t *testing.T) {
	for _, lib := range libraries() {
		got, ok := WireSchema(reflect.TypeFor[ccOmit](), lib.codec)
		require.True(t, ok)
		want, _ := WireSchema(reflect.TypeFor[ccOmitTwin](), lib.codec)
		assert.Equal(t, want, got, lib.name)
		opt := ",omitzero"
		if lib.name == "msgpack" {
			opt = ",omitempty"
		}
		assert.Contains(t, got, opt, lib.name)
		fp, _ := SchemaFingerprint(reflect.TypeFor[ccOmit](), lib.codec)
		fpT, _ := SchemaFingerprint(reflect.TypeFor[ccOmitTwin](), lib.codec)
		assert.Equal(t, fpT, fp, lib.name)
	}
}

// The omission holds in every container: map values (not addressable, for
// json another view), slice elements, and a value handed over by value.
func TestOmitInContainers(t *testing.T) {
	for _, lib := range libraries() {
		for _, memo := range []float64{0, 3.5} {
			v, w := ccOmitPair(false, memo)
			computeCached(v)
			// Built by reflect: the values hold Lazy cells, which vet
			// would not let a literal copy.
			for _, pair := range [][2]any{
				{inMap(v), inMap(w)}, {inSlice(v), inSlice(w)}, {reflect.ValueOf(v).Elem().Interface(), reflect.ValueOf(w).Elem().Interface()},
			} {
				got, err := lib.codec.Marshal(pair[0])
				require.NoError(t, err, "%s %T", lib.name, pair[0])
				want, err := lib.marshal(pair[1])
				require.NoError(t, err)
				assert.Equal(t, want, got, "%s %T memo %v", lib.name, pair[0], memo)
			}
		}
	}
}

// inMap returns map[string]T{"k": *p}.
func inMap(p any) any {
	e := reflect.ValueOf(p).Elem()
	m := reflect.MakeMap(reflect.MapOf(reflect.TypeFor[string](), e.Type()))
	m.SetMapIndex(reflect.ValueOf("k"), e)
	return m.Interface()
}

// inSlice returns []T{*p, *p}.
func inSlice(p any) any {
	e := reflect.ValueOf(p).Elem()
	return reflect.Append(reflect.MakeSlice(reflect.SliceOf(e.Type()), 0, 2), e, e).Interface()
}
