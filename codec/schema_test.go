package codec_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
)

type fpAddress struct {
	Street string `json:"street" msgpack:"street" cbor:"1,keyasint"`
	City   string `json:"city,omitempty"`
}

type fpCustomer struct {
	ID      int64            `json:"id"`
	Name    string           `json:"name"`
	Since   time.Time        `json:"since"`
	Address *fpAddress       `json:"address"`
	Tags    map[string][]int `json:"tags,omitempty"`
	Extra   any              `json:"extra"`
	Raw     json.RawMessage  `json:"raw"`
	Summary string           `json:"-" cacheprop:"summary"`
	Profile cacheprop.Lazy[string]
	//lint:ignore U1000 unexported: never on the wire
	secret string
}

type fpTree struct {
	Label    string
	Children []*fpTree
	Parent   *fpTree
}

// schemaOf is WireSchema for T, failing the test for an unknown codec.
func schemaOf[T any](t *testing.T, c codec.Codec) string {
	t.Helper()
	s, ok := codec.WireSchema(reflect.TypeFor[T](), c)
	require.True(t, ok, c.Name())
	return s
}

func fingerprintOf[T any](t *testing.T, c codec.Codec) codec.Fingerprint {
	t.Helper()
	fp, ok := codec.SchemaFingerprint(reflect.TypeFor[T](), c)
	require.True(t, ok, c.Name())
	return fp
}

// TestWireSchemaGolden pins the canonical texts and their fingerprints: a
// change here changes every fingerprint in every deployed cache, so it
// must be deliberate (bump schemaFormat).
func TestWireSchemaGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		codec  codec.Codec
		schema func(t *testing.T, c codec.Codec) string
		fp     func(t *testing.T, c codec.Codec) codec.Fingerprint
		text   string
		hex    string
	}{
		{"customer/json", codec.JSON, schemaOf[*fpCustomer], fingerprintOf[*fpCustomer],
			`leancache-schema/1 json {"address" {"city" string,omitempty;"street" string};"extra" any;"id" int64;"name" string;"raw" m("encoding/json.RawMessage");"since" m("time.Time");"tags" map[string][]int,omitempty}`,
			"2a4d381d68268bcc"},
		{"customer/gob", codec.Gob, schemaOf[*fpCustomer], fingerprintOf[*fpCustomer],
			`leancache-schema/1 gob {"Address" {"City" string;"Street" string};"Extra" any;"ID" int64;"Name" string;"Raw" []uint8;"Since" m("time.Time");"Tags" map[string][]int}`,
			"d75e54266824f5d2"},
		{"customer/msgpack", codec.Msgpack, schemaOf[*fpCustomer], fingerprintOf[*fpCustomer],
			`leancache-schema/1 msgpack {"Address" {"City" string;"street" string};"Extra" any;"ID" int64;"Name" string;"Raw" []uint8;"Since" m("time.Time");"Tags" map[string][]int}`,
			"06129497757c5a43"},
		{"customer/cbor", codec.CBOR, schemaOf[*fpCustomer], fingerprintOf[*fpCustomer],
			`leancache-schema/1 cbor {"address" {"#1" string;"city" string,omitempty};"extra" any;"id" int64;"name" string;"raw" []uint8;"since" m("time.Time");"tags" map[string][]int,omitempty}`,
			"91130b77a46cdc84"},
		{"tree/json", codec.JSON, schemaOf[fpTree], fingerprintOf[fpTree],
			`leancache-schema/1 json {"Children" []^2;"Label" string;"Parent" ^1}`,
			"93149219ddb83706"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.text, tc.schema(t, tc.codec))
			assert.Equal(t, tc.hex, tc.fp(t, tc.codec).String())
		})
	}
}

func TestFingerprintIsStable(t *testing.T) {
	for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR} {
		first := fingerprintOf[*fpCustomer](t, c)
		for range 3 {
			assert.Equal(t, first, fingerprintOf[*fpCustomer](t, c), c.Name())
		}
		assert.Equal(t, first, fingerprintOf[fpCustomer](t, c), "%s: a pointer is written as its element", c.Name())
	}
	a, b := fingerprintOf[*fpCustomer](t, codec.JSON), fingerprintOf[*fpCustomer](t, codec.Gob)
	assert.NotEqual(t, a, b, "each codec has its own schema")
}

func TestFingerprintUnknownCodec(t *testing.T) {
	_, ok := codec.SchemaFingerprint(reflect.TypeFor[*fpCustomer](), plainJSON{})
	assert.False(t, ok, "a codec of another name that describes nothing has no fingerprint")
	fp, ok := codec.SchemaFingerprint(reflect.TypeFor[*fpCustomer](), describedJSON{})
	assert.True(t, ok)
	text, _ := codec.WireSchema(reflect.TypeFor[*fpCustomer](), describedJSON{})
	assert.Equal(t, "leancache-schema/1 described-json *codec_test.fpCustomer/v1", text)
	assert.NotZero(t, fp)
}

// plainJSON is a codec of another name that describes nothing.
type plainJSON struct{}

func (plainJSON) Name() string                       { return "plain-json" }
func (plainJSON) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (plainJSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// describedJSON is a custom codec that describes its own schema.
type describedJSON struct{ plainJSON }

func (describedJSON) Name() string                     { return "described-json" }
func (describedJSON) WireSchema(t reflect.Type) string { return t.String() + "/v1" }

// Pairs of types that differ in one way each: same says whether the
// fingerprints must agree, under every codec unless codecs says otherwise.
type (
	fpBase struct {
		ID   int
		Name string
	}
	fpCachedAdded struct {
		ID   int
		Name string
		Slug string `cacheprop:"slug"`
	}
	fpLazyAdded struct {
		ID    int
		Name  string
		Cells cacheprop.Lazy[[]byte]
	}
	fpReordered struct {
		Name string
		ID   int
	}
	fpAdded struct {
		ID    int
		Name  string
		Admin bool
	}
	fpRemoved struct {
		ID int
	}
	fpRenamed struct {
		ID       int
		FullName string
	}
	fpRetyped struct {
		ID   int
		Name []string
	}
	fpWidened struct {
		ID   int64
		Name string
	}
	fpTagged struct {
		ID   int    `json:"id" msgpack:"id" cbor:"id"`
		Name string `json:"name" msgpack:"name" cbor:"name"`
	}
	fpOmit struct {
		ID   int    `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
		Name string `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
	}
	fpNamedString string
	fpNamed       struct {
		ID   int
		Name fpNamedString
	}
	fpEmbedded struct {
		fpBase
	}
	fpUnexportedAdded struct {
		ID   int
		Name string
		//lint:ignore U1000 unexported: never on the wire
		note string
	}
)

func TestFingerprintCountsWhatIsOnTheWire(t *testing.T) {
	base := reflect.TypeFor[fpBase]()
	all := []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR}
	for _, tc := range []struct {
		name   string
		t      reflect.Type
		same   bool
		codecs []codec.Codec // where the outcome differs by codec: those that agree with same
	}{
		{"cached property added", reflect.TypeFor[fpCachedAdded](), true, all},
		{"lazy cell added", reflect.TypeFor[fpLazyAdded](), true, all},
		{"unexported field added", reflect.TypeFor[fpUnexportedAdded](), true, all},
		{"fields reordered", reflect.TypeFor[fpReordered](), true, all},
		{"named type of the same kind", reflect.TypeFor[fpNamed](), true, all},
		{"field added", reflect.TypeFor[fpAdded](), false, all},
		{"field removed", reflect.TypeFor[fpRemoved](), false, all},
		{"field renamed", reflect.TypeFor[fpRenamed](), false, all},
		{"field retyped", reflect.TypeFor[fpRetyped](), false, all},
		{"field widened", reflect.TypeFor[fpWidened](), false, all},
		{"fields renamed by tags", reflect.TypeFor[fpTagged](), false, []codec.Codec{codec.JSON, codec.Msgpack, codec.CBOR}},
		{"tags mean nothing to gob", reflect.TypeFor[fpTagged](), true, []codec.Codec{codec.Gob}},
		{"omitempty", reflect.TypeFor[fpOmit](), false, []codec.Codec{codec.JSON, codec.Msgpack, codec.CBOR}},
		{"embedded fields promoted", reflect.TypeFor[fpEmbedded](), true, []codec.Codec{codec.JSON, codec.Msgpack, codec.CBOR}},
		{"gob keeps an embedded struct a field", reflect.TypeFor[fpEmbedded](), false, []codec.Codec{codec.Gob}},
	} {
		for _, c := range tc.codecs {
			a, _ := codec.SchemaFingerprint(base, c)
			b, _ := codec.SchemaFingerprint(tc.t, c)
			if tc.same {
				assert.Equal(t, a, b, "%s, %s", tc.name, c.Name())
			} else {
				assert.NotEqual(t, a, b, "%s, %s", tc.name, c.Name())
			}
		}
	}
}

type fpArray struct {
	_ struct{} `cbor:",toarray"`
	//lint:ignore U1000 read by msgpack
	_msgpack struct{} `msgpack:",as_array"`
	ID       int
	Name     string
}

type fpArrayReordered struct {
	_ struct{} `cbor:",toarray"`
	//lint:ignore U1000 read by msgpack
	_msgpack struct{} `msgpack:",as_array"`
	Name     string
	ID       int
}

func TestFingerprintArrayLayoutKeepsOrder(t *testing.T) {
	for _, c := range []codec.Codec{codec.Msgpack, codec.CBOR} {
		text := schemaOf[fpArray](t, c)
		assert.Contains(t, text, `tuple{"ID" int;"Name" string}`, c.Name())
		assert.NotEqual(t, fingerprintOf[fpArray](t, c), fingerprintOf[fpArrayReordered](t, c), c.Name())
	}
}

type fpMutualA struct {
	B *fpMutualB
}

type fpMutualB struct {
	A    []fpMutualA
	Self map[string]*fpMutualB
}

type fpList []fpList

func TestFingerprintRecursiveTypes(t *testing.T) {
	assert.Equal(t, `leancache-schema/1 json {"B" {"A" []^3;"Self" map[string]^2}}`, schemaOf[fpMutualA](t, codec.JSON))
	assert.Equal(t, `leancache-schema/1 json []^1`, schemaOf[fpList](t, codec.JSON))
	// The same type, reached from elsewhere, reads the same.
	assert.Equal(t, fingerprintOf[fpMutualB](t, codec.Gob), fingerprintOf[*fpMutualB](t, codec.Gob))
}

// stamp is encoded by its own method: only its name stands for its bytes.
type stamp struct{ unix int64 }

func (s stamp) MarshalJSON() ([]byte, error) { return json.Marshal(s.unix) }

type fpStamped struct {
	At stamp
}

type fpEmbedsTime struct {
	time.Time
}

func TestFingerprintTypesWithTheirOwnEncoding(t *testing.T) {
	assert.Equal(t, `leancache-schema/1 json {"At" m("github.com/leancache/leancache/codec_test.stamp")}`, schemaOf[fpStamped](t, codec.JSON))
	assert.Equal(t, `leancache-schema/1 gob {"At" {}}`, schemaOf[fpStamped](t, codec.Gob), "gob does not call MarshalJSON")
	// A struct embedding time.Time is encoded by time.Time's methods.
	assert.Equal(t, `leancache-schema/1 json m("time.Time")`[:len(`leancache-schema/1 json m(`)], schemaOf[fpEmbedsTime](t, codec.JSON)[:len(`leancache-schema/1 json m(`)])
}

// textOnly has MarshalText, which gob ignores: gob writes its fields.
type textOnly struct{ Text string }

func (t textOnly) MarshalText() ([]byte, error) { return []byte(t.Text), nil }

type fpHoldsText struct{ Label textOnly }

func TestGobFingerprintIgnoresMarshalText(t *testing.T) {
	assert.Equal(t, `leancache-schema/1 gob {"Label" {"Text" string}}`, schemaOf[fpHoldsText](t, codec.Gob),
		"gob encodes a MarshalText type by its fields, so they count")
	assert.Equal(t, `leancache-schema/1 json {"Label" m("github.com/leancache/leancache/codec_test.textOnly")}`, schemaOf[fpHoldsText](t, codec.JSON))
}

type (
	fpRecursive struct {
		Name string
		Kids []*fpRecursive
	}
	fpRecursiveCached struct {
		Name string
		Kids []*fpRecursiveCached
		Memo string `cacheprop:"memo"`
	}
)

// A recursive type that gains a cached property is written in gob's table
// format, which readers of the plain type cannot decode: the fingerprint
// changes. The other codecs write the same bytes and keep it.
func TestGobFingerprintOfTheTableFormat(t *testing.T) {
	assert.Equal(t, `leancache-schema/1 gob tables({"Kids" []^2;"Name" string})`, schemaOf[*fpRecursiveCached](t, codec.Gob))
	assert.Equal(t, `leancache-schema/1 gob {"Kids" []^2;"Name" string}`, schemaOf[*fpRecursive](t, codec.Gob))
	for _, c := range []codec.Codec{codec.JSON, codec.Msgpack, codec.CBOR} {
		assert.Equal(t, fingerprintOf[*fpRecursive](t, c), fingerprintOf[*fpRecursiveCached](t, c), c.Name())
	}
	// And the plain type cannot read the table format: what the miss avoids.
	data, err := codec.Gob.Marshal(&fpRecursiveCached{Name: "root", Kids: []*fpRecursiveCached{{Name: "kid"}}})
	require.NoError(t, err)
	var old fpRecursive
	assert.Error(t, codec.Gob.Unmarshal(data, &old), "the table format is not plain gob")
}
