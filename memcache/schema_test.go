package memcache_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// Version A of a cached type, and the shapes a deploy turns it into.
type (
	acctA struct {
		ID    int
		Name  string
		Email string
	}
	acctFieldAdded struct {
		ID    int
		Name  string
		Email string
		Admin bool
	}
	acctFieldRemoved struct {
		ID   int
		Name string
	}
	acctFieldRenamed struct {
		ID       int
		FullName string
		Email    string
	}
	acctFieldRetyped struct {
		ID    int
		Name  []string
		Email string
	}
	acctCachedAdded struct {
		ID      int
		Name    string
		Email   string
		Initial string `cacheprop:"initial"`
		Gravat  cacheprop.Lazy[string]
	}
	acctCachedChanged struct {
		ID      int
		Name    string
		Email   string
		Initial []rune `cacheprop:"initial-v2"`
	}
)

// realServer starts memcached (-I 1m) for one test and returns a client.
func realServer(t *testing.T) memcache.Backend {
	t.Helper()
	srv := memcachetest.NewServer(t, memcachetest.Options{ItemSize: "1m"})
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	return c
}

// readAs reads key with a store of type B and the given codec, counting in
// counters, and reports the value, the error and how many schema misses it
// counted.
func readAs[B any](t *testing.T, b memcache.Backend, c codec.Codec, key string, opts ...memcache.Option) (B, int64, error) {
	t.Helper()
	counters := &memcache.Counters{}
	s := newStore[B](t, b, append([]memcache.Option{memcache.WithCodec(c), memcache.WithFingerprint(), memcache.WithCounters(counters)}, opts...)...)
	v, err := s.Get(context.Background(), key)
	return v, counters.SchemaMisses.Load(), err
}

// TestSchemaChangesAgainstMemcached writes a value with a store of version
// A and reads it with a store of each other version, through a real
// memcached: a change on the wire is a counted miss, never a decode into
// the wrong shape; a change of cached properties only is still a hit.
func TestSchemaChangesAgainstMemcached(t *testing.T) {
	b := realServer(t)
	ctx := context.Background()
	want := acctA{ID: 7, Name: "ann", Email: "ann@example.com"}
	for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR} {
		t.Run(c.Name(), func(t *testing.T) {
			writer := newStore[*acctA](t, b, memcache.WithCodec(c), memcache.WithFingerprint(), memcache.WithNamespace(c.Name(), ""))
			require.NoError(t, writer.Set(ctx, "u", &want))
			ns := memcache.WithNamespace(c.Name(), "")

			miss := func(name string, err error, counted int64) {
				t.Helper()
				require.ErrorIs(t, err, memcache.ErrCacheMiss, name)
				var fe *memcache.FormatError
				require.ErrorAs(t, err, &fe, name)
				assert.Contains(t, fe.Error(), "schema fingerprint", name)
				assert.EqualValues(t, 1, counted, "%s: counted as a schema miss", name)
			}
			v1, n, err := readAs[*acctFieldAdded](t, b, c, "u", ns)
			miss("field added", err, n)
			assert.Nil(t, v1)
			v2, n, err := readAs[*acctFieldRemoved](t, b, c, "u", ns)
			miss("field removed", err, n)
			assert.Nil(t, v2)
			v3, n, err := readAs[*acctFieldRenamed](t, b, c, "u", ns)
			miss("field renamed", err, n)
			assert.Nil(t, v3, "a renamed field never reads as zero")
			v4, n, err := readAs[*acctFieldRetyped](t, b, c, "u", ns)
			miss("field retyped", err, n)
			assert.Nil(t, v4)

			got, n, err := readAs[*acctCachedAdded](t, b, c, "u", ns)
			require.NoError(t, err, "cached properties added: still a hit")
			assert.Zero(t, n)
			assert.Equal(t, &acctCachedAdded{ID: 7, Name: "ann", Email: "ann@example.com"}, got)

			// Written by the version with cached properties, read by the
			// one that dropped them, and by the one that changed them.
			withCached := newStore[*acctCachedAdded](t, b, memcache.WithCodec(c), memcache.WithFingerprint(), ns)
			require.NoError(t, withCached.Set(ctx, "u2", &acctCachedAdded{ID: 8, Name: "bob", Initial: "b"}))
			back, n, err := readAs[*acctA](t, b, c, "u2", ns)
			require.NoError(t, err, "cached properties removed: still a hit")
			assert.Zero(t, n)
			assert.Equal(t, &acctA{ID: 8, Name: "bob"}, back)
			changed, n, err := readAs[*acctCachedChanged](t, b, c, "u2", ns)
			require.NoError(t, err, "cached property changed: still a hit")
			assert.Zero(t, n)
			assert.Equal(t, &acctCachedChanged{ID: 8, Name: "bob"}, changed)

			// Unchanged: the same type in another store reads it.
			same, n, err := readAs[*acctA](t, b, c, "u", ns)
			require.NoError(t, err)
			assert.Zero(t, n)
			assert.Equal(t, &want, same)
		})
	}
}

func TestSchemaMissReloadsAndOverwrites(t *testing.T) {
	b := realServer(t)
	ctx := context.Background()
	old := newStore[*acctA](t, b, memcache.WithFingerprint())
	require.NoError(t, old.Set(ctx, "u", &acctA{ID: 1, Name: "ann"}))

	counters := &memcache.Counters{}
	var reported []error
	next := newStore[*acctFieldRenamed](t, b, memcache.WithFingerprint(), memcache.WithCounters(counters),
		memcache.WithErrorHandler(func(_ string, err error) { reported = append(reported, err) }))
	loads := 0
	load := func(context.Context) (*acctFieldRenamed, error) {
		loads++
		return &acctFieldRenamed{ID: 1, FullName: "Ann Smith"}, nil
	}
	got, err := next.GetOrLoad(ctx, "u", load)
	require.NoError(t, err)
	assert.Equal(t, "Ann Smith", got.FullName)
	assert.Equal(t, 1, loads, "another schema is a miss: loaded")
	assert.Empty(t, reported, "a schema miss is a miss, not a failure")
	assert.EqualValues(t, 1, counters.SchemaMisses.Load())

	got, err = next.GetOrLoad(ctx, "u", load)
	require.NoError(t, err)
	assert.Equal(t, "Ann Smith", got.FullName)
	assert.Equal(t, 1, loads, "the reload overwrote the old value")

	// And now the old version is the one that misses, until its own reload.
	_, err = old.Get(ctx, "u")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
}

func TestSchemaGetMultiLeavesOtherSchemasOut(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	old := newStore[*acctA](t, b, memcache.WithFingerprint())
	cur := newStore[*acctFieldAdded](t, b, memcache.WithFingerprint())
	require.NoError(t, old.Set(ctx, "a", &acctA{ID: 1}))
	require.NoError(t, cur.Set(ctx, "b", &acctFieldAdded{ID: 2, Admin: true}))
	got, err := cur.GetMulti(ctx, []string{"a", "b"})
	require.NoError(t, err, "a value of another schema is a miss, not an error")
	assert.Equal(t, map[string]*acctFieldAdded{"b": {ID: 2, Admin: true}}, got)
}

func TestWithoutFingerprintWritesAsBefore(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	plain := newStore[*acctA](t, b, memcache.WithoutFingerprint())
	_, ok := plain.Fingerprint()
	assert.False(t, ok)
	require.NoError(t, plain.Set(ctx, "u", &acctA{ID: 1, Name: "ann"}))
	it, err := b.Get(ctx, "u")
	require.NoError(t, err)
	assert.JSONEq(t, `{"ID":1,"Name":"ann","Email":""}`, string(it.Value), "no header: the bytes of before")
	assert.Equal(t, uint32(0x4C010009), it.Flags, "format version 1, json")

	// A fingerprinting store does not trust a value with no fingerprint.
	_, n, err := readAs[*acctA](t, b, codec.JSON, "u")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
	assert.EqualValues(t, 1, n)

	// A store without fingerprints reads values with one, whatever it is:
	// its user manages versions by hand.
	fp := newStore[*acctFieldAdded](t, b, memcache.WithFingerprint())
	require.NoError(t, fp.Set(ctx, "v", &acctFieldAdded{ID: 2, Name: "bob", Admin: true}))
	it, err = b.Get(ctx, "v")
	require.NoError(t, err)
	assert.Equal(t, uint32(0x4C020009), it.Flags, "format version 2, json")
	want, _ := fp.Fingerprint()
	assert.Equal(t, want.String(), hexOf(it.Value[len(it.Value)-8:]), "the value ends with the fingerprint")
	assert.Equal(t, len(it.Value)-12, int(binary.BigEndian.Uint32(it.Value[len(it.Value)-12:])), "after the payload's length")
	got, err := plain.Get(ctx, "v")
	require.NoError(t, err)
	assert.Equal(t, &acctA{ID: 2, Name: "bob"}, got)
}

func TestFingerprintTruncatedValueIsADecodeError(t *testing.T) {
	ctx := context.Background()
	b := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	s := newStore[*acctA](t, b, memcache.WithFingerprint())
	require.NoError(t, s.Set(ctx, "u", &acctA{ID: 1}))
	it, err := b.Get(ctx, "u")
	require.NoError(t, err)
	full := it.Value
	for _, n := range []int{0, 5, 12, len(full) / 2, len(full) - 1} {
		it.Value = full[:n]
		require.NoError(t, b.Set(ctx, it))
		_, err = s.Get(ctx, "u")
		var de *memcache.DecodeError
		require.ErrorAs(t, err, &de, "cut to %d of %d bytes", n, len(full))
		assert.False(t, errors.Is(err, memcache.ErrCacheMiss), "a cut value is not another schema")
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// ProfileV1 and ProfileV2 are one cached type before and after a deploy
// that renamed a field.
type ProfileV1 struct {
	Name string
}

type ProfileV2 struct {
	FullName string
	Initials string `cacheprop:"initials"` // derived: not on the wire
}

func ExampleWithFingerprint() {
	ctx := context.Background()
	backend := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	before, _ := memcache.NewStore[*ProfileV1](backend, memcache.WithFingerprint())
	_ = before.Set(ctx, "u1", &ProfileV1{Name: "Ann"})

	// After the deploy, the old bytes are not decoded into the new shape
	// (FullName would read as ""): they are a miss, counted, and reloaded.
	var counters memcache.Counters
	after, _ := memcache.NewStore[*ProfileV2](backend, memcache.WithFingerprint(), memcache.WithCounters(&counters))
	_, err := after.Get(ctx, "u1")
	fmt.Println("miss:", errors.Is(err, memcache.ErrCacheMiss), "schema misses:", counters.SchemaMisses.Load())
	p, _ := after.GetOrLoad(ctx, "u1", func(context.Context) (*ProfileV2, error) {
		return &ProfileV2{FullName: "Ann Smith"}, nil
	})
	fmt.Println(p.FullName)

	fp, _ := after.Fingerprint()
	text, _ := codec.WireSchema(reflect.TypeFor[*ProfileV2](), codec.JSON)
	fmt.Println(fp)
	fmt.Println(text)
	// Output:
	// miss: true schema misses: 1
	// Ann Smith
	// 085397b33db1d626
	// leancache-schema/1 json {"FullName" string}
}

// describedBytes is rawBytes with a schema: its Marshal returns the
// caller's own slice.
type describedBytes struct{ rawBytes }

func (describedBytes) Name() string                     { return "described-bytes" }
func (describedBytes) WireSchema(t reflect.Type) string { return "bytes" }

func TestFingerprintNeverWritesIntoTheCallersMemory(t *testing.T) {
	ctx := context.Background()
	s := newStore[[]byte](t, nil, memcache.WithCodec(describedBytes{}), memcache.WithFingerprint())
	_, ok := s.Fingerprint()
	require.True(t, ok)
	buf := []byte("value|spare capacity the caller still uses")
	value := buf[:5]
	require.NoError(t, s.Set(ctx, "k", value))
	assert.Equal(t, "value|spare capacity the caller still uses", string(buf))
	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "value", string(got))
}

// textMarker gives the types embedding it a MarshalText method, which gob
// ignores: gob encodes them by their fields.
type textMarker struct{}

func (textMarker) MarshalText() ([]byte, error) { return []byte("label"), nil }

// writeLabelV2 and readLabelV1 stand for two deploys of one type: the same
// name (gobLabel in gobText) with other fields.
func writeLabelV2(t *testing.T, b memcache.Backend, key string, opts ...memcache.Option) {
	type gobLabel struct {
		textMarker
		Text []int
	}
	type gobText struct{ Label gobLabel }
	s := newStore[*gobText](t, b, append([]memcache.Option{memcache.WithCodec(codec.Gob)}, opts...)...)
	require.NoError(t, s.Set(context.Background(), key, &gobText{Label: gobLabel{Text: []int{1, 2}}}))
}

func readLabelV1(t *testing.T, b memcache.Backend, key string, opts ...memcache.Option) (int64, error) {
	type gobLabel struct {
		textMarker
		Text string
	}
	type gobText struct{ Label gobLabel }
	_, n, err := readAs[*gobText](t, b, codec.Gob, key, opts...)
	return n, err
}

// A recursive type before and after a deploy added a cached property:
// gob writes the second in its table format.
type (
	gobTreeV1 struct {
		Name string
		Kids []*gobTreeV1
	}
	gobTreeV2 struct {
		Name  string
		Kids  []*gobTreeV2
		Count int `cacheprop:"count"`
	}
)

// TestGobOldReadersNeverFailToDecode writes a value of each new shape and
// reads it with the store of the old one, through a real memcached: a
// shape gob cannot read as the old one is a schema miss, never a decode
// error.
func TestGobOldReadersNeverFailToDecode(t *testing.T) {
	b := realServer(t)
	ctx := context.Background()
	ns := memcache.WithNamespace("gob-old-readers", "")
	check := func(name string, err error, misses int64) {
		t.Helper()
		require.ErrorIs(t, err, memcache.ErrCacheMiss, "%s: an old reader misses", name)
		assert.EqualValues(t, 1, misses, "%s: counted as a schema miss", name)
	}

	writeLabelV2(t, b, "text", ns)
	n, err := readLabelV1(t, b, "text", ns)
	check("a MarshalText type's fields changed", err, n)

	tree := newStore[*gobTreeV2](t, b, memcache.WithCodec(codec.Gob), ns)
	require.NoError(t, tree.Set(ctx, "tree", &gobTreeV2{Name: "root", Kids: []*gobTreeV2{{Name: "kid"}}, Count: 2}))
	_, n, err = readAs[*gobTreeV1](t, b, codec.Gob, "tree", ns)
	check("a recursive type gained a cached property", err, n)
	// And the other way round: the old writer, the new reader.
	old := newStore[*gobTreeV1](t, b, memcache.WithCodec(codec.Gob), ns)
	require.NoError(t, old.Set(ctx, "tree1", &gobTreeV1{Name: "root"}))
	_, n, err = readAs[*gobTreeV2](t, b, codec.Gob, "tree1", ns)
	check("a recursive type lost its table format", err, n)
}
