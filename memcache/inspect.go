package memcache

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/leancache/leancache/codec"
)

// Inspection is done by reading only: Inspect never writes, deletes or
// touches an item, so looking at a production value leaves it exactly as
// it was (its CAS token included). Everything it knows about the item
// format it asks of the functions the Store reads with, through this one
// file, so the inspector cannot drift from the Store.

// An Inspection describes what is stored under one caller's key, as a
// Store built with the same options would read it.
type Inspection struct {
	// Key is the caller's key and StoreKey the memcached key the store
	// maps it to (namespace, version and digest rules applied).
	Key, StoreKey string
	// Flags are the item's flags, and Written says in words how they
	// describe the value ("with codec json", "by something other than a
	// leancache store", ...).
	Flags   uint32
	Written string
	// Foreign means the flags do not carry leancache's marker (flags 0
	// among others): the value was not written by a Store, and only its
	// bytes are described.
	Foreign bool
	// CAS is the item's compare-and-swap token: reading it again after an
	// inspection gives the same token.
	CAS uint64
	// Value is the item's value as stored.
	Value []byte

	// Version is the leancache format version (1 without, 2 with a
	// fingerprint trailer), Kind "value", "index" (of a chunked value) or
	// "chunk", Codec the codec's name ("json", "gob", "msgpack", "cbor";
	// empty for an id no package codec has, see CodecID) and Compression
	// "none" or "s2".
	Version     int
	Kind        string
	CodecID     int
	Codec       string
	Compression string
	// Fingerprint is the schema fingerprint in the value's trailer, when
	// HasFingerprint.
	Fingerprint    Fingerprint
	HasFingerprint bool

	// Size is the length of the stored item value, and Limit the largest
	// value the server accepts under StoreKey with these flags, as the
	// Store's size guard computes it (SizeGuard.Limit) from ItemSizeMax,
	// the server's item_size_max when the backend reports it.
	Size, Limit, ItemSizeMax int

	// Chunks describes the chunks of a chunked value; nil otherwise.
	Chunks *ChunkInfo

	// Payload is the codec's output: the trailer cut, the chunks joined,
	// decompressed. StoredPayload is its length before decompression.
	Payload       []byte
	StoredPayload int
	// JSON is the value decoded generically and rendered as indented
	// JSON, for reading: for json the payload itself, for msgpack and
	// cbor the value decoded into an interface (map keys that are not
	// strings, NaN and infinities rendered with fmt). Gob cannot be decoded without the Go
	// type that wrote it, so for gob JSON is empty and GobType holds
	// what the stream says of its type: its name and fields, as
	// encoding/gob reports them.
	JSON    []byte
	GobType string

	// Problem is why the inspection stopped short of a decoded value: a
	// *FormatError, a *DecodeError (a cut trailer, a malformed index, a
	// payload that does not decompress or decode), or ErrCacheMiss for a
	// chunked value whose chunks are not all there.
	Problem error
}

// ChunkInfo describes the index of a chunked value and the chunks found.
type ChunkInfo struct {
	// Count is the number of chunks the index names and Length the
	// payload's length in bytes.
	Count, Length int
	// Token is the write's token (hex), part of every chunk's key.
	Token string
	// Present is how many of the chunks are in the cache, and Complete
	// whether they join into the payload the index describes (all there,
	// of this write, the checksum right).
	Present  int
	Complete bool
}

// errNilBackend is Inspect's error for a nil backend: NewStore would make
// an empty embedded one, where nothing is to be seen.
var errNilBackend = errors.New("memcache: Inspect: nil backend")

// Inspect reads the item that a Store built with opts (its namespace and
// version, compression and decode limits; its codec does not matter: the
// flags say which was used) reads under key, and describes it. It only
// reads (get, multi-get of the chunks, the item size limit), so the cache
// is unchanged. The error is for what prevents an inspection: a key the
// store cannot map (ErrMalformedKey), nothing under key (errors.Is(err,
// ErrCacheMiss), the message naming the memcached key), a backend
// failure. What is wrong with the item itself is in Inspection.Problem.
func Inspect(ctx context.Context, b Backend, key string, opts ...Option) (*Inspection, error) {
	if b == nil {
		return nil, errNilBackend
	}
	// The store is this call's own: nothing it reads may count in
	// Counters or go through middleware.
	quiet := func(o *storeConfig) { o.counters, o.middleware = nil, nil }
	opts = append(slices.Clip(opts), quiet)
	s, err := NewStore[any](b, opts...)
	if err != nil {
		return nil, err
	}
	k, err := s.keys.storeKey(key)
	if err != nil {
		return nil, err
	}
	if _, ok := b.(ItemSizeMaxer); ok {
		if err := s.LoadItemSizeMax(ctx); err != nil {
			return nil, err
		}
	}
	it, err := b.Get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("memcache: inspect %s (memcached key %q): %w", quoteKey(key), k, err)
	}
	guard := s.SizeGuard()
	f := it.Flags
	in := &Inspection{
		Key: key, StoreKey: k, Flags: f, Written: describeFlags(f), CAS: it.CAS, Value: it.Value,
		Size: len(it.Value), Limit: guard.Limit(k, f), ItemSizeMax: cmp.Or(guard.ItemSizeMax, DefaultItemSizeMax),
	}
	if f>>24 != flagsMarker {
		in.Foreign = true
		return in, nil
	}
	in.Version = int(flagsVersionOf(f))
	in.Kind = kindNames[flagsKind(f)]
	if in.Kind == "" {
		in.Kind = fmt.Sprintf("unknown kind %d", flagsKind(f))
	}
	in.Compression = compressionNames[flagsCompression(f)]
	if in.Compression == "" {
		in.Compression = fmt.Sprintf("unknown compression %d", flagsCompression(f))
	}
	in.CodecID = int(f & 0xff)
	var c codec.Codec
	if name, ok := codecNamed(f & 0xff); ok {
		c, _ = codec.ByName(name)
	}
	if c == nil {
		in.Problem = &FormatError{Key: key, Flags: f, Want: "a codec of package codec", Got: in.Written}
		return in, nil
	}
	in.Codec = c.Name()
	// A store of the value's own codec, reading whatever fingerprint, with
	// the server's limit: its open and read steps are the Store's.
	s, err = NewStore[any](b, append(opts, WithCodec(c), WithoutFingerprint(), WithItemSizeMax(in.ItemSizeMax))...)
	if err != nil {
		return nil, err
	}
	kind, comp, body, err := s.open(key, it)
	if err != nil {
		in.Problem = err
		return in, nil
	}
	if flagsVersionOf(f) == flagsV2 {
		// open cut the trailer: the payload length, then the fingerprint.
		in.Fingerprint = Fingerprint(binary.BigEndian.Uint64(it.Value[len(body)+4:]))
		in.HasFingerprint = true
	}
	if kind == kindIndex {
		if body, err = inspectChunks(ctx, s, in, k, body); err != nil {
			return nil, err
		}
		if in.Problem != nil {
			return in, nil
		}
	}
	in.StoredPayload = len(body)
	if comp == compressS2 {
		if body, err = s.compress.decompress(body); err != nil {
			in.Problem = s.decodeError(key, err)
			return in, nil
		}
	}
	in.Payload = body
	in.JSON, in.GobType, in.Problem = decodeForReading(s, key, body)
	return in, nil
}

var (
	kindNames        = map[uint32]string{kindValue: "value", kindIndex: "index", kindChunk: "chunk", kindNegative: "negative"}
	compressionNames = map[uint32]string{compressNone: "none", compressS2: "s2"}
)

// inspectChunks checks the index body as the store does, fetches all its
// chunks (as many multi-gets as a read) to count those present, and
// returns the joined payload. An index or chunk problem goes in
// in.Problem; the error is the backend's.
func inspectChunks(ctx context.Context, s *Store[any], in *Inspection, k string, body []byte) ([]byte, error) {
	x, err := s.parseIndex(in.Key, body)
	if err != nil {
		in.Problem = err
		return nil, nil
	}
	in.Chunks = &ChunkInfo{Count: int(x.count), Length: int(x.length), Token: hex.EncodeToString(x.token[:])}
	a := s.newAssembly(x)
	var keys []string
	for from := 0; from < int(x.count); from += chunkBatch {
		keys = x.appendKeys(keys[:0], s.keys.prefix, k, from, min(from+chunkBatch, int(x.count)))
		items, err := s.backend.GetMulti(ctx, keys)
		if err != nil {
			return nil, err
		}
		for _, ck := range keys {
			if items[ck] != nil {
				in.Chunks.Present++
			}
		}
		a.add(keys, items)
	}
	payload, ok := a.done()
	in.Chunks.Complete = ok
	if !ok {
		in.Problem = fmt.Errorf("%w: %d of %d chunks present, or not all of this write", ErrCacheMiss, in.Chunks.Present, x.count)
	}
	return payload, nil
}

// decodeForReading renders payload, written by s's codec, as indented
// JSON, or for gob says what type it holds. The codec decodes under the
// store's decode budget.
func decodeForReading(s *Store[any], key string, payload []byte) (js []byte, gobType string, problem error) {
	switch s.codec.Name() {
	case "json":
		var buf bytes.Buffer
		if err := json.Indent(&buf, payload, "", "  "); err != nil {
			return nil, "", s.decodeError(key, err)
		}
		return buf.Bytes(), "", nil
	case "gob":
		// Decoding into an interface needs the type registered; gob's
		// refusal names the type the stream holds, with its fields.
		var v any
		err := s.codec.Unmarshal(payload, &v)
		if err == nil {
			return renderJSON(s, key, v)
		}
		const said = "received concrete type "
		if _, t, ok := strings.Cut(err.Error(), said); ok {
			// An unnamed type (the codec's view of a type with cached
			// properties) is rendered " = struct {...}".
			return nil, strings.TrimPrefix(t, " = "), nil
		}
		return nil, "", s.decodeError(key, err)
	case "msgpack":
		// The codec decodes maps into an interface as map[string]any and
		// refuses other keys; the library itself decodes them generically,
		// once the codec has read the input whole within its budget.
		var raw msgpack.RawMessage
		if err := s.codec.Unmarshal(payload, &raw); err != nil {
			return nil, "", s.decodeError(key, err)
		}
		dec := msgpack.NewDecoder(bytes.NewReader(payload))
		dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, "", s.decodeError(key, err)
		}
		return renderJSON(s, key, v)
	}
	var v any
	if err := s.codec.Unmarshal(payload, &v); err != nil {
		return nil, "", s.decodeError(key, err)
	}
	return renderJSON(s, key, v)
}

// renderJSON renders v, decoded generically, as indented JSON.
func renderJSON(s *Store[any], key string, v any) ([]byte, string, error) {
	js, err := json.MarshalIndent(jsonable(v), "", "  ")
	if err != nil {
		return nil, "", s.decodeError(key, err)
	}
	return js, "", nil
}

// jsonable turns what msgpack and cbor decode into an interface into
// what encoding/json takes: maps with keys of any type become maps keyed
// by the key's fmt rendering, and the floats JSON has no number for (NaN,
// infinities) strings.
func jsonable(v any) any {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprint(v)
		}
	case float32:
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(v)
		}
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
		return v
	}
	return v
}
