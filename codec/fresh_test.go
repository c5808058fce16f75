package codec

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
)

// freshNode is a recursive type, which JSON and CBOR decode into the type
// itself, with a cached field and a cell.
type freshNode struct {
	Name string
	Kids []*freshNode
	Path string `cacheprop:"cached"`
	Memo cacheprop.Lazy[int]
}

// freshForeign is freshNode as another program writes it: every field a
// data field, so the input carries values for the cached ones.
type freshForeign struct {
	Name string
	Kids []*freshForeign
	Path string
}

// TestFreshDecodeLeavesCachedFieldsEmpty decodes input that carries values
// for cached fields (written by the plain library from a type where they
// are data, under the names json and cbor match case-insensitively) into
// zero targets, which skip the reset walk: the cached fields must still
// read empty, for plain types (views) and recursive ones (decoded into the
// type itself).
func TestFreshDecodeLeavesCachedFieldsEmpty(t *testing.T) {
	type leafForeign struct {
		Name, HTML string
	}
	for _, lib := range libraries() {
		for _, key := range []string{"Path", "path", "PATH", "pAtH"} {
			src := &freshForeign{Name: "root", Path: "stale", Kids: []*freshForeign{{Name: "kid", Path: "stale"}}}
			data, err := lib.marshal(src)
			require.NoError(t, err)
			data = bytes.ReplaceAll(data, []byte("Path"), []byte(key))
			var got freshNode
			require.NoError(t, lib.codec.Unmarshal(data, &got), "%s %s", lib.name, key)
			assert.Equal(t, "root", got.Name, lib.name)
			assert.Empty(t, got.Path, "%s %s", lib.name, key)
			require.Len(t, got.Kids, 1, lib.name)
			assert.Empty(t, got.Kids[0].Path, "%s %s", lib.name, key)
			var p *freshNode
			require.NoError(t, lib.codec.Unmarshal(data, &p), lib.name)
			assert.Empty(t, p.Path, "%s %s", lib.name, key)
		}
		data, err := lib.marshal(map[string]any{"name": "n", "html": "<b>stale</b>", "HTML": "<b>stale</b>"})
		require.NoError(t, err)
		var leaf ccLeaf
		require.NoError(t, lib.codec.Unmarshal(data, &leaf), lib.name)
		assert.Equal(t, "n", leaf.Name, lib.name)
		assert.Empty(t, leaf.HTML, lib.name)
		var nested []ccLeaf
		data, err = lib.marshal([]leafForeign{{"a", "stale"}})
		require.NoError(t, err)
		require.NoError(t, lib.codec.Unmarshal(data, &nested), lib.name)
		require.Len(t, nested, 1, lib.name)
		assert.Empty(t, nested[0].HTML, lib.name)
	}
}

// TestFreshGobDecodeOfPlainGob: Gob reads plain gob of a recursive type
// (its fallback when the stream is not in the table format) into the type
// itself, which fills cached fields: a zero target is reset all the same.
func TestFreshGobDecodeOfPlainGob(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(ccLinked(5))) //cachepropvet:ignore plain gob with the cached field filled, as another program would write it
	var got *ccList
	require.NoError(t, Gob.Unmarshal(buf.Bytes(), &got))
	n := 0
	for l := got; l != nil; l = l.Next {
		assert.Zero(t, l.Sum)
		n++
	}
	assert.Equal(t, 5, n)
}

type freshOwnDecoder struct {
	HTML string `cacheprop:"cached"`
}

func (f *freshOwnDecoder) UnmarshalJSON(b []byte) error {
	f.HTML = strings.Trim(string(b), `"`)
	return nil
}

// TestDecodesFresh pins which targets skip the reset walk: zero values of
// types whose decode cannot fill a cached property.
func TestDecodesFresh(t *testing.T) {
	var stale freshNode
	stale.Memo.Set(1)
	for _, c := range []struct {
		v    any
		want bool
	}{
		{new(freshNode), true},
		{new(*freshNode), true},
		{&freshNode{Name: "x"}, false},
		{&stale, false},
		{&[]freshNode{}, false}, // not the zero slice
		{new([]freshNode), true},
		{new(ccNested), true},
		{new([4096]byte), true},
		{&[4096]byte{4095: 1}, false},
		{new(map[string]any), false},              // an interface
		{new(struct{ V any }), false},             // an interface
		{new(struct{ F freshOwnDecoder }), false}, // its own decoder fills HTML
		{new(struct {
			V any `cacheprop:"cached"`
		}), true}, // never decoded
		{freshNode{}, false},
		{(*freshNode)(nil), false},
	} {
		assert.Equal(t, c.want, decodesFresh(c.v), "%T", c.v)
	}
	// A type decoding itself keeps its reset after a fresh decode.
	var own struct{ F freshOwnDecoder }
	require.NoError(t, JSON.Unmarshal([]byte(`{"F":"stale"}`), &own))
	assert.Empty(t, own.F.HTML)
	assert.True(t, reflect.ValueOf(own).IsZero())
}

func freshForeignTree(depth int, path string) *freshForeign {
	n := &freshForeign{Name: "n", Path: path}
	if depth > 0 {
		n.Kids = []*freshForeign{freshForeignTree(depth-1, path), freshForeignTree(depth-1, path)}
	}
	return n
}

// TestCBORScanAnswersDirect: for input big enough that the budget's typed
// walk runs, that walk decides whether a recursive type is decoded into
// itself; it must answer as cborDirect does, and a cached key anywhere
// in the input must keep the cached fields of the result empty.
func TestCBORScanAnswersDirect(t *testing.T) {
	nodeT := reflect.TypeFor[freshNode]()
	for _, c := range []struct {
		name string
		path string
		hit  bool
	}{{"clean", "", false}, {"cached", "stale", true}} {
		data, err := cbor.Marshal(freshForeignTree(10, c.path))
		require.NoError(t, err)
		if !c.hit {
			data = bytes.ReplaceAll(data, []byte("\x64Path"), []byte("\x64Pxth"))
		}
		keys, err := checkCBOR(data, nodeT, Budget{})
		require.NoError(t, err)
		assert.NotEqual(t, keysUnseen, keys, "the typed walk runs for %d bytes", len(data))
		assert.Equal(t, cborDirect(data, reflect.PointerTo(nodeT)), keys.cborDirect(data, reflect.PointerTo(nodeT)), c.name)
		assert.Equal(t, !c.hit, keys.cborDirect(data, reflect.PointerTo(nodeT)), c.name)
		var got freshNode
		require.NoError(t, CBOR.Unmarshal(data, &got))
		for n := []*freshNode{&got}; len(n) > 0; n = n[1:] {
			require.Empty(t, n[0].Path, c.name)
			n = append(n, n[0].Kids...)
		}
	}
}
