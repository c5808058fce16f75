package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// Product is what the tests cache; Summary is a cached property, which no
// codec writes and so no inspection shows.
type Product struct {
	Name    string
	Price   int
	Tags    []string
	Body    string
	Summary string `cacheprop:"derived"`
}

func newProduct(body string) *Product {
	return &Product{Name: "widget", Price: 1299, Tags: []string{"blue", "large"}, Body: body, Summary: "LEAKED"}
}

// runInspect runs "leancache inspect" with args and returns its status,
// stdout and stderr.
func runInspect(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"inspect"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func newClient(t *testing.T, addrs ...string) *memcache.Client {
	t.Helper()
	c, err := memcache.NewClient(memcache.ClientConfig{Servers: addrs})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// stored returns the item under the memcached key k, to compare before
// and after an inspection.
func stored(t *testing.T, c memcache.Backend, k string) *memcache.Item {
	t.Helper()
	it, err := c.Get(context.Background(), k)
	require.NoError(t, err)
	return it
}

// inspectUnchanged runs the inspector on key and checks that the item
// under the memcached key k is byte for byte and CAS for CAS what it was.
func inspectUnchanged(t *testing.T, c memcache.Backend, k string, args ...string) string {
	t.Helper()
	before := stored(t, c, k)
	code, out, errOut := runInspect(t, args...)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	after := stored(t, c, k)
	assert.Equal(t, before.CAS, after.CAS, "inspect must not change the item")
	assert.Equal(t, before.Value, after.Value)
	assert.Equal(t, before.Flags, after.Flags)
	return out
}

func TestInspectEachCodec(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c := newClient(t, srv.Addr)
	ctx := context.Background()
	for _, cd := range []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR} {
		t.Run(cd.Name(), func(t *testing.T) {
			opts := []memcache.Option{memcache.WithCodec(cd), memcache.WithNamespace("shop", "v3")}
			s, err := memcache.NewStore[*Product](c, opts...)
			require.NoError(t, err)
			key := "product " + cd.Name() // a space: mapped to a digest
			require.NoError(t, s.Set(ctx, key, newProduct("a fine widget")))
			k, err := s.Key(key)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(k, "shop:v3:#"), k)
			fp, ok := s.Fingerprint()
			require.True(t, ok)
			sz, err := memcache.MeasureWrite(key, newProduct("a fine widget"), opts...)
			require.NoError(t, err)

			out := inspectUnchanged(t, c, k, "-servers", srv.Addr, "-namespace", "shop", "-version", "v3", key)
			assert.Contains(t, out, fmt.Sprintf("key:         %q\n", key))
			assert.Contains(t, out, "memcached:   "+k+"\n")
			assert.Contains(t, out, "server:      "+srv.Addr+" (crc32)\n")
			assert.Contains(t, out, fmt.Sprintf(": leancache format 2, value, codec %s, compression none\n", cd.Name()))
			assert.Contains(t, out, "fingerprint: "+fp.String()+"\n")
			// The size and limit the Store's write path states.
			assert.Contains(t, out, fmt.Sprintf("size:        %d bytes (%s), limit %d bytes (item_size_max %d)", sz.Size, memcache.FormatBytes(sz.Size), sz.Limit, memcache.DefaultItemSizeMax))
			assert.NotContains(t, out, "LEAKED", "a cached property is never written")
			if cd == codec.Gob {
				assert.Contains(t, out, "value (gob, not decodable without its Go type): struct { Name string; Price int; Tags []string; Body string; }")
				return
			}
			assert.Contains(t, out, fmt.Sprintf("value (%s, as JSON):\n{\n", cd.Name()))
			for _, want := range []string{`"Name": "widget"`, `"Price": 1299`, `"Body": "a fine widget"`, "\"Tags\": [\n    \"blue\",\n    \"large\"\n  ]"} {
				assert.Contains(t, out, want)
			}
		})
	}
}

func TestInspectWithoutFingerprint(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c := newClient(t, srv.Addr)
	s, err := memcache.NewStore[*Product](c, memcache.WithoutFingerprint())
	require.NoError(t, err)
	require.NoError(t, s.Set(context.Background(), "p", newProduct("x")))
	out := inspectUnchanged(t, c, "p", "-servers", srv.Addr, "p")
	assert.Contains(t, out, "flags:       0x4c010009: leancache format 1, value, codec json, compression none\n")
	assert.Contains(t, out, "fingerprint: none\n")
	assert.Contains(t, out, `"Body": "x"`)
}

func TestInspectCompressed(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c := newClient(t, srv.Addr)
	opts := []memcache.Option{memcache.WithCodec(codec.Msgpack), memcache.WithCompression(0)}
	s, err := memcache.NewStore[*Product](c, opts...)
	require.NoError(t, err)
	// Not too compressible either: the store writes as it is a value
	// that would expand more than readers allow (32 times).
	v := newProduct(incompressible(2000) + strings.Repeat("compressible ", 1000))
	require.NoError(t, s.Set(context.Background(), "p", v))
	raw, err := codec.Msgpack.Marshal(v)
	require.NoError(t, err)
	sz, err := memcache.MeasureWrite("p", v, opts...)
	require.NoError(t, err)
	require.Less(t, sz.Size, len(raw)/2, "the value must compress")

	out := inspectUnchanged(t, c, "p", "-servers", srv.Addr, "p")
	assert.Contains(t, out, ": leancache format 2, value, codec msgpack, compression s2\n")
	// The trailer is 12 bytes after the compressed payload.
	assert.Contains(t, out, fmt.Sprintf("payload:     %d bytes, %d compressed\n", len(raw), sz.Size-12))
	assert.Contains(t, out, fmt.Sprintf("size:        %d bytes", sz.Size))
	assert.Contains(t, out, fmt.Sprintf("limit %d bytes", sz.Limit))
	assert.Contains(t, out, `"Body": "`+v.Body+`"`)
}

// incompressible returns n random hex digits: neither S2 nor the size
// guard can make them smaller.
func incompressible(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func TestInspectChunked(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c := newClient(t, srv.Addr)
	ctx := context.Background()
	opts := []memcache.Option{memcache.WithCodec(codec.CBOR), memcache.WithChunking(), memcache.WithNamespace("big", "")}
	s, err := memcache.NewStore[*Product](c, opts...)
	require.NoError(t, err)
	v := newProduct(incompressible(2_500_000))
	require.NoError(t, s.Set(ctx, "p", v))
	sz, err := memcache.MeasureWrite("p", v, opts...)
	require.NoError(t, err)
	require.Equal(t, 3, sz.Chunks)
	raw, err := codec.CBOR.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, len(raw), sz.Size)

	in, err := memcache.Inspect(ctx, c, "p", opts...)
	require.NoError(t, err)
	require.NotNil(t, in.Chunks)
	out := inspectUnchanged(t, c, "big:p", "-servers", srv.Addr, "-namespace", "big", "p")
	assert.Contains(t, out, ": leancache format 2, index, codec cbor, compression none\n")
	assert.Contains(t, out, fmt.Sprintf("chunks:      3 chunks of a %d-byte payload, 3 of 3 present, complete (token %s)\n", sz.Size, in.Chunks.Token))
	assert.Contains(t, out, fmt.Sprintf("payload:     %d bytes\n", len(raw)))
	// The index itself is small: token, count, length, checksum, trailer.
	assert.Regexp(t, `\nsize:        32 bytes \(32 B\), limit \d+ bytes \(item_size_max 1048576\), 0\.0% of it, the index alone\n`, out)
	assert.Contains(t, out, `"Name": "widget"`)
	assert.Contains(t, out, v.Body[:100])

	// A chunk gone (evicted, say): chunk.go names chunk i of store key k
	// k + ":c" + i + ":" + token.
	require.NoError(t, c.Delete(ctx, "big:p:c1:"+in.Chunks.Token))
	out = inspectUnchanged(t, c, "big:p", "-servers", srv.Addr, "-namespace", "big", "p")
	assert.Contains(t, out, "3 chunks of a ")
	assert.Contains(t, out, "2 of 3 present, INCOMPLETE")
	assert.Contains(t, out, "problem:     memcache: cache miss: 2 of 3 chunks present")
	assert.NotContains(t, out, "value (")
}

func TestInspectForeign(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c := newClient(t, srv.Addr)
	ctx := context.Background()
	for _, flags := range []uint32{0, 0xdeadbeef} {
		t.Run(fmt.Sprintf("%#x", flags), func(t *testing.T) {
			k := fmt.Sprintf("php-%x", flags)
			require.NoError(t, c.Set(ctx, &memcache.Item{Key: k, Value: []byte("hello from php"), Flags: flags}))
			out := inspectUnchanged(t, c, k, "-servers", srv.Addr, k)
			assert.Contains(t, out, fmt.Sprintf("flags:       %#08x: foreign, written by something other than a leancache store\n", flags))
			assert.Contains(t, out, "bytes:       14\n")
			assert.Contains(t, out, hex.Dump([]byte("hello from php")))
			assert.NotContains(t, out, "codec")
		})
	}
}

func TestInspectRaw(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c := newClient(t, srv.Addr)
	s, err := memcache.NewStore[*Product](c, memcache.WithCodec(codec.Gob))
	require.NoError(t, err)
	require.NoError(t, s.Set(context.Background(), "p", newProduct("x")))
	it := stored(t, c, "p")
	code, out, errOut := runInspect(t, "-servers", srv.Addr, "-raw", "p")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, string(it.Value), out)
}

// The server named is the one that holds the item, for both selectors.
func TestInspectNamesTheServer(t *testing.T) {
	a, b := memcachetest.NewServer(t), memcachetest.NewServer(t)
	ctx := context.Background()
	for _, sel := range []string{"crc32", "ketama"} {
		t.Run(sel, func(t *testing.T) {
			cfg := memcache.ClientConfig{Servers: []string{a.Addr, b.Addr}}
			if sel == "ketama" {
				ks, err := ketama.New(ketama.Config{Servers: ketama.Servers(a.Addr, b.Addr)})
				require.NoError(t, err)
				cfg = memcache.ClientConfig{Selector: ks}
			}
			c, err := memcache.NewClient(cfg)
			require.NoError(t, err)
			defer c.Close()
			s, err := memcache.NewStore[*Product](c, memcache.WithNamespace(sel, ""))
			require.NoError(t, err)
			seen := map[string]bool{}
			for i := range 16 {
				key := fmt.Sprint("k", i)
				require.NoError(t, s.Set(ctx, key, newProduct("x")))
				holder := ""
				for _, addr := range []string{a.Addr, b.Addr} {
					if _, err := newClient(t, addr).Get(ctx, sel+":"+key); err == nil {
						holder = addr
					}
				}
				require.NotEmpty(t, holder)
				seen[holder] = true
				code, out, errOut := runInspect(t, "-servers", a.Addr+","+b.Addr, "-selector", sel, "-namespace", sel, key)
				require.Equal(t, 0, code, errOut)
				assert.Contains(t, out, "server:      "+holder+" ("+sel+")\n")
				assert.Contains(t, out, `"Name": "widget"`)
			}
			assert.Len(t, seen, 2, "16 keys reach both servers")
		})
	}
}

// The limit is the server's own item_size_max, as LoadItemSizeMax reads it.
func TestInspectUsesTheServersLimit(t *testing.T) {
	srv := memcachetest.NewServer(t, memcachetest.Options{ItemSize: "2m"})
	c := newClient(t, srv.Addr)
	opts := []memcache.Option{memcache.WithItemSizeMax(2 << 20)}
	s, err := memcache.NewStore[*Product](c, opts...)
	require.NoError(t, err)
	v := newProduct(incompressible(1_500_000))
	require.NoError(t, s.Set(context.Background(), "p", v))
	sz, err := memcache.MeasureWrite("p", v, opts...)
	require.NoError(t, err)
	require.Zero(t, sz.Chunks)
	out := inspectUnchanged(t, c, "p", "-servers", srv.Addr, "p")
	assert.Contains(t, out, fmt.Sprintf("size:        %d bytes (%s), limit %d bytes (item_size_max %d)", sz.Size, memcache.FormatBytes(sz.Size), sz.Limit, 2<<20))
}

func TestInspectFailures(t *testing.T) {
	srv := memcachetest.NewServer(t)
	code, out, errOut := runInspect(t, "-servers", srv.Addr, "-namespace", "ns", "absent")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, "leancache: memcache: inspect \"absent\" (memcached key \"ns:absent\"): memcache: cache miss\n", errOut)

	for _, args := range [][]string{
		{"-servers", srv.Addr},
		{"k"},
		{"-servers", srv.Addr, "-selector", "modula", "k"},
		{"-servers", srv.Addr, "a", "b"},
		{"-bogus"},
	} {
		code, out, errOut := runInspect(t, args...)
		assert.Equal(t, 2, code, "%q", args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "usage: leancache inspect", "%q", args)
	}
	var errOut2 bytes.Buffer
	assert.Equal(t, 2, run([]string{"frobnicate"}, new(bytes.Buffer), &errOut2))
	assert.Contains(t, errOut2.String(), "usage: leancache inspect")
}

// The binary itself, as an operator runs it.
func TestBinary(t *testing.T) {
	srv := memcachetest.NewServer(t)
	c := newClient(t, srv.Addr)
	s, err := memcache.NewStore[*Product](c, memcache.WithCodec(codec.JSON), memcache.WithNamespace("ns", "v1"))
	require.NoError(t, err)
	require.NoError(t, s.Set(context.Background(), "p1", newProduct("from the binary")))

	bin := filepath.Join(t.TempDir(), "leancache")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	before := stored(t, c, "ns:v1:p1")
	out, err := exec.Command(bin, "inspect", "-servers", srv.Addr, "-namespace", "ns", "-version", "v1", "p1").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "memcached:   ns:v1:p1\n")
	assert.Contains(t, string(out), ": leancache format 2, value, codec json, compression none\n")
	assert.Contains(t, string(out), `"Body": "from the binary"`)
	assert.Equal(t, before.CAS, stored(t, c, "ns:v1:p1").CAS)

	err = exec.Command(bin, "inspect", "-servers", srv.Addr, "nothing").Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode())
}
