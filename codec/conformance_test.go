package codec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/leancache/leancache/cacheprop"
)

// A library is a codec of this package next to the library it wraps.
type library struct {
	name      string
	codec     Codec
	marshal   func(any) ([]byte, error)
	unmarshal func([]byte, any) error
}

func libraries() []library {
	return []library{
		{"json", JSON, json.Marshal, json.Unmarshal},
		{"msgpack", Msgpack, msgpack.Marshal, msgpack.Unmarshal},
		{"cbor", CBOR, cbor.Marshal, cbor.Unmarshal},
	}
}

// TestConformance checks, for every corpus case and library, that the
// codec writes exactly what the library writes for the twin (given a
// pointer and given a value), and that decoding what it wrote, into a
// fresh target and into a stale one, gives what the library gives for the
// twin, with every cached property empty.
func TestConformance(t *testing.T) {
	for _, lib := range libraries() {
		for _, c := range conformanceCorpus() {
			t.Run(lib.name+"/"+c.Name, func(t *testing.T) {
				if why, ok := c.Skip[lib.name]; ok {
					t.Skip(why)
				}
				v, tw := c.Value(), c.Twin()
				want, err := lib.marshal(tw)
				require.NoError(t, err)
				got, err := lib.codec.Marshal(v)
				require.NoError(t, err)
				assertSameEncoding(t, lib.name, want, got)

				wantV, errW := lib.marshal(reflect.ValueOf(tw).Elem().Interface())
				gotV, errG := lib.codec.Marshal(reflect.ValueOf(v).Elem().Interface())
				if errW != nil {
					assert.Error(t, errG, "the library fails on the twin by value: %v", errW)
				} else {
					require.NoError(t, errG)
					assertSameEncoding(t, lib.name, wantV, gotV)
				}

				targets := []struct {
					name       string
					dst, twDst any
				}{
					{"fresh", reflect.New(reflect.TypeOf(v).Elem()).Interface(), reflect.New(reflect.TypeOf(tw).Elem()).Interface()},
					{"stale", c.Value(), c.Twin()},
				}
				for _, tg := range targets {
					p, err := catch(func() error { return lib.codec.Unmarshal(got, tg.dst) })
					pT, errT := catch(func() error { return lib.unmarshal(want, tg.twDst) })
					if pT != nil {
						// msgpack panics on values it cannot set: embedded
						// unexported fields (a view's embedded fields are
						// exported, so the codec decodes them; documented)
						// and structs held by value in interfaces.
						t.Logf("%s: the library panics on the twin (%v); the codec: %v, %v", tg.name, pT, err, p)
						continue
					}
					require.Nil(t, p, "the codec panics")
					if errT != nil {
						t.Logf("%s: the library fails to decode into the twin (%v); the codec says %v", tg.name, errT, err)
						continue
					}
					require.NoError(t, err, tg.name)
					assertNoCached(t, tg.dst)
					re, err := lib.codec.Marshal(tg.dst)
					require.NoError(t, err)
					reT, err := lib.marshal(tg.twDst)
					require.NoError(t, err)
					if string(re) != string(reT) {
						// Decoding into interfaces makes maps of several
						// entries, which msgpack and cbor write in random
						// order: compare what the bytes say instead.
						var a, b any
						require.NoError(t, lib.unmarshal(re, &a))
						require.NoError(t, lib.unmarshal(reT, &b))
						assert.Equal(t, b, a, "%s: after decoding into a %s target", lib.name, tg.name)
					}
				}
			})
		}
	}
}

func assertSameEncoding(t *testing.T, what string, want, got []byte) {
	t.Helper()
	if string(want) != string(got) {
		t.Errorf("%s: encodings differ\nwant %q\ngot  %q", what, want, got)
	}
}

// assertNoCached fails t if any cached property reachable from v (through
// pointers, containers and interfaces) holds a value.
func assertNoCached(t *testing.T, v any) {
	t.Helper()
	for _, p := range cachedHolding(reflect.ValueOf(v), "", map[uintptr]bool{}) {
		t.Errorf("cached property %s survived decoding", p)
	}
}

func cachedHolding(v reflect.Value, path string, seen map[uintptr]bool) []string {
	var out []string
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return nil
		}
		seen[v.Pointer()] = true
		return cachedHolding(v.Elem(), path, seen)
	case reflect.Interface:
		if !v.IsNil() {
			return cachedHolding(v.Elem(), path, seen)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			out = append(out, cachedHolding(v.Index(i), fmt.Sprintf("%s[%d]", path, i), seen)...)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			out = append(out, cachedHolding(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key()), seen)...)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if cacheprop.IsCached(f) {
				if !v.Field(i).IsZero() {
					out = append(out, path+"."+f.Name)
				}
				continue
			}
			out = append(out, cachedHolding(v.Field(i), path+"."+f.Name, seen)...)
		}
	}
	return out
}

// catch runs f and returns its error or what it panicked with.
func catch(f func() error) (panicked any, err error) {
	defer func() { panicked = recover() }()
	return nil, f()
}
