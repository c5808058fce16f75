package codec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

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
		Plain      string
		Dash       string `json:"-,"`
		Skipped    string `json:"-" msgpack:"-" cbor:"-"`
		Renamed    int    `json:"re" msgpack:"re_mp" cbor:"re_cbor"`
		JSONOnly   int    `json:"jsonOnly"`
		Quoted     int64  `json:"quoted,string"`
		BadTag     int    `json:"a\"b"`
		KeyAsInt   string `cbor:"7,keyasint"`
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

// fill sets every settable field reachable from v to something non-zero,
// so that omitempty cannot hide a field.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() && v.CanSet() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if !v.IsNil() && depth < 4 {
			fill(v.Elem(), depth+1)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(1700000000, 0).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.CanSet() || v.Type().Field(i).Anonymous {
				fill(f, depth)
			}
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString("x")
		}
	case reflect.Int, reflect.Int64:
		if v.CanSet() {
			v.SetInt(1)
		}
	}
}

// writtenNames returns the top-level keys a codec writes for v.
func writtenNames(t *testing.T, c Codec, v any) []string {
	t.Helper()
	data, err := c.Marshal(v)
	require.NoError(t, err, c.Name())
	var names []string
	switch c.Name() {
	case "json":
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		for k := range m {
			names = append(names, k)
		}
	case "msgpack":
		var m map[string]any
		require.NoError(t, msgpack.Unmarshal(data, &m))
		for k := range m {
			names = append(names, k)
		}
	case "cbor":
		var m map[any]any
		require.NoError(t, cbor.Unmarshal(data, &m))
		for k := range m {
			if s, ok := k.(string); ok {
				names = append(names, s)
			} else {
				names = append(names, fmt.Sprintf("#%v", k))
			}
		}
	}
	sort.Strings(names)
	return names
}

// TestSchemaFieldsAreWhatTheCodecWrites checks the names in the schema
// against the keys each codec really writes.
func TestSchemaFieldsAreWhatTheCodecWrites(t *testing.T) {
	for _, v := range []any{&xMixed{}, &xMsgpackInline{}} {
		fill(reflect.ValueOf(v), 0)
		for _, c := range []Codec{JSON, Msgpack, CBOR} {
			typ := reflect.TypeOf(v).Elem()
			fields, _ := schemaDialects[c.Name()].fields(typ, true)
			var names []string
			for _, f := range fields {
				names = append(names, f.name)
			}
			sort.Strings(names)
			assert.Equal(t, writtenNames(t, c, v), names, "%s %s", typ.Name(), c.Name())
		}
	}
}
