package codec

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/fixtures"
)

func TestGobStreamDecodersReused(t *testing.T) {
	// Many values of one type, decoded in turns by kept decoders: each
	// gives its own value, whatever came before it.
	var streams [][]byte
	var want []*fixtures.ProductTwin
	for i := range 6 {
		p := fixtures.NewProduct(int64(i), i*3)
		p.Render(1 << 10)
		data, err := Gob.Marshal(p)
		require.NoError(t, err)
		streams = append(streams, data)
		want = append(want, p.Twin())
	}
	// Plain gob of the twin starts with other definitions: the decoder
	// kept for those of Gob's stream must not be given it.
	var plain bytes.Buffer
	require.NoError(t, gob.NewEncoder(&plain).Encode(want[4]))
	streams = append(streams, plain.Bytes())
	want = append(want, want[4])
	lead, err := gobCheckBudget(streams[0], reflect.TypeFor[fixtures.Product](), gobSizesOf(reflect.TypeFor[fixtures.Product]()), Budget{})
	require.NoError(t, err)
	require.Positive(t, lead)
	require.Equal(t, gobDefsPrefix(streams[0]), streams[0][:lead], "the definitions, and only those")
	for round := range 3 {
		for i := range streams {
			k := (i*5 + round) % len(streams)
			var got fixtures.Product
			require.NoError(t, Gob.Unmarshal(streams[k], &got), "stream %d", k)
			assert.Equal(t, want[k], got.Twin(), "stream %d, round %d", k, round)
		}
	}
	// A stream that fails leaves no decoder in a state that fails the next.
	bad := bytes.Clone(streams[1])
	bad[len(bad)-3] ^= 0xff
	for range 3 {
		_ = Gob.Unmarshal(bad, new(fixtures.Product))
		var got fixtures.Product
		require.NoError(t, Gob.Unmarshal(streams[2], &got))
		assert.Equal(t, want[2], got.Twin())
	}
}

func TestGobStreamTreesReused(t *testing.T) {
	// The tables of different trees start with the same definitions.
	var streams [][]byte
	var want []*fixtures.NodeTwin
	for i := range 5 {
		tree := fixtures.NewTree(i, 3-i%3)
		data, err := Gob.Marshal(tree)
		require.NoError(t, err)
		streams = append(streams, data)
		want = append(want, tree.Twin())
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 40 {
				k := (i + g) % len(streams)
				var got fixtures.Node
				if assert.NoError(t, Gob.Unmarshal(streams[k], &got)) {
					assert.Equal(t, want[k], got.Twin(), "tree %d", k)
				}
			}
		})
	}
	wg.Wait()
}

// gobStreamIface is what a writer had: a registered value behind an
// interface, which the reader's type (gobStreamNoIface) does not have.
type gobStreamIface struct {
	Name  string
	Extra any
}

type gobStreamNoIface struct {
	Name string
	Memo string `cacheprop:"cached"`
}

type GobStreamExtra struct{ N int }

func TestGobStreamDefinitionsInValues(t *testing.T) {
	// Definitions inside an interface value, even one gob ignores, are
	// learnt by the decoder, and a stream that sent them again would be
	// refused ("duplicate type"): such a stream's decoder is not kept.
	gob.Register(GobStreamExtra{})
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(gobStreamIface{Name: "n", Extra: GobStreamExtra{7}}))
	typ := reflect.TypeFor[gobStreamNoIface]()
	lead, err := gobCheckBudget(buf.Bytes(), typ, gobSizesOf(typ), Budget{})
	require.NoError(t, err)
	assert.Equal(t, -1, lead)
	for i := range 3 {
		var got gobStreamNoIface
		require.NoError(t, Gob.Unmarshal(buf.Bytes(), &got), fmt.Sprint(i))
		assert.Equal(t, "n", got.Name)
	}
	var plain bytes.Buffer
	require.NoError(t, gob.NewEncoder(&plain).Encode(gobStreamIface{Name: "m"}))
	lead, err = gobCheckBudget(plain.Bytes(), typ, gobSizesOf(typ), Budget{})
	require.NoError(t, err)
	assert.Positive(t, lead)
}
