package memcache_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// inspected is what these tests cache; Derived is a cached property.
type inspected struct {
	Name    string
	Count   int
	Labels  map[string]string
	Blob    string
	Derived string `cacheprop:"derived"`
}

func newInspected(blob string) *inspected {
	return &inspected{Name: "gadget", Count: 7, Labels: map[string]string{"color": "red"}, Blob: blob, Derived: "LEAKED"}
}

// randomHex returns n hex digits that no compression shrinks much.
func randomHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// inspectUnchanged inspects key and checks that the item under the
// memcached key is what it was, CAS token included.
func inspectUnchanged(t *testing.T, b memcache.Backend, key string, opts ...memcache.Option) *memcache.Inspection {
	t.Helper()
	ctx := context.Background()
	s, err := memcache.NewStore[any](b, opts...)
	require.NoError(t, err)
	k, err := s.Key(key)
	require.NoError(t, err)
	before, err := b.Get(ctx, k)
	require.NoError(t, err)
	in, err := memcache.Inspect(ctx, b, key, opts...)
	require.NoError(t, err)
	after, err := b.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, before, after, "Inspect must change nothing")
	assert.Equal(t, k, in.StoreKey)
	assert.Equal(t, before.CAS, in.CAS)
	assert.Equal(t, before.Value, in.Value)
	assert.Equal(t, before.Flags, in.Flags)
	return in
}

func TestInspectDescribesWhatTheStoreWrote(t *testing.T) {
	cases := []struct {
		name       string
		opts       []memcache.Option
		blob       string
		compressed bool
		chunks     int
	}{
		{name: "plain", blob: "small"},
		{name: "compressed", opts: []memcache.Option{memcache.WithCompression(0)}, blob: randomHex(3000) + strings.Repeat("abc ", 5000), compressed: true},
		{name: "chunked", opts: []memcache.Option{memcache.WithChunking()}, blob: randomHex(1_500_000), chunks: 2},
	}
	backends(t, func(t *testing.T, b memcache.Backend) {
		ctx := context.Background()
		for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR} {
			for _, tc := range cases {
				t.Run(c.Name()+"/"+tc.name, func(t *testing.T) {
					opts := append([]memcache.Option{memcache.WithCodec(c), memcache.WithNamespace("ins", "v9")}, tc.opts...)
					s, err := memcache.NewStore[*inspected](b, opts...)
					require.NoError(t, err)
					key := "item " + tc.name // mapped to a digest: it has a space
					v := newInspected(tc.blob)
					require.NoError(t, s.Set(ctx, key, v))
					sz, err := memcache.MeasureWrite(key, v, opts...)
					require.NoError(t, err)
					require.Equal(t, tc.chunks, sz.Chunks)
					encoded, err := c.Marshal(v)
					require.NoError(t, err)

					in := inspectUnchanged(t, b, key, opts...)
					assert.Equal(t, key, in.Key)
					assert.False(t, in.Foreign)
					assert.Equal(t, "with codec "+c.Name(), in.Written)
					assert.Equal(t, 2, in.Version)
					assert.Equal(t, c.Name(), in.Codec)
					fp, _ := s.Fingerprint()
					assert.True(t, in.HasFingerprint)
					assert.Equal(t, fp, in.Fingerprint)
					assert.Equal(t, memcache.DefaultItemSizeMax, in.ItemSizeMax)
					require.NoError(t, in.Problem)
					// The codec's output, whole, as the Store decodes it.
					assert.Equal(t, encoded, in.Payload)
					if tc.compressed {
						assert.Equal(t, "s2", in.Compression)
						assert.Less(t, in.StoredPayload, len(encoded))
					} else {
						assert.Equal(t, "none", in.Compression)
						assert.Equal(t, len(encoded), in.StoredPayload)
					}
					if tc.chunks > 0 {
						assert.Equal(t, "index", in.Kind)
						require.NotNil(t, in.Chunks)
						assert.Equal(t, memcache.ChunkInfo{Count: sz.Chunks, Length: sz.Size, Token: in.Chunks.Token, Present: sz.Chunks, Complete: true}, *in.Chunks)
						assert.Len(t, in.Chunks.Token, 16)
					} else {
						assert.Equal(t, "value", in.Kind)
						assert.Nil(t, in.Chunks)
						// The sizes the Store's write path states.
						assert.Equal(t, sz.Size, in.Size)
						assert.Equal(t, sz.Limit, in.Limit)
					}
					if c == codec.Gob {
						assert.Nil(t, in.JSON)
						assert.Equal(t, "struct { Name string; Count int; Labels map[string]string; Blob string; }", in.GobType)
						return
					}
					assert.Empty(t, in.GobType)
					var got map[string]any
					require.NoError(t, json.Unmarshal(in.JSON, &got), "%s", in.JSON)
					assert.Equal(t, map[string]any{"Name": "gadget", "Count": 7.0, "Labels": map[string]any{"color": "red"}, "Blob": tc.blob}, got)
				})
			}
		}
	})
}

func TestInspectForeignValue(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		for _, flags := range []uint32{0, 42, 0x4B020001} {
			require.NoError(t, b.Set(context.Background(), &memcache.Item{Key: "foreign", Value: []byte("written by php"), Flags: flags}))
			in := inspectUnchanged(t, b, "foreign")
			assert.True(t, in.Foreign, "%#x", flags)
			assert.Equal(t, "by something other than a leancache store", in.Written)
			assert.Equal(t, []byte("written by php"), in.Value)
			assert.Equal(t, 14, in.Size)
			assert.Zero(t, in.Version)
			assert.Empty(t, in.Codec)
			assert.Nil(t, in.Payload)
			assert.Nil(t, in.JSON)
			assert.NoError(t, in.Problem)
		}
	})
}

// mineCodec is a codec of the caller's own, which the inspector cannot
// know.
type mineCodec struct{}

func (mineCodec) Name() string                       { return "mine" }
func (mineCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (mineCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Items the Store would refuse to read are described, with what is wrong.
func TestInspectProblems(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		ctx := context.Background()
		// A value as the Store writes it, to spoil in each case.
		s, err := memcache.NewStore[*inspected](b, memcache.WithCodec(codec.Msgpack))
		require.NoError(t, err)
		require.NoError(t, s.Set(ctx, "good", newInspected("x")))
		good, err := b.Get(ctx, "good")
		require.NoError(t, err)
		chunked, err := memcache.NewStore[*inspected](b, memcache.WithChunking())
		require.NoError(t, err)
		require.NoError(t, chunked.Set(ctx, "index", newInspected(randomHex(1_200_000))))
		index, err := b.Get(ctx, "index")
		require.NoError(t, err)
		// A type without cached properties: mineCodec would write them.
		mine, err := memcache.NewStore[map[string]int](b, memcache.WithCodec(mineCodec{}))
		require.NoError(t, err)
		require.NoError(t, mine.Set(ctx, "mine", map[string]int{"n": 1}))

		// An S2 header that claims 64 MiB in a few bytes.
		bomb := append(binary.AppendUvarint(nil, 64<<20), "xyz"...)
		for _, tc := range []struct {
			name   string
			item   *memcache.Item
			is     error
			decode bool // a *DecodeError
		}{
			{name: "cut short", item: &memcache.Item{Value: good.Value[:5], Flags: good.Flags}, decode: true},
			{name: "other codec id", item: &memcache.Item{Value: good.Value, Flags: good.Flags&^0xff | 77}, is: memcache.ErrFormat},
			{name: "unknown compression", item: &memcache.Item{Value: good.Value, Flags: good.Flags | 0x700}, is: memcache.ErrFormat},
			{name: "unknown version", item: &memcache.Item{Value: good.Value, Flags: good.Flags&^0xff0000 | 9<<16}, is: memcache.ErrFormat},
			{name: "a chunk", item: &memcache.Item{Value: good.Value, Flags: index.Flags&^0xf000 | 2<<12}, is: memcache.ErrFormat},
			{name: "bad index", item: &memcache.Item{Value: good.Value, Flags: index.Flags}, decode: true},
			{name: "payload does not decode", item: &memcache.Item{Value: []byte("\xc1\xc1\xc1"), Flags: good.Flags&^0xff0000 | 1<<16}, decode: true},
			// Nested a million deep: refused by the codec at its depth limit,
			// not by the stack.
			{name: "too deep", item: &memcache.Item{Value: append(bytes.Repeat([]byte{0x91}, 1_000_000), 0xc0), Flags: good.Flags&^0xff0000 | 1<<16}, decode: true},
			{name: "compression bomb", item: &memcache.Item{Value: bomb, Flags: good.Flags&^0xff0000 | 1<<16 | 1<<8}, is: codec.ErrBudget, decode: true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				it := *tc.item
				it.Key = "spoilt"
				require.NoError(t, b.Set(ctx, &it))
				in := inspectUnchanged(t, b, "spoilt")
				assert.False(t, in.Foreign)
				require.Error(t, in.Problem)
				if tc.is != nil {
					assert.ErrorIs(t, in.Problem, tc.is)
				}
				var de *memcache.DecodeError
				assert.Equal(t, tc.decode, errors.As(in.Problem, &de), "%v", in.Problem)
				assert.Nil(t, in.JSON)
			})
		}

		t.Run("own codec", func(t *testing.T) {
			in := inspectUnchanged(t, b, "mine")
			assert.ErrorIs(t, in.Problem, memcache.ErrFormat)
			assert.Empty(t, in.Codec)
			assert.GreaterOrEqual(t, in.CodecID, 128)
			assert.Contains(t, in.Written, "with a custom codec (id ")
		})

		t.Run("a chunk gone", func(t *testing.T) {
			in := inspectUnchanged(t, b, "index", memcache.WithChunking())
			require.NotNil(t, in.Chunks)
			require.Equal(t, 2, in.Chunks.Count)
			// chunk.go: chunk i of store key k is k + ":c" + i + ":" + token.
			require.NoError(t, b.Delete(ctx, "index:c0:"+in.Chunks.Token))
			in = inspectUnchanged(t, b, "index")
			assert.Equal(t, 1, in.Chunks.Present)
			assert.False(t, in.Chunks.Complete)
			assert.ErrorIs(t, in.Problem, memcache.ErrCacheMiss)
			assert.Nil(t, in.Payload)
		})
	})
}

func TestInspectRefusals(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	_, err := memcache.Inspect(ctx, b, "absent", memcache.WithNamespace("ns", "v1"))
	assert.ErrorIs(t, err, memcache.ErrCacheMiss)
	assert.EqualError(t, err, `memcache: inspect "absent" (memcached key "ns:v1:absent"): memcache: cache miss`)
	_, err = memcache.Inspect(ctx, b, "")
	assert.ErrorIs(t, err, memcache.ErrMalformedKey)
	_, err = memcache.Inspect(ctx, b, "k", memcache.WithNamespace("bad space", ""))
	assert.ErrorIs(t, err, memcache.ErrMalformedKey)
	_, err = memcache.Inspect(ctx, nil, "k")
	assert.EqualError(t, err, "memcache: Inspect: nil backend")
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err = memcache.Inspect(done, b, "k")
	assert.ErrorIs(t, err, context.Canceled)
}

// Inspect reads under another store's options, but counts in nobody's
// Counters and passes through nobody's middleware.
func TestInspectCountsNothing(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	s, err := memcache.NewStore[*inspected](b)
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "k", newInspected("x")))
	var counters memcache.Counters
	called := false
	mw := func(next memcache.Handler) memcache.Handler {
		return func(ctx context.Context, r *memcache.Request) (*memcache.Response, error) {
			called = true
			return next(ctx, r)
		}
	}
	in, err := memcache.Inspect(ctx, b, "k", memcache.WithCounters(&counters), memcache.WithMiddleware(mw))
	require.NoError(t, err)
	require.NoError(t, in.Problem)
	assert.False(t, called)
	assert.Zero(t, counters.Hits.Load())
}

// Values JSON has no literal for are rendered, not refused.
func TestInspectRendersWhatJSONCannot(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	for _, c := range []codec.Codec{codec.Msgpack, codec.CBOR} {
		s, err := memcache.NewStore[map[int]any](b, memcache.WithCodec(c))
		require.NoError(t, err)
		require.NoError(t, s.Set(ctx, c.Name(), map[int]any{1: math.NaN(), 2: math.Inf(-1), 3: map[int]float32{4: float32(math.Inf(1))}}))
		in := inspectUnchanged(t, b, c.Name())
		require.NoError(t, in.Problem)
		var got map[string]any
		require.NoError(t, json.Unmarshal(in.JSON, &got), "%s", in.JSON)
		assert.Equal(t, map[string]any{"1": "NaN", "2": "-Inf", "3": map[string]any{"4": "+Inf"}}, got, c.Name())
	}
}
