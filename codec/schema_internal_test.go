package codec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
	"unsafe"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// Types whose field lists follow each codec's less obvious rules.
type (
	xInner struct {
		Deep  string
		Shade string `json:"shade" cbor:"shade"`
	}
	// XOther is exported so that the test can set the embedded pointer.
	XOther struct {
		Shade string // not xInner's "shade": names are case-sensitive
		Also  int
	}
	XPtr struct {
		Hidden string
	}
	xhidden struct {
		Hidden string
	}
	xTagged struct {
		Name string
	}
	xDup1  struct{ Clash int }
	xDup2  struct{ Clash int }
	xMixed struct {
		xInner
		*XOther
		xhidden
		xTagged `json:"tagged" msgpack:"tagged" cbor:"tagged"`
		xDup1
		xDup2
		Plain string
		//lint:ignore SA5008 encoding/json names this field "-": the schema must too
		Dash     string `json:"-,"`
		Skipped  string `json:"-" msgpack:"-" cbor:"-"`
		Renamed  int    `json:"re" msgpack:"re_mp" cbor:"re_cbor"`
		JSONOnly int    `json:"jsonOnly"`
		Quoted   int64  `json:"quoted,string"`
		//lint:ignore SA5008 an invalid name, which encoding/json ignores: the schema must too
		BadTag   int    `json:"a\"b"`
		KeyAsInt string `cbor:"7,keyasint"`
		//lint:ignore U1000 unexported: never on the wire
		unexported int
		When       time.Time
		Cached     string `cacheprop:"x"`
	}
	xMsgpackInline struct {
		xInner `msgpack:",inline"`
		*XPtr  `msgpack:",noinline"`
		Own    string
	}
)

// fillDepth bounds fill in recursive types.
const fillDepth = 6

// fill sets every settable field reachable from v to something non-zero
// (a slice and a map get one element), so that omitempty cannot hide a
// field; depth bounds recursive types.
func fill(v reflect.Value, depth int) {
	if depth > fillDepth {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() && v.CanSet() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if !v.IsNil() {
			fill(v.Elem(), depth+1)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(1700000000, 0).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f, sf := v.Field(i), v.Type().Field(i)
			if !f.CanSet() && sf.Anonymous && f.Kind() == reflect.Pointer && f.CanAddr() {
				// An unexported embedded pointer, whose exported fields
				// the codecs promote: set it behind reflect's back.
				f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
			}
			if f.CanSet() || sf.Anonymous {
				fill(f, depth)
			}
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), depth+1)
		}
	case reflect.Slice:
		if v.CanSet() && v.Len() == 0 && depth < fillDepth {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		if v.CanSet() && v.Len() == 0 && depth < fillDepth && v.Type().Key().Kind() == reflect.String {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, depth+1)
			m := reflect.MakeMap(v.Type())
			m.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), e)
			v.Set(m)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString("x")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.CanSet() {
			v.SetInt(1)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.CanSet() {
			v.SetUint(1)
		}
	case reflect.Bool:
		if v.CanSet() {
			v.SetBool(true)
		}
	case reflect.Float32, reflect.Float64:
		if v.CanSet() {
			v.SetFloat(1)
		}
	}
}

// keyedMismatches decodes what keyed codec c writes for v generically
// (json into maps, msgpack and cbor into map[string]any or map[any]any, an
// integer key as "#n") and compares, at every struct the output holds, the
// keys written with the field names of t's schema, following the schema's
// field types down (a map's own keys are data, not field names). It
// returns one line per struct that differs.
func keyedMismatches(t *testing.T, c Codec, v any, typ reflect.Type) []string {
	t.Helper()
	data, err := c.Marshal(v)
	require.NoError(t, err, c.Name())
	var generic any
	switch c.Name() {
	case "json":
		require.NoError(t, json.Unmarshal(data, &generic))
	case "msgpack":
		require.NoError(t, msgpack.Unmarshal(data, &generic))
	case "cbor":
		require.NoError(t, cbor.Unmarshal(data, &generic))
	}
	d := schemaDialects[c.Name()]
	var out []string
	var walk func(x any, t reflect.Type, addr bool, path string)
	walk = func(x any, t reflect.Type, addr bool, path string) {
		for t.Kind() == reflect.Pointer {
			t, addr = t.Elem(), true
		}
		if x == nil || t.Kind() == reflect.Interface || d.own(t, addr) {
			return
		}
		entries := map[string]any{}
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				entries[k] = e
			}
		case map[any]any:
			for k, e := range x {
				ks, ok := k.(string)
				if !ok {
					ks = fmt.Sprintf("#%v", k)
				}
				entries[ks] = e
			}
		case []any:
			if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
				for _, e := range x {
					walk(e, t.Elem(), true, path+"[]")
				}
			}
			return
		}
		switch t.Kind() {
		case reflect.Map:
			for _, e := range entries {
				walk(e, t.Elem(), false, path+"[value]")
			}
		case reflect.Struct:
			fields, array := d.fields(t, addr)
			if array {
				return
			}
			byName := map[string]wireField{}
			var want []string
			for _, f := range fields {
				byName[f.name] = f
				_, written := entries[f.name]
				if written || !slices.Contains(f.opts, "omitempty") && !slices.Contains(f.opts, "omitzero") {
					// An empty field the schema says may be omitted is
					// left out where fill stopped.
					want = append(want, f.name)
				}
			}
			var got []string
			for k, e := range entries {
				got = append(got, k)
				if f, ok := byName[k]; ok {
					walk(e, f.typ, f.addr, path+"."+k)
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(want, got) {
				out = append(out, fmt.Sprintf("%s%s: schema %q, written %q", t, path, want, got))
			}
		}
	}
	walk(generic, reflect.PointerTo(typ), false, "") // Marshal is handed a pointer
	return out
}

// A gobDef is one type definition of a gob stream.
type gobDef struct {
	kind   int // the wireType field: 1 array, 2 slice, 3 struct, 4 map, 5-7 own methods
	elem   int64
	fields map[string]int64 // a struct's fields by name, with their type ids
}

// gobDefs reads the type definitions of a gob stream (encoding/gob's own
// wireType, structType and fieldType values) and the type id of the value.
func gobDefs(t *testing.T, data []byte) (map[int64]*gobDef, int64) {
	t.Helper()
	defs := map[int64]*gobDef{}
	r := data
	fail := func() { t.Fatalf("malformed gob stream %x", data) }
	readUint := func() uint64 {
		if len(r) == 0 {
			fail()
		}
		b := r[0]
		r = r[1:]
		if b < 0x80 {
			return uint64(b)
		}
		n := int(-int8(b))
		if n > 8 || len(r) < n {
			fail()
		}
		var x uint64
		for _, c := range r[:n] {
			x = x<<8 | uint64(c)
		}
		r = r[n:]
		return x
	}
	readInt := func() int64 {
		u := readUint()
		if u&1 != 0 {
			return ^int64(u >> 1)
		}
		return int64(u >> 1)
	}
	readString := func() string {
		n := int(readUint())
		if n > len(r) {
			fail()
		}
		s := string(r[:n])
		r = r[n:]
		return s
	}
	// fields calls f for each field number of a struct value until its end.
	fields := func(f func(n int)) {
		for n := 0; ; {
			d := readUint()
			if d == 0 {
				return
			}
			n += int(d)
			f(n)
		}
	}
	for len(r) > 0 {
		size := int(readUint())
		if size > len(r) {
			fail()
		}
		rest := r[size:]
		r = r[:size]
		id := readInt()
		if id >= 0 {
			return defs, id
		}
		fields(func(kind int) { // wireType: one of its fields is set
			def := &gobDef{kind: kind, fields: map[string]int64{}}
			fields(func(n int) { // arrayType, sliceType, structType, ...
				switch {
				case n == 1: // CommonType{Name; Id}
					fields(func(m int) {
						if m == 1 {
							readString()
						} else {
							readInt()
						}
					})
				case kind == 3 && n == 2: // structType.Field []fieldType{Name; Id}
					for range readUint() {
						var name string
						var fid int64
						fields(func(m int) {
							if m == 1 {
								name = readString()
							} else {
								fid = readInt()
							}
						})
						def.fields[name] = fid
					}
				case (kind == 1 || kind == 2) && n == 2, kind == 4 && n == 3:
					def.elem = readInt()
				default: // a map's key, an array's length
					readInt()
				}
			})
			defs[-id] = def
		})
		r = rest
	}
	t.Fatalf("gob stream %x has no value", data)
	return nil, 0
}

// gobMismatches compares, at every struct type gob defines in the stream
// it writes for v, the fields it sends with the field names of typ's gob
// schema, following both down together.
func gobMismatches(t *testing.T, v any, typ reflect.Type) []string {
	t.Helper()
	data, err := Gob.Marshal(v)
	require.NoError(t, err, typ.String())
	defs, top := gobDefs(t, data)
	d := schemaDialects["gob"]
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, id int64, path string)
	walk = func(t reflect.Type, id int64, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		def := defs[id]
		if def == nil || t.Kind() == reflect.Interface || d.own(t, false) || seen[t] {
			return // a predefined type, or one already compared
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			walk(t.Elem(), def.elem, path+"[]")
		case reflect.Struct:
			seen[t] = true
			fields, _ := d.fields(t, false)
			var want, got []string
			for _, f := range fields {
				want = append(want, f.name)
				if fid, ok := def.fields[f.name]; ok {
					walk(f.typ, fid, path+"."+f.name)
				}
			}
			for name := range def.fields {
				got = append(got, name)
			}
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(want, got) {
				out = append(out, fmt.Sprintf("%s%s: schema %q, written %q", t, path, want, got))
			}
		}
	}
	walk(typ, top, "")
	return out
}

// schemaCrossCorpus is the corpus of the cross-check: the types above, the
// conformance corpus's, and the fingerprint tests' kinds of fields.
func schemaCrossCorpus() []any {
	out := []any{&xMixed{}, &xMsgpackInline{}, &xOptions{}}
	for _, c := range rawCorpus() {
		// Fresh values, for fill to set everything (the corpus's own hold
		// nil elements, which gob refuses).
		for _, v := range []any{c.Value(), c.Twin()} {
			out = append(out, reflect.New(reflect.TypeOf(v).Elem()).Interface())
		}
	}
	return out
}

// XBadName is embedded under a json name encoding/json finds invalid, so
// it ignores the name and promotes the fields.
type XBadName struct{ Promoted int }

// xOptions has the tag options the schema counts, and a cached property,
// so that the keyed codecs write it through a view.
type xOptions struct {
	//lint:ignore SA5008 an invalid name, which encoding/json ignores
	XBadName `json:"a\"b"`
	Memo     string `cacheprop:"memo"`
	Quoted   int    `json:",string"`
	Omitted  string `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
	Interned string `msgpack:",intern"`
	Nested   struct {
		Deep []struct{ Leaf int }
	}
	ByName map[string]struct{ Value int }
}

// TestSchemaFieldsAreWhatTheCodecWrites checks the names in the schema
// against the keys each codec really writes, for all four codecs: the
// keyed codecs' output decoded generically, gob's by the type definitions
// it writes.
func TestSchemaFieldsAreWhatTheCodecWrites(t *testing.T) {
	for _, v := range schemaCrossCorpus() {
		fill(reflect.ValueOf(v), 0)
		typ := reflect.TypeOf(v).Elem()
		for _, c := range []Codec{JSON, Msgpack, CBOR} {
			assert.Empty(t, keyedMismatches(t, c, v, typ), c.Name())
		}
		if gobTables(typ) {
			// Written in the table format, which the schema marks as such.
			text, _ := WireSchema(typ, Gob)
			assert.Contains(t, text, " tables(", typ.String())
			continue
		}
		assert.Empty(t, gobMismatches(t, v, typ), "gob")
	}
}

// encoding/json ignores an embedded struct's invalid name and promotes its
// fields; so do JSON's views and the schema.
func TestJSONPromotesUnderAnInvalidName(t *testing.T) {
	v := &xOptions{XBadName: XBadName{Promoted: 1}}
	for name, marshal := range map[string]func(any) ([]byte, error){"encoding/json": json.Marshal, "JSON": JSON.Marshal} {
		data, err := marshal(v) //cachepropvet:ignore the test compares encoding/json with the JSON codec on purpose
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		assert.Contains(t, m, "Promoted", name)
		assert.NotContains(t, m, "XBadName", name)
	}
	assert.Contains(t, schemaKeysOf(JSON, reflect.TypeFor[xOptions]()), "Promoted")
}

// schemaKeysOf returns the top-level field names of t's schema under c.
func schemaKeysOf(c Codec, t reflect.Type) []string {
	fields, _ := schemaDialects[c.Name()].fields(t, true)
	var names []string
	for _, f := range fields {
		names = append(names, f.name)
	}
	return names
}
