package memcache_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

type shapeV1 struct {
	Name string `json:"name" msgpack:"name"`
}

type shapeV2 struct {
	Name  string `json:"name" msgpack:"name"`
	Count int    `json:"count" msgpack:"count"`
}

func zlibOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// phpFramed is a value as php-memcached compresses it: the length,
// little-endian, then the compressed bytes.
func phpFramed(n int, compressed []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(n)), compressed...)
}

// TestInteropWritesTheProfilesFlags checks the item each profile writes:
// its flags, and the codec's bytes without a trailer, compressed with zlib
// in the profile's framing.
func TestInteropWritesTheProfilesFlags(t *testing.T) {
	ctx := context.Background()
	long := shapeV1{Name: strings.Repeat("compressible ", 100)}
	for _, c := range []struct {
		profile            memcache.Interop
		codec              codec.Codec
		compress           bool
		flags, compressedF uint32
	}{
		{memcache.InteropRaw, codec.JSON, false, 0, 0},
		{memcache.InteropRaw, codec.Gob, false, 0, 0},
		{memcache.InteropPHP, codec.JSON, true, 6, 0x36},
		{memcache.InteropPHP, codec.Msgpack, true, 7, 0x37},
		{memcache.InteropPython, codec.JSON, true, 0, 8},
		{memcache.InteropPython, codec.CBOR, true, 0, 8},
	} {
		t.Run(c.profile.String()+"/"+c.codec.Name(), func(t *testing.T) {
			b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
			opts := []memcache.Option{memcache.WithInterop(c.profile), memcache.WithCodec(c.codec), memcache.WithNamespace("ns", "v1")}
			if c.compress {
				opts = append(opts, memcache.WithCompression(64), memcache.WithMaxCompressionRatio(1000))
			}
			s, err := memcache.NewStore[shapeV1](b, opts...)
			require.NoError(t, err)
			require.NoError(t, s.Set(ctx, "short", shapeV1{Name: "x"}))
			k, err := s.Key("short")
			require.NoError(t, err)
			it, err := b.Get(ctx, k)
			require.NoError(t, err)
			assert.Equal(t, c.flags, it.Flags)
			want, err := c.codec.Marshal(shapeV1{Name: "x"})
			require.NoError(t, err)
			assert.Equal(t, want, it.Value, "the codec's bytes exactly, no trailer")
			if !c.compress {
				return
			}
			require.NoError(t, s.Set(ctx, "long", long))
			k, _ = s.Key("long")
			it, err = b.Get(ctx, k)
			require.NoError(t, err)
			assert.Equal(t, c.compressedF, it.Flags)
			raw, err := c.codec.Marshal(long)
			require.NoError(t, err)
			body := it.Value
			if c.profile == memcache.InteropPHP {
				require.Equal(t, uint32(len(raw)), binary.LittleEndian.Uint32(body))
				body = body[4:]
			}
			r, err := zlib.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			var out bytes.Buffer
			_, err = out.ReadFrom(r)
			require.NoError(t, err)
			assert.Equal(t, raw, out.Bytes())
			got, err := s.Get(ctx, "long")
			require.NoError(t, err)
			assert.Equal(t, long, got)
		})
	}
}

// TestInteropNewStoreRefuses checks the combinations no other client reads.
func TestInteropNewStoreRefuses(t *testing.T) {
	for name, opts := range map[string][]memcache.Option{
		"raw cannot compress":   {memcache.WithInterop(memcache.InteropRaw), memcache.WithCompression(0)},
		"php has no gob reader": {memcache.WithInterop(memcache.InteropPHP), memcache.WithCodec(codec.Gob)},
		"php has no cbor":       {memcache.WithInterop(memcache.InteropPHP), memcache.WithCodec(codec.CBOR)},
		"no chunks":             {memcache.WithInterop(memcache.InteropPython), memcache.WithChunking()},
		"no negative entries":   {memcache.WithInterop(memcache.InteropPython), memcache.WithNegativeTTL(time.Second)},
		"unknown profile":       {memcache.WithInterop(memcache.Interop(99))},
	} {
		_, err := memcache.NewStore[shapeV1](nil, opts...)
		assert.Error(t, err, name)
	}
}

// TestInteropKeys checks that a profile uses legal keys as they are, '#'
// included, refuses illegal ones, and puts the schema fingerprint in the
// prefix; without a profile, '#' keys are still mapped.
func TestInteropKeys(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	s, err := memcache.NewStore[shapeV1](b, memcache.WithInterop(memcache.InteropRaw), memcache.WithNamespace("ns", "v1"))
	require.NoError(t, err)
	fp, ok := s.Fingerprint()
	require.True(t, ok)
	k, err := s.Key("order#17")
	require.NoError(t, err)
	assert.Equal(t, "ns:v1:fp"+fp.String()+":order#17", k)
	require.NoError(t, s.Set(ctx, "order#17", shapeV1{Name: "a"}))
	_, err = b.Get(ctx, k)
	require.NoError(t, err, "the value is under the key as given")
	for name, key := range memcachetest.IllegalKeys {
		_, err := s.Key(key)
		assert.ErrorIs(t, err, memcache.ErrMalformedKey, name)
		assert.ErrorIs(t, s.Set(ctx, key, shapeV1{}), memcache.ErrMalformedKey, name)
	}
	_, err = s.Key(strings.Repeat("k", memcache.MaxKeyLen))
	assert.ErrorIs(t, err, memcache.ErrMalformedKey)

	plain, err := memcache.NewStore[shapeV1](b, memcache.WithInterop(memcache.InteropRaw), memcache.WithoutFingerprint())
	require.NoError(t, err)
	k, err = plain.Key("order#17")
	require.NoError(t, err)
	assert.Equal(t, "order#17", k, "no namespace and no fingerprint: no prefix")

	def, err := memcache.NewStore[shapeV1](b)
	require.NoError(t, err)
	k, err = def.Key("order#17")
	require.NoError(t, err)
	assert.NotEqual(t, "order#17", k, "the default format still maps '#' keys")
}

// TestInteropOldShapeIsAMissAndNeverOverwritten checks that under a
// profile a store of a new shape finds nothing under the key of the old
// one, and that its GetOrLoad leaves the old value alone.
func TestInteropOldShapeIsAMissAndNeverOverwritten(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	opts := []memcache.Option{memcache.WithInterop(memcache.InteropPython), memcache.WithNamespace("ns", "v1")}
	old, err := memcache.NewStore[shapeV1](b, opts...)
	require.NoError(t, err)
	cur, err := memcache.NewStore[shapeV2](b, opts...)
	require.NoError(t, err)
	require.NoError(t, old.Set(ctx, "k", shapeV1{Name: "old"}))
	_, err = cur.Get(ctx, "k")
	assert.ErrorIs(t, err, memcache.ErrCacheMiss)
	v, err := cur.GetOrLoad(ctx, "k", func(context.Context) (shapeV2, error) { return shapeV2{Name: "new", Count: 2}, nil })
	require.NoError(t, err)
	assert.Equal(t, shapeV2{Name: "new", Count: 2}, v)
	got, err := old.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, shapeV1{Name: "old"}, got, "the old shape's value is untouched")
	again, err := cur.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, v, again)
}

// TestInteropReadsOtherClientsValues sets items as php-memcached, pylibmc
// and pymemcache write them, and checks what each profile reads: the
// value, or a *FormatError where reading would give a wrong value.
func TestInteropReadsOtherClientsValues(t *testing.T) {
	ctx := context.Background()
	doc := `{"name":"php"}`
	var digits strings.Builder
	for i := range 700 {
		fmt.Fprint(&digits, i*i)
	}
	long := `{"name":"` + digits.String() + `"}`
	msgp, err := codec.Msgpack.Marshal(shapeV1{Name: "php"})
	require.NoError(t, err)
	// The JSON string "abcabcabcabc" in FastLZ level 1: a literal run of
	// 4 bytes, a match of 9 at distance 3, a literal run of 1.
	fastlz := []byte{0x03, '"', 'a', 'b', 'c', 0xE0, 0x00, 0x02, 0x00, '"'}
	type item struct {
		flags uint32
		value []byte
	}
	for _, c := range []struct {
		name    string
		profile memcache.Interop
		codec   codec.Codec
		it      item
		want    any // shapeV1, int, string or nil for a *FormatError
	}{
		{"php json", memcache.InteropPHP, codec.JSON, item{6, []byte(doc)}, shapeV1{Name: "php"}},
		{"php string holding json", memcache.InteropPHP, codec.JSON, item{0, []byte(doc)}, shapeV1{Name: "php"}},
		{"php long", memcache.InteropPHP, codec.JSON, item{1, []byte("12")}, 12},
		{"php zlib json", memcache.InteropPHP, codec.JSON, item{0x36, phpFramed(len(long), zlibOf(t, []byte(long)))}, shapeV1{Name: digits.String()}},
		{"php fastlz string", memcache.InteropPHP, codec.JSON, item{0x50, phpFramed(14, fastlz)}, `abcabcabcabc`},
		{"php msgpack", memcache.InteropPHP, codec.Msgpack, item{7, msgp}, shapeV1{Name: "php"}},
		{"php zstd", memcache.InteropPHP, codec.JSON, item{0x96, phpFramed(len(doc), []byte("zstd"))}, nil},
		{"php serialize()", memcache.InteropPHP, codec.JSON, item{4, []byte(`a:0:{}`)}, nil},
		{"php string read as msgpack", memcache.InteropPHP, codec.Msgpack, item{0, []byte("abc")}, nil},
		{"php json read as msgpack", memcache.InteropPHP, codec.Msgpack, item{6, []byte(doc)}, nil},
		{"php user flags", memcache.InteropPHP, codec.JSON, item{6 | 1<<16, []byte(doc)}, nil},
		{"leancache default format", memcache.InteropPHP, codec.JSON, item{0x4C010001, []byte(doc)}, nil},
		{"python bytes", memcache.InteropPython, codec.JSON, item{0, []byte(doc)}, shapeV1{Name: "php"}},
		{"python zlib", memcache.InteropPython, codec.JSON, item{8, zlibOf(t, []byte(doc))}, shapeV1{Name: "php"}},
		{"python text", memcache.InteropPython, codec.JSON, item{16, []byte(doc)}, shapeV1{Name: "php"}},
		{"python zlib text", memcache.InteropPython, codec.JSON, item{24, zlibOf(t, []byte(doc))}, shapeV1{Name: "php"}},
		{"pymemcache int", memcache.InteropPython, codec.JSON, item{2, []byte("7")}, 7},
		{"pylibmc int", memcache.InteropPython, codec.JSON, item{4, []byte("7")}, 7},
		{"python int read as msgpack", memcache.InteropPython, codec.Msgpack, item{4, []byte("7")}, nil},
		{"python pickle", memcache.InteropPython, codec.JSON, item{1, []byte("\x80\x04N.")}, nil},
		{"python msgpack", memcache.InteropPython, codec.Msgpack, item{0, msgp}, shapeV1{Name: "php"}},
		{"raw bytes", memcache.InteropRaw, codec.JSON, item{0, []byte(doc)}, shapeV1{Name: "php"}},
		{"raw refuses flags", memcache.InteropRaw, codec.JSON, item{8, zlibOf(t, []byte(doc))}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
			opts := []memcache.Option{memcache.WithInterop(c.profile), memcache.WithCodec(c.codec), memcache.WithoutFingerprint()}
			require.NoError(t, b.Set(ctx, &memcache.Item{Key: "k", Flags: c.it.flags, Value: c.it.value}))
			var got any
			switch c.want.(type) {
			case int:
				s, err := memcache.NewStore[int](b, opts...)
				require.NoError(t, err)
				got, err = s.Get(ctx, "k")
				require.NoError(t, err)
			case string:
				s, err := memcache.NewStore[string](b, opts...)
				require.NoError(t, err)
				got, err = s.Get(ctx, "k")
				require.NoError(t, err)
			default:
				s, err := memcache.NewStore[shapeV1](b, opts...)
				require.NoError(t, err)
				v, err := s.Get(ctx, "k")
				if c.want == nil {
					var fe *memcache.FormatError
					require.ErrorAs(t, err, &fe, "read as %+v", v)
					assert.Equal(t, c.it.flags, fe.Flags)
					return
				}
				require.NoError(t, err)
				got = v
			}
			assert.Equal(t, c.want, got)
		})
	}
}

// TestInteropDecompressionBudget checks that values compressed by other
// clients are held to the read path's budget: a PHP header claiming more
// than the ratio allows is refused before anything is inflated, and a zlib
// stream without a header is read no further than the budget.
func TestInteropDecompressionBudget(t *testing.T) {
	ctx := context.Background()
	zeros := zlibOf(t, make([]byte, 1<<20))
	for name, c := range map[string]struct {
		profile memcache.Interop
		it      *memcache.Item
	}{
		"php claims 4 GiB":        {memcache.InteropPHP, &memcache.Item{Key: "k", Flags: 0x36, Value: phpFramed(1<<32-1, zlibOf(t, []byte(`"x"`)))}},
		"php fastlz claims 4 GiB": {memcache.InteropPHP, &memcache.Item{Key: "k", Flags: 0x56, Value: phpFramed(1<<32-1, []byte{0, '1'})}},
		"php zlib bomb":           {memcache.InteropPHP, &memcache.Item{Key: "k", Flags: 0x36, Value: phpFramed(1<<20, zeros)}},
		"python zlib bomb":        {memcache.InteropPython, &memcache.Item{Key: "k", Flags: 8, Value: zeros}},
	} {
		b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
		require.NoError(t, b.Set(ctx, c.it))
		s, err := memcache.NewStore[string](b, memcache.WithInterop(c.profile), memcache.WithoutFingerprint())
		require.NoError(t, err)
		_, err = s.Get(ctx, "k")
		assert.ErrorIs(t, err, codec.ErrBudget, name)
		var de *memcache.DecodeError
		assert.ErrorAs(t, err, &de, name)
	}
	// A header that does not match what the stream holds is corrupt.
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	require.NoError(t, b.Set(ctx, &memcache.Item{Key: "k", Flags: 0x36, Value: phpFramed(2, zlibOf(t, []byte(`"x"`)))}))
	s, err := memcache.NewStore[string](b, memcache.WithInterop(memcache.InteropPHP), memcache.WithoutFingerprint())
	require.NoError(t, err)
	_, err = s.Get(ctx, "k")
	var de *memcache.DecodeError
	assert.ErrorAs(t, err, &de)
}

// TestGetOrLoadLeavesForeignValues checks that GetOrLoad answers from the
// loader without overwriting a value another program wrote, counts and
// reports it, and overwrites it WithOverwriteForeign; leancache's own
// values (another codec, another schema) are overwritten as before.
func TestGetOrLoadLeavesForeignValues(t *testing.T) {
	ctx := context.Background()
	load := func(context.Context) (shapeV1, error) { return shapeV1{Name: "loaded"}, nil }
	for _, c := range []struct {
		name      string
		opts      []memcache.Option
		it        func(b memcache.Backend) // writes the value found under "k"
		overwrite bool
	}{
		{"plain json of another service", nil, func(b memcache.Backend) {
			require.NoError(t, b.Set(ctx, &memcache.Item{Key: "k", Value: []byte(`{"name":"php"}`)}))
		}, false},
		{"php json", nil, func(b memcache.Backend) {
			require.NoError(t, b.Set(ctx, &memcache.Item{Key: "k", Flags: 6, Value: []byte(`{"name":"php"}`)}))
		}, false},
		{"plain json, opted in", []memcache.Option{memcache.WithOverwriteForeign()}, func(b memcache.Backend) {
			require.NoError(t, b.Set(ctx, &memcache.Item{Key: "k", Value: []byte(`{"name":"php"}`)}))
		}, true},
		{"leancache value of another codec", nil, func(b memcache.Backend) {
			s, err := memcache.NewStore[shapeV1](b, memcache.WithCodec(codec.Msgpack))
			require.NoError(t, err)
			require.NoError(t, s.Set(ctx, "k", shapeV1{Name: "msgpack"}))
		}, true},
		{"leancache value of another schema", nil, func(b memcache.Backend) {
			s, err := memcache.NewStore[shapeV2](b)
			require.NoError(t, err)
			require.NoError(t, s.Set(ctx, "k", shapeV2{Name: "v2"}))
		}, true},
		{"php serialize() under the php profile", []memcache.Option{memcache.WithInterop(memcache.InteropPHP), memcache.WithoutFingerprint()}, func(b memcache.Backend) {
			require.NoError(t, b.Set(ctx, &memcache.Item{Key: "k", Flags: 4, Value: []byte(`a:0:{}`)}))
		}, false},
		{"undecodable json under the php profile", []memcache.Option{memcache.WithInterop(memcache.InteropPHP), memcache.WithoutFingerprint()}, func(b memcache.Backend) {
			require.NoError(t, b.Set(ctx, &memcache.Item{Key: "k", Flags: 6, Value: []byte(`[1,2]`)}))
		}, false},
		{"leancache value under the php profile", []memcache.Option{memcache.WithInterop(memcache.InteropPHP), memcache.WithoutFingerprint()}, func(b memcache.Backend) {
			s, err := memcache.NewStore[shapeV1](b, memcache.WithoutFingerprint())
			require.NoError(t, err)
			require.NoError(t, s.Set(ctx, "k", shapeV1{Name: "default format"}))
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
			c.it(b)
			before, err := b.Get(ctx, "k")
			require.NoError(t, err)
			var counters memcache.Counters
			var reported []error
			opts := append([]memcache.Option{memcache.WithCounters(&counters),
				memcache.WithErrorHandler(func(_ string, err error) { reported = append(reported, err) })}, c.opts...)
			s, err := memcache.NewStore[shapeV1](b, opts...)
			require.NoError(t, err)
			v, err := s.GetOrLoad(ctx, "k", load)
			require.NoError(t, err)
			assert.Equal(t, shapeV1{Name: "loaded"}, v, "the caller gets the loaded value")
			after, err := b.Get(ctx, "k")
			require.NoError(t, err)
			if c.overwrite {
				assert.NotEqual(t, before.Value, after.Value, "overwritten")
				assert.Zero(t, counters.ForeignKept.Load())
				for _, err := range reported {
					assert.NotErrorIs(t, err, memcache.ErrForeignValue)
				}
				return
			}
			assert.Equal(t, before.Value, after.Value, "left in place")
			assert.Equal(t, before.Flags, after.Flags)
			assert.Equal(t, int64(1), counters.ForeignKept.Load())
			require.Len(t, reported, 1)
			assert.ErrorIs(t, reported[0], memcache.ErrForeignValue)
			var fe *memcache.FormatError
			var de *memcache.DecodeError
			assert.True(t, errors.As(reported[0], &fe) || errors.As(reported[0], &de), "%v", reported[0])
		})
	}
}

// TestInteropRawIsPlainJSON checks that InteropRaw writes what any JSON
// parser reads.
func TestInteropRawIsPlainJSON(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	s, err := memcache.NewStore[shapeV2](b, memcache.WithInterop(memcache.InteropRaw), memcache.WithoutFingerprint())
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "k", shapeV2{Name: "n", Count: 3}))
	it, err := b.Get(ctx, "k")
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(it.Value, &m), "plain JSON, as any parser reads it")
	assert.Equal(t, map[string]any{"name": "n", "count": 3.0}, m)
}

// TestInteropPHPRefusesMsgpackExtensions checks that a PHP store of codec
// msgpack refuses a value holding an extension type (time.Time), which
// php-memcached reads as NULL with success, and writes the same bytes
// appearing inside strings, binaries and numbers.
func TestInteropPHPRefusesMsgpackExtensions(t *testing.T) {
	ctx := context.Background()
	type withTime struct {
		At time.Time `msgpack:"at"`
	}
	type plain struct {
		S   string         `msgpack:"s"`
		B   []byte         `msgpack:"b"`
		F   float64        `msgpack:"f"`
		I   int64          `msgpack:"i"`
		U   uint16         `msgpack:"u"`
		L   []string       `msgpack:"l"`
		M   map[string]int `msgpack:"m"`
		Big string         `msgpack:"big"`
	}
	opts := []memcache.Option{memcache.WithInterop(memcache.InteropPHP), memcache.WithCodec(codec.Msgpack)}
	ts, err := memcache.NewStore[withTime](nil, opts...)
	require.NoError(t, err)
	err = ts.Set(ctx, "k", withTime{At: time.Unix(1700000000, 0)})
	var ee *memcache.EncodeError
	require.ErrorAs(t, err, &ee)
	assert.Contains(t, err.Error(), "NULL")

	ps, err := memcache.NewStore[plain](nil, opts...)
	require.NoError(t, err)
	v := plain{S: "\xd4\xc7\xc8", B: []byte{0xd4, 0xd5, 0xc9}, F: -1.5, I: -0xd4d4d4d4, U: 0xd4c7,
		L: []string{"\xd7", strings.Repeat("\xd9", 40), strings.Repeat("\xd8", 300)}, M: map[string]int{"\xd8": 0xd6}, Big: strings.Repeat("\xc7", 70000)}
	require.NoError(t, ps.Set(ctx, "k", v))
	got, err := ps.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, v, got)

	py, err := memcache.NewStore[withTime](nil, memcache.WithInterop(memcache.InteropPython), memcache.WithCodec(codec.Msgpack))
	require.NoError(t, err)
	assert.NoError(t, py.Set(ctx, "k", withTime{At: time.Unix(1700000000, 0)}), "Python's msgpack reads the extension as a msgpack.Timestamp, not as a wrong value")
}

// FuzzInteropStoreGet reads items of any flags and bytes through a store
// of each profile: a value, or a *FormatError or *DecodeError, never a
// panic or another error.
func FuzzInteropStoreGet(f *testing.F) {
	f.Add(uint32(0x36), phpFramed(3, []byte{0x78, 0x9c, 0x53, 0x52, 0x02, 0x00, 0x00, 0x95, 0x00, 0x45}))
	f.Add(uint32(0x56), phpFramed(14, []byte{0x03, '"', 'a', 'b', 'c', 0xE0, 0x00, 0x02, 0x00, '"'}))
	f.Add(uint32(8), []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	f.Add(uint32(7), []byte{0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa1, 'x'})
	f.Add(uint32(0), []byte(`{"name":"x"}`))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, flags uint32, value []byte) {
		b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
		if err := b.Set(ctx, &memcache.Item{Key: "k", Flags: flags, Value: value}); err != nil {
			return
		}
		for _, p := range []memcache.Interop{memcache.InteropRaw, memcache.InteropPHP, memcache.InteropPython} {
			for _, c := range []codec.Codec{codec.JSON, codec.Msgpack} {
				s, err := memcache.NewStore[shapeV1](b, memcache.WithInterop(p), memcache.WithCodec(c), memcache.WithoutFingerprint())
				require.NoError(t, err)
				_, err = s.Get(ctx, "k")
				var fe *memcache.FormatError
				var de *memcache.DecodeError
				if err != nil && !errors.Is(err, memcache.ErrCacheMiss) && !errors.As(err, &fe) && !errors.As(err, &de) {
					t.Fatalf("%s/%s: flags %#x: untyped error %v", p, c.Name(), flags, err)
				}
			}
		}
	})
}
