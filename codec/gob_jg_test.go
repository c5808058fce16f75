package codec

import (
	"bytes"
	"encoding/gob"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/childproc"
)

// jgGobList is a plain recursive type; jgGobRing (gob_test.go's gobRing)
// has a cached property and takes the table route.
type jgGobList struct {
	V    int
	Next *jgGobList
}

// jgDeepGobList returns plain gob of a jgGobList depth levels deep, built
// by hand: gob's encoder would overflow its own stack writing it.
func jgDeepGobList(t *testing.T, depth int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, gob.NewEncoder(&b).Encode(&jgGobList{V: 1}))
	stream := b.Bytes()
	// The type definition, then the value: [len][id][01 02 00].
	n, w := gobUint(stream)
	def := stream[:w+int(n)]
	val := stream[w+int(n):]
	n, w = gobUint(val)
	body := val[w : w+int(n)]
	require.Equal(t, []byte{1, 2, 0}, body[len(body)-3:])
	id := body[:len(body)-3]
	msg := bytes.Clone(id)
	for range depth - 1 {
		msg = append(msg, 1, 2, 1) // V: 1, then field Next, a struct
	}
	msg = append(msg, 1, 2, 0)
	msg = append(msg, bytes.Repeat([]byte{0}, depth-1)...)
	out := bytes.Clone(def)
	out = append(out, gobPutUint(uint64(len(msg)))...)
	return append(out, msg...)
}

// TestGobDeepListRefused: a plain-gob list 2.5 million levels deep, 10 MB
// (77 bytes once S2 compresses it), overflowed gob's stack, a fatal error
// recover cannot catch. It must be refused, for a plain recursive type and
// for one with cached properties (the table route, which falls back to
// plain gob), with an error wrapping ErrBudget.
func TestGobDeepListRefused(t *testing.T) {
	childproc.Run(t, childproc.Limits{Memory: 2 << 30, Timeout: time.Minute}, func(t *testing.T) {
		data := jgDeepGobList(t, 2_500_000)
		for _, target := range []any{new(jgGobList), new(gobRing)} {
			err := Gob.Unmarshal(data, target)
			require.ErrorIs(t, err, ErrBudget, "%T", target)
			var be *BudgetError
			require.ErrorAs(t, err, &be)
			assert.Equal(t, "depth", be.Limit)
			assert.Equal(t, "gob", be.Codec)
		}
	})
	// Within the depth budget, the same stream decodes as gob decodes it.
	var got jgGobList
	require.NoError(t, Gob.Unmarshal(jgDeepGobList(t, 1000), &got))
	n := 0
	for l := &got; l != nil; l = l.Next {
		n++
	}
	assert.Equal(t, 1000, n)
	c, _ := WithBudget(Gob, Budget{MaxDepth: 100})
	require.ErrorIs(t, c.Unmarshal(jgDeepGobList(t, 1000), new(jgGobList)), ErrBudget)
	assert.True(t, StripsCachedProperties(c))
}

// TestGobDescriptorBomb: 46 bytes of gob whose type descriptor claims a
// million fields made encoding/gob allocate 10 MB for them (its own cap)
// on every read. The claim is refused before gob reads it.
func TestGobDescriptorBomb(t *testing.T) {
	// wireType{StructT: &structType{CommonType{Name: "T", Id: 64},
	// Field: <a million, then nothing>}}, padded with a field name.
	body := []byte{
		0x7f,            // type id -64: a definition
		0x03,            // StructT
		0x01,            // CommonType
		0x01, 0x01, 'T', // Name
		0x01, 0xff, 0x80, // Id 64
		0x00,
		0x01,                         // Field
		0xfc, 0x00, 0x0f, 0x42, 0x40, // a million fieldTypes
		0x01, 0x18, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x',
		0x01, 0x04, 0x00,
	}
	data := append(gobPutUint(uint64(len(body))), body...)
	require.Len(t, data, 46)
	for _, target := range []any{new(jgGobList), new(gobRing), new(gobLeaf)} {
		var err error
		alloc := jgAllocated(func() { err = Gob.Unmarshal(data, target) })
		require.ErrorIs(t, err, ErrGobCorrupt, "%T", target)
		assert.Less(t, alloc, int64(64<<10), "%T: %d bytes allocated", target, alloc)
	}
}

type jgGobOuter struct {
	Name  string
	Inner any
}

type jgGobInner struct {
	N    int
	More any
}

// TestGobNestedInterfacesWalk: interface values inside registered types
// (whose type definitions gob writes in the middle of the value) pass the
// walk and decode as gob decodes them.
func TestGobNestedInterfacesWalk(t *testing.T) {
	gob.Register(jgGobOuter{})
	gob.Register(jgGobInner{})
	gob.Register(map[string]any{})
	gob.Register([]any{})
	v := map[string]any{
		"a": jgGobOuter{Name: "o", Inner: jgGobInner{N: 1, More: jgGobInner{N: 2, More: map[string]any{"z": jgGobOuter{Name: "deep"}}}}},
		"b": []any{1, "x", jgGobInner{N: 3}},
	}
	var b bytes.Buffer
	require.NoError(t, gob.NewEncoder(&b).Encode(&v))
	var want map[string]any
	require.NoError(t, gob.NewDecoder(bytes.NewReader(b.Bytes())).Decode(&want))
	var got map[string]any
	require.NoError(t, Gob.Unmarshal(b.Bytes(), &got))
	assert.Equal(t, want, got)
}
