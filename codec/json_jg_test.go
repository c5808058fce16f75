package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/childproc"
)

// jgChain is a recursive type with a cached property: its view closes the
// cycle with a slot. jgChainTwin is it without the cached field.
type jgChain struct {
	Name string
	Next *jgChain
	Sum  int `cacheprop:"sum"`
}

type jgChainTwin struct {
	Name string
	Next *jgChainTwin
}

// jgDeepChain returns JSON of a chain depth levels deep whose names are
// pad bytes long.
func jgDeepChain(depth, pad int) []byte {
	name := strings.Repeat("x", pad)
	var b bytes.Buffer
	for range depth {
		b.WriteString(`{"Name":"` + name + `","Next":`)
	}
	b.WriteString("null")
	b.WriteString(strings.Repeat("}", depth))
	return b.Bytes()
}

// TestJSONDeepChainIsLinear decodes a 1.1 MB chain 9,000 levels deep (in
// encoding/json's depth limit) into a recursive type with a cached
// property. Through slots, each re-entering json.Unmarshal on the rest of
// the input, this took seconds; it must come out as encoding/json decodes
// the twin, in a time of the same order (BenchmarkJSONDeepChain measures
// the ratio; the bound here only guards against the quadratic stall).
func TestJSONDeepChainIsLinear(t *testing.T) {
	data := jgDeepChain(9000, 100)
	require.Greater(t, len(data), 1_000_000)

	start := time.Now()
	var twin jgChainTwin
	require.NoError(t, json.Unmarshal(data, &twin))
	plain := time.Since(start)

	start = time.Now()
	got := jgChain{Sum: 7}
	require.NoError(t, JSON.Unmarshal(data, &got))
	took := time.Since(start)

	n, tw := &got, &twin
	levels := 0
	for tw != nil {
		require.NotNil(t, n, "level %d", levels)
		require.Equal(t, tw.Name, n.Name)
		require.Zero(t, n.Sum, "level %d", levels)
		n, tw = n.Next, tw.Next
		levels++
	}
	require.Nil(t, n)
	require.Equal(t, 9000, levels)
	assert.Less(t, took, 20*plain+time.Second, "encoding/json took %v", plain)
}

// TestJSONCachedKeysIgnoredInRecursiveTypes: decoded directly into the
// recursive type, keys naming a cached field (in any case) must still be
// ignored, as the twin ignores them.
func TestJSONCachedKeysIgnoredInRecursiveTypes(t *testing.T) {
	data := []byte(`{"Name":"a","sum":5,"Next":{"Name":"b","SUM":"not a number","Next":null,"Sum":{"x":[1]}}}`)
	var twin jgChainTwin
	require.NoError(t, json.Unmarshal(data, &twin))
	var got jgChain
	require.NoError(t, JSON.Unmarshal(data, &got))
	assert.Equal(t, "a", got.Name)
	assert.Equal(t, "b", got.Next.Name)
	assert.Zero(t, got.Sum)
	assert.Zero(t, got.Next.Sum)

	// Errors keep encoding/json's offsets.
	bad := []byte(`{"Sum":1,"Name":5}`)
	errT := json.Unmarshal(bad, &twin)
	errG := JSON.Unmarshal(bad, &got)
	var et, eg *json.UnmarshalTypeError
	require.ErrorAs(t, errT, &et)
	require.ErrorAs(t, errG, &eg)
	assert.Equal(t, et.Offset, eg.Offset)
	assert.Equal(t, et.Field, eg.Field)
}

// TestJSONDepthBombThroughSlots: nesting past the budget's depth, through
// a recursive type's slots or not, is refused with a *BudgetError.
func TestJSONDepthBombThroughSlots(t *testing.T) {
	data := jgDeepChain(DefaultMaxDepth+1, 0)
	err := JSON.Unmarshal(data, new(jgChain))
	require.ErrorIs(t, err, ErrBudget)
	var be *BudgetError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "depth", be.Limit)
	assert.Equal(t, int64(DefaultMaxDepth), be.Max)

	// A lower budget applies across the slots: 100 levels is deeper than
	// the views unroll.
	c, ok := WithBudget(JSON, Budget{MaxDepth: 100})
	require.True(t, ok)
	assert.Equal(t, "json", c.Name())
	assert.True(t, StripsCachedProperties(c))
	require.NoError(t, c.Unmarshal(jgDeepChain(100, 1), new(jgChain)))
	require.ErrorIs(t, c.Unmarshal(jgDeepChain(101, 1), new(jgChain)), ErrBudget)
	require.ErrorIs(t, c.Unmarshal([]byte(strings.Repeat("[", 101)+strings.Repeat("]", 101)), new(any)), ErrBudget)
}

// jgBig is a large element: three bytes of JSON ask for all of it.
type jgBig struct {
	Pad [4096]byte
	Sum int `cacheprop:"sum"`
}

// TestJSONAllocationBomb: `[{},{},...]` into []jgBig asks for 4 KB per
// three bytes; the walk refuses it before decoding, and what decodes
// allocates at most the budget.
func TestJSONAllocationBomb(t *testing.T) {
	childproc.Run(t, childproc.Limits{Memory: 2 << 30, Timeout: time.Minute}, func(t *testing.T) {
		data := []byte("[" + strings.Repeat("{},", 1<<18) + "{}]")
		var got []jgBig
		alloc := jgAllocated(func() {
			err := JSON.Unmarshal(data, &got)
			require.ErrorIs(t, err, ErrBudget)
			var be *BudgetError
			require.ErrorAs(t, err, &be)
			assert.Equal(t, "allocation", be.Limit)
		})
		assert.LessOrEqual(t, alloc, Budget{}.MaxAlloc(len(data)))
		assert.Nil(t, got)

		// Within budget, the same shape decodes.
		small := []byte("[" + strings.Repeat("{},", 39) + "{}]")
		require.NoError(t, JSON.Unmarshal(small, &got))
		assert.Len(t, got, 40)
	})
}

// jgAllocated returns the bytes f allocates.
func jgAllocated(f func()) int64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

func BenchmarkJSONDeepChain(b *testing.B) {
	data := jgDeepChain(9000, 100)
	b.Run("encoding-json-twin", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var v jgChainTwin
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("codec", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var v jgChain
			if err := JSON.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestJSONWalkBoundsAllocation checks the walk's cost model against what
// decoding really allocates, for large inputs of common shapes: the
// estimate must be an upper bound, and not a wild one.
func TestJSONWalkBoundsAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are noisy under the race detector")
	}
	type rec struct {
		Name  string
		Tags  []string
		Attrs map[string]int
		Kids  []*rec
		Memo  string `cacheprop:"memo"`
	}
	ints := "[" + strings.Repeat("123456,", 1<<16) + "1]"
	strs := "[" + strings.Repeat(`"abcdefgh\u00e9",`, 1<<14) + `"x"]`
	objs := "[" + strings.Repeat(`{"Name":"n","Tags":["a","b"],"Attrs":{"x":1,"y":2},"Kids":[{"Name":"k"}]},`, 1<<12) + "{}]"
	generic := `{"a":` + objs + `,"b":` + ints + `}`
	cases := []struct {
		name string
		data string
		newT func() any
	}{
		{"ints", ints, func() any { return new([]int64) }},
		{"ints-any", ints, func() any { return new(any) }},
		{"strings", strs, func() any { return new([]string) }},
		{"strings-any", strs, func() any { return new([]any) }},
		{"records", objs, func() any { return new([]rec) }},
		{"records-ptr", objs, func() any { return new([]*rec) }},
		{"generic", generic, func() any { return new(map[string]any) }},
		{"mismatch", ints, func() any { return new([]string) }},
		{"chain", string(jgDeepChain(5000, 10)), func() any { return new(jgChain) }},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			target := cs.newT()
			c := &jsonCheck{data: []byte(cs.data), max: DefaultMaxDepth, limit: 1 << 62}
			c.value(jsonShapeOf(reflect.TypeOf(target).Elem()))
			require.NoError(t, c.err)
			roomy, _ := WithBudget(JSON, Budget{AllocFactor: 1000})
			runtime.GC()
			var err error
			real := jgAllocated(func() {
				err = roomy.Unmarshal([]byte(cs.data), target)
			})
			require.NotErrorIs(t, err, ErrBudget)
			t.Logf("%d bytes: estimate %d, allocated %d (%.1f× the input)", len(cs.data), c.alloc, real, float64(real)/float64(len(cs.data)))
			assert.LessOrEqual(t, real, c.alloc+64<<10, "the estimate must bound the allocation (give or take json's fixed costs)")
		})
	}
}

// jgClash is recursive, and its cached field's JSON name folds to another
// field's: it cannot be decoded directly, only through its slots.
type jgClash struct {
	Name  string `json:"name"`
	Alias string `json:"NAME" cacheprop:"alias"`
	Next  *jgClash
}

type jgClashTwin struct {
	Name string `json:"name"`
	Next *jgClashTwin
}

func jgClashChain(depth int) []byte {
	var b bytes.Buffer
	for range depth {
		b.WriteString(`{"NAME":"x","Next":`)
	}
	b.WriteString("null" + strings.Repeat("}", depth))
	return b.Bytes()
}

// TestJSONSlotRouteDepth: through slots, each re-entry is another pass over
// the rest of the input, so such input nests at most jsonSlotMaxDepth.
func TestJSONSlotRouteDepth(t *testing.T) {
	assert.False(t, jsonShapeOf(reflect.TypeFor[jgClash]()).direct)
	data := jgClashChain(jsonSlotMaxDepth - 1)
	var twin jgClashTwin
	require.NoError(t, json.Unmarshal(data, &twin))
	var got jgClash
	require.NoError(t, JSON.Unmarshal(data, &got))
	assert.Equal(t, twin.Name, got.Name)
	assert.Equal(t, twin.Next.Next.Name, got.Next.Next.Name)
	assert.Empty(t, got.Alias)

	err := JSON.Unmarshal(jgClashChain(jsonSlotMaxDepth+1), new(jgClash))
	var be *BudgetError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "depth", be.Limit)
	assert.Equal(t, int64(jsonSlotMaxDepth), be.Max)
}
