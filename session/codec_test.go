package session_test

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/session"
)

// secret marks cached data: a test that finds it in encoded bytes has
// found a cached property on the wire.
const secret = "cached-permission-billing.export"

// lazyUser holds its permissions in an exported Lazy, which plain gob
// refuses.
type lazyUser struct {
	Name        string
	Roles       []string
	Permissions cacheprop.Lazy[[]string]
}

// taggedUser holds its permissions in a tagged field, which plain gob
// writes.
type taggedUser struct {
	Name        string
	Roles       []string
	Permissions []string `cacheprop:"cached"`
}

// plainPoint has no cached properties and is not registered with the
// session codec.
type plainPoint struct {
	X, Y int
}

// cart holds values behind an interface field.
type cart struct {
	Owner string
	Items []any
}

func init() {
	// Plain gob (and the Gob codec's handling of any) needs the types it
	// finds behind interfaces registered, as scs's users know.
	gob.Register(&taggedUser{})
	gob.Register(plainPoint{})
	gob.Register(map[string]any{})
}

// scsGob is what scs.GobCodec does (scs v2.9.0, codec.go), copied so the
// core module need not depend on scs; examples/sessions runs the same
// comparison against scs itself.
func scsGob(deadline time.Time, values map[string]any) ([]byte, error) {
	aux := &struct {
		Deadline time.Time
		Values   map[string]any
	}{deadline, values}
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(&aux)
	return b.Bytes(), err
}

// codecs returns every registered codec, so each test runs against all of
// them, including ones added later.
func codecs(t *testing.T) []codec.Codec {
	t.Helper()
	var cs []codec.Codec
	for _, n := range codec.Names() {
		c, _ := codec.ByName(n)
		cs = append(cs, c)
	}
	require.NotEmpty(t, cs)
	return cs
}

func newCodec(t *testing.T, c codec.Codec) *session.Codec {
	t.Helper()
	sc, err := session.NewCodec(c,
		session.TypeOf[*lazyUser]("lazy-user"),
		session.TypeOf[*taggedUser]("tagged-user"),
		session.TypeOf[*cart]("cart"))
	require.NoError(t, err)
	return sc
}

var deadline = time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)

func TestPlainGobShipsOrRefusesCachedProperties(t *testing.T) {
	tagged := &taggedUser{Name: "alice", Roles: []string{"admin"}, Permissions: []string{secret}}
	b, err := scsGob(deadline, map[string]any{"user": tagged})
	require.NoError(t, err)
	assert.Contains(t, string(b), secret, "plain gob writes the tagged cached field")

	lazy := &lazyUser{Name: "alice"}
	lazy.Permissions.Set([]string{secret})
	gob.Register(&lazyUser{})
	_, err = scsGob(deadline, map[string]any{"user": lazy})
	require.Error(t, err, "plain gob refuses a struct with an exported Lazy")
	assert.Contains(t, err.Error(), "no exported fields")
}

func TestCodecStripsCachedPropertiesWithEveryCodec(t *testing.T) {
	for _, c := range codecs(t) {
		t.Run(c.Name(), func(t *testing.T) {
			sc := newCodec(t, c)
			lazy := &lazyUser{Name: "alice", Roles: []string{"admin"}}
			lazy.Permissions.Set([]string{secret})
			tagged := &taggedUser{Name: "bob", Roles: []string{"viewer"}, Permissions: []string{secret}}

			b, err := sc.Encode(deadline, map[string]any{"lazy": lazy, "tagged": tagged})
			require.NoError(t, err)
			assert.NotContains(t, string(b), secret)
			// The data fields are there as the codec wrote them, so the
			// check above looks at real bytes.
			assert.Contains(t, string(b), "alice")
			assert.Contains(t, string(b), "viewer")

			dl, values, err := sc.Decode(b)
			require.NoError(t, err)
			assert.True(t, dl.Equal(deadline), "deadline %v", dl)

			gotLazy, ok := values["lazy"].(*lazyUser)
			require.True(t, ok, "lazy is %T", values["lazy"])
			assert.Equal(t, "alice", gotLazy.Name)
			assert.Equal(t, []string{"admin"}, gotLazy.Roles)
			_, computed := gotLazy.Permissions.Peek()
			assert.False(t, computed, "the Lazy comes back empty, to be recomputed")

			gotTagged, ok := values["tagged"].(*taggedUser)
			require.True(t, ok, "tagged is %T", values["tagged"])
			assert.Equal(t, &taggedUser{Name: "bob", Roles: []string{"viewer"}}, gotTagged)
		})
	}
}

func TestCodecBuiltinTypesRoundTripWithEveryCodec(t *testing.T) {
	when := time.Date(2029, 5, 6, 7, 8, 9, 10, time.UTC)
	values := map[string]any{
		"string": "s", "bool": true,
		"int": int(-1), "int8": int8(-2), "int16": int16(-3), "int32": int32(-4), "int64": int64(-1 << 60),
		"uint": uint(1), "uint8": uint8(2), "uint16": uint16(3), "uint32": uint32(4), "uint64": uint64(1 << 63),
		"float32": float32(1.5), "float64": 2.25,
		"bytes": []byte{0, 1, 2}, "strings": []string{"a", "b"},
		"duration": 90 * time.Second,
	}
	for _, c := range codecs(t) {
		t.Run(c.Name(), func(t *testing.T) {
			sc := newCodec(t, c)
			in := map[string]any{"time": when}
			for k, v := range values {
				in[k] = v
			}
			b, err := sc.Encode(deadline, in)
			require.NoError(t, err)
			_, out, err := sc.Decode(b)
			require.NoError(t, err)
			for k, v := range values {
				// Exact types: scs's GetInt asserts .(int), GetInt64
				// .(int64) and so on.
				assert.Equal(t, v, out[k], k)
			}
			got, ok := out["time"].(time.Time)
			require.True(t, ok, "time is %T", out["time"])
			if c.Name() == "cbor" {
				// CBOR's default mode writes whole unix seconds.
				assert.True(t, got.Equal(when.Truncate(time.Second)), "time %v", got)
			} else {
				assert.True(t, got.Equal(when), "time %v", got)
			}
		})
	}
}

// TestCodecUnregisteredValuesPerCodec pins down what each codec makes of
// a value whose type the session codec was not given: the codec's own
// handling of any, as Codec documents.
func TestCodecUnregisteredValuesPerCodec(t *testing.T) {
	in := map[string]any{
		"point": plainPoint{X: 1, Y: 2},
		"map":   map[string]any{"k": "v"},
		"nil":   nil,
	}
	want := map[string]map[string]any{
		// gob brings back what gob.Register was given as itself.
		"gob": {"point": plainPoint{X: 1, Y: 2}, "map": map[string]any{"k": "v"}, "nil": nil},
		// JSON has objects, and numbers as float64.
		"json": {"point": map[string]any{"X": 1.0, "Y": 2.0}, "map": map[string]any{"k": "v"}, "nil": nil},
		// msgpack decodes a number into the smallest type that holds it.
		"msgpack": {"point": map[string]any{"X": int8(1), "Y": int8(2)}, "map": map[string]any{"k": "v"}, "nil": nil},
		// CBOR has maps keyed by any, and non-negative integers as uint64.
		"cbor": {"point": map[any]any{"X": uint64(1), "Y": uint64(2)}, "map": map[any]any{"k": "v"}, "nil": nil},
	}
	for _, c := range codecs(t) {
		t.Run(c.Name(), func(t *testing.T) {
			w, ok := want[c.Name()]
			require.True(t, ok, "codec %q is not documented on session.Codec", c.Name())
			sc := newCodec(t, c)
			b, err := sc.Encode(deadline, in)
			require.NoError(t, err)
			_, out, err := sc.Decode(b)
			require.NoError(t, err)
			assert.Equal(t, w, out)
		})
	}
}

func TestCodecRefusesCachedPropertiesBehindInterfaces(t *testing.T) {
	lazy := &lazyUser{Name: "alice"}
	lazy.Permissions.Set([]string{secret})
	cases := []struct {
		name  string
		value any
		path  string
		typ   string
	}{
		{"unregistered type", &struct {
			Perms []string `cacheprop:"cached"`
		}{}, "", "*struct { Perms []string \"cacheprop:\\\"cached\\\"\" }"},
		{"unregistered value type of a registered pointer", taggedUser{}, "", "session_test.taggedUser"},
		{"inside a registered type", &cart{Owner: "o", Items: []any{plainPoint{}, lazy}}, ".Items[1]", "*session_test.lazyUser"},
		{"inside an unregistered map", map[string]any{"u": map[string]any{"v": lazy}}, "[u][v]", "*session_test.lazyUser"},
	}
	for _, c := range codecs(t) {
		sc := newCodec(t, c)
		for _, tc := range cases {
			t.Run(c.Name()+"/"+tc.name, func(t *testing.T) {
				_, err := sc.Encode(deadline, map[string]any{"v": tc.value})
				require.ErrorIs(t, err, session.ErrCachedBehindInterface)
				var ve *session.ValueError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, "encode", ve.Op)
				assert.Equal(t, "v", ve.Key)
				assert.Equal(t, tc.path, ve.Path)
				assert.Equal(t, tc.typ, ve.Type)
				assert.NotContains(t, err.Error(), secret)
			})
		}
	}
}

// stubCodec is a codec that is not registered: it writes a fixed byte and
// fails where told to.
type stubCodec struct{ marshalErr, unmarshalErr error }

func (stubCodec) Name() string                      { return "stub" }
func (c stubCodec) Marshal(any) ([]byte, error)     { return []byte{'x'}, c.marshalErr }
func (c stubCodec) Unmarshal(_ []byte, _ any) error { return c.unmarshalErr }

func TestCodecFollowsCyclesWithoutLooping(t *testing.T) {
	type node struct {
		Next *node
		Val  any
	}
	n := &node{Val: 1}
	n.Next = n
	sc, err := session.NewCodec(stubCodec{})
	require.NoError(t, err)
	_, err = sc.Encode(deadline, map[string]any{"n": map[string]any{"n": []*node{n}}})
	assert.NoError(t, err)

	lazy := &lazyUser{}
	n.Next = &node{Val: lazy, Next: n}
	_, err = sc.Encode(deadline, map[string]any{"n": map[string]any{"n": []*node{n}}})
	require.ErrorIs(t, err, session.ErrCachedBehindInterface)
	var ve *session.ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "[n][0].Next.Val", ve.Path)
}

func TestCodecErrorsNameTheValue(t *testing.T) {
	boom := errors.New("boom")
	sc, err := session.NewCodec(stubCodec{marshalErr: boom})
	require.NoError(t, err)
	_, err = sc.Encode(deadline, map[string]any{"answer": 42})
	require.ErrorIs(t, err, boom)
	var ve *session.ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, session.ValueError{Op: "encode", Key: "answer", Type: "int", Err: boom}, *ve)
	assert.Equal(t, `session: encode value "answer" (int): boom`, err.Error())

	ok, err := session.NewCodec(stubCodec{})
	require.NoError(t, err)
	b, err := ok.Encode(deadline, map[string]any{"answer": 42, "other": plainPoint{}})
	require.NoError(t, err)
	sc, err = session.NewCodec(stubCodec{unmarshalErr: boom})
	require.NoError(t, err)
	_, _, err = sc.Decode(b)
	require.ErrorIs(t, err, boom)
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "decode", ve.Op)
	assert.Contains(t, []string{"answer", "other"}, ve.Key)
}

// TestCodecDecodesWhatAnotherCodecWrote: with DecodeAlso, a Codec reads
// the frames of every codec, so switching codecs keeps the sessions.
func TestCodecDecodesWhatAnotherCodecWrote(t *testing.T) {
	cs := codecs(t)
	for _, from := range cs {
		for _, to := range cs {
			t.Run(from.Name()+"->"+to.Name(), func(t *testing.T) {
				b, err := newCodec(t, from).Encode(deadline, map[string]any{
					"user": &taggedUser{Name: "alice", Permissions: []string{secret}},
					"n":    42,
				})
				require.NoError(t, err)
				sc, err := session.NewCodec(to,
					session.TypeOf[*taggedUser]("tagged-user"),
					session.DecodeAlso(from))
				require.NoError(t, err)
				_, values, err := sc.Decode(b)
				require.NoError(t, err)
				assert.Equal(t, &taggedUser{Name: "alice"}, values["user"])
				assert.Equal(t, 42, values["n"])
			})
		}
	}
}

func TestCodecDecodeErrors(t *testing.T) {
	sc := newCodec(t, codec.Gob)
	good, err := sc.Encode(deadline, map[string]any{"user": &taggedUser{Name: "alice"}})
	require.NoError(t, err)

	for n := 0; n < len(good); n++ {
		_, values, err := sc.Decode(good[:n])
		if err == nil {
			t.Fatalf("a prefix of %d bytes decoded: %v", n, values)
		}
		if !errors.Is(err, session.ErrMalformed) {
			// Cut inside a value's bytes, the frame can still be whole
			// up to there only if the lengths say so; they never do.
			t.Fatalf("prefix of %d bytes: %v does not match ErrMalformed", n, err)
		}
	}
	_, _, err = sc.Decode(append(good[:len(good):len(good)], 0))
	assert.ErrorIs(t, err, session.ErrMalformed)
	_, _, err = sc.Decode([]byte("\x0d\xff\x81\x03\x01\x01"))
	assert.ErrorIs(t, err, session.ErrMalformed, "plain gob bytes are not a session")

	// The same bytes, with the codec name changed to one never registered.
	foreign := bytes.Replace(good, []byte("\x03gob"), []byte("\x03xyz"), 1)
	_, _, err = sc.Decode(foreign)
	assert.ErrorIs(t, err, session.ErrUnknownCodec)

	bare, err := session.NewCodec(codec.Gob)
	require.NoError(t, err)
	_, _, err = bare.Decode(good)
	assert.ErrorIs(t, err, session.ErrUnknownType)
	var ve *session.ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, session.ValueError{Op: "decode", Key: "user", Type: "tagged-user", Err: session.ErrUnknownType}, *ve)

}

func TestCodecEncodesEqualSessionsEqually(t *testing.T) {
	sc := newCodec(t, codec.Gob)
	values := map[string]any{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		values[k] = k
	}
	first, err := sc.Encode(deadline, values)
	require.NoError(t, err)
	for i := 0; i < 20; i++ {
		b, err := sc.Encode(deadline, values)
		require.NoError(t, err)
		require.Equal(t, first, b)
	}
}

func TestCodecEmptySession(t *testing.T) {
	for _, c := range codecs(t) {
		sc := newCodec(t, c)
		b, err := sc.Encode(time.Time{}, nil)
		require.NoError(t, err)
		dl, values, err := sc.Decode(b)
		require.NoError(t, err)
		assert.True(t, dl.IsZero())
		// scs writes into the map it gets back.
		require.NotNil(t, values)
		assert.Empty(t, values)
	}
}

func TestNewCodecRefusesBadTypes(t *testing.T) {
	cases := []struct {
		name  string
		c     codec.Codec
		types []session.CodecOption
	}{
		{"nil codec", nil, nil},
		{"zero Type", codec.Gob, []session.CodecOption{session.Type{}}},
		{"empty name", codec.Gob, []session.CodecOption{session.TypeOf[*lazyUser]("")}},
		{"name twice", codec.Gob, []session.CodecOption{session.TypeOf[*lazyUser]("u"), session.TypeOf[*taggedUser]("u")}},
		{"built-in name", codec.Gob, []session.CodecOption{session.TypeOf[*lazyUser]("int")}},
		{"type twice", codec.Gob, []session.CodecOption{session.TypeOf[*lazyUser]("a"), session.TypeOf[*lazyUser]("b")}},
		{"built-in type", codec.Gob, []session.CodecOption{session.TypeOf[int]("my-int")}},
		{"interface", codec.Gob, []session.CodecOption{session.TypeOf[any]("any")}},
		{"nil option", codec.Gob, []session.CodecOption{nil}},
		{"nil codec to decode", codec.Gob, []session.CodecOption{session.DecodeAlso(codec.JSON, nil)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := session.NewCodec(tc.c, tc.types...)
			assert.Error(t, err)
			assert.Nil(t, sc)
		})
	}
	sc, err := session.NewCodec(codec.Gob, session.TypeOf[*lazyUser]("u"))
	require.NoError(t, err)
	assert.Equal(t, reflect.TypeOf(codec.Gob), reflect.TypeOf(sc.Codec()))
}

// FuzzCodecDecode feeds Decode arbitrary bytes: it must fail cleanly,
// never panic or allocate for lengths the input cannot hold, and what it
// accepts must encode back to a session that decodes the same.
func FuzzCodecDecode(f *testing.F) {
	sc, err := session.NewCodec(stubCodec{}, session.TypeOf[*taggedUser]("tagged-user"))
	require.NoError(f, err)
	for _, values := range []map[string]any{
		nil,
		{"a": 1, "b": "two"},
		{"user": &taggedUser{Name: "alice"}, "p": plainPoint{}},
	} {
		b, err := sc.Encode(deadline, values)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte("LS\x01\x04stub\x00\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dl, values, err := sc.Decode(b)
		if err != nil {
			return
		}
		again, err := sc.Encode(dl, values)
		require.NoError(t, err)
		dl2, values2, err := sc.Decode(again)
		require.NoError(t, err)
		assert.True(t, dl.Equal(dl2))
		assert.Equal(t, len(values), len(values2))
	})
}

func TestCodecConcurrentUse(t *testing.T) {
	for _, c := range codecs(t) {
		sc := newCodec(t, c)
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					u := &lazyUser{Name: fmt.Sprint("user-", g, "-", i)}
					u.Permissions.Set([]string{secret})
					b, err := sc.Encode(deadline, map[string]any{"u": u, "i": i})
					if !assert.NoError(t, err) {
						return
					}
					_, values, err := sc.Decode(b)
					if !assert.NoError(t, err) {
						return
					}
					assert.Equal(t, u.Name, values["u"].(*lazyUser).Name)
					assert.Equal(t, i, values["i"])
				}
			}()
		}
		wg.Wait()
	}
}

// TestCodecDecodesOnlyAllowedCodecs: a frame names the codec it was
// written with, and whoever can write to memcached can name any. A Codec
// built over JSON must not run gob's decoder (or any other) on such bytes
// unless its user said so.
func TestCodecDecodesOnlyAllowedCodecs(t *testing.T) {
	values := map[string]any{"user": &taggedUser{Name: "alice"}, "n": 42}
	gobFrame, err := newCodec(t, codec.Gob).Encode(deadline, values)
	require.NoError(t, err)

	sc := newCodec(t, codec.JSON)
	_, got, err := sc.Decode(gobFrame)
	require.Error(t, err, "decoded a gob frame: %v", got)
	assert.ErrorIs(t, err, session.ErrCodecNotAllowed)
	var ce *session.CodecError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "gob", ce.Codec)
	assert.Equal(t, []string{"json"}, ce.Allowed)
	assert.Nil(t, got)

	// Allowed by name, gob frames decode again: the way to switch codecs
	// without ending the sessions already stored.
	switching, err := session.NewCodec(codec.JSON,
		session.TypeOf[*taggedUser]("tagged-user"),
		session.DecodeAlso(codec.Gob))
	require.NoError(t, err)
	_, got, err = switching.Decode(gobFrame)
	require.NoError(t, err)
	assert.Equal(t, &taggedUser{Name: "alice"}, got["user"])
	assert.Equal(t, 42, got["n"])
	// Its own codec stays allowed, and msgpack, not listed, does not.
	own, err := switching.Encode(deadline, values)
	require.NoError(t, err)
	_, _, err = switching.Decode(own)
	require.NoError(t, err)
	mpFrame, err := newCodec(t, codec.Msgpack).Encode(deadline, values)
	require.NoError(t, err)
	_, _, err = switching.Decode(mpFrame)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []string{"gob", "json"}, ce.Allowed)
}
