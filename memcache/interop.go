package memcache

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/leancache/leancache/codec"
)

// An Interop is a convention for item flags and values that clients in
// other languages read and write, chosen with WithInterop; see Sharing a
// cache with other languages in the package documentation. The zero
// Interop is none: leancache's own format.
type Interop uint8

// The profiles of WithInterop.
const (
	// InteropRaw writes the codec's bytes exactly, with flags 0, and
	// reads values of flags 0 (any client's plain bytes or strings).
	InteropRaw Interop = iota + 1
	// InteropPHP follows php-memcached (3.x): JSON under its JSON type,
	// msgpack under its msgpack type (read by its msgpack serializer),
	// compressed with zlib in its framing, which it reads.
	InteropPHP
	// InteropPython follows pylibmc (1.6) and pymemcache (3.5): the
	// codec's bytes under flags 0, which both return as bytes, compressed
	// with zlib under their compressed flag.
	InteropPython
)

// String returns the profile's name as the package documentation gives it.
func (p Interop) String() string {
	switch p {
	case InteropRaw:
		return "raw"
	case InteropPHP:
		return "php"
	case InteropPython:
		return "python"
	}
	return fmt.Sprintf("Interop(%d)", uint8(p))
}

// ErrForeignValue is what GetOrLoad reports (to WithErrorHandler and as a
// Recorder's EventFailOpen) when it found a value it cannot read that was
// not written by leancache, and left it in place: the error joins it with
// the value's *FormatError or *DecodeError. Counters.ForeignKept counts
// these. WithOverwriteForeign lets GetOrLoad overwrite such values.
var ErrForeignValue = errors.New("memcache: value written by another program left in place")

// The flag conventions of the other clients, found in their sources and
// checked against the Debian packages (php-memcached 3.2.0, pylibmc 1.6.3,
// pymemcache 3.5.2) writing to memcached 1.6.18.
//
// php-memcached, php_memcached.c (MEMC_VAL_*): bits 0-3 the value's type,
// bits 4-15 its internal flags (of which bits 4-7 say the compression),
// bits 16-31 the user's flags (OPT_USER_FLAGS). A compressed value is the
// uncompressed length (uint32, the writer's byte order: little-endian on
// every platform PHP runs on here) followed by the zlib stream (compress())
// or the FastLZ block.
const (
	phpTypeMask    = 0xf
	phpTypeString  = 0 // MEMC_VAL_IS_STRING: the bytes as they are
	phpTypeLong    = 1 // MEMC_VAL_IS_LONG: decimal text
	phpTypeDouble  = 2 // MEMC_VAL_IS_DOUBLE: decimal text
	phpTypeJSON    = 6 // MEMC_VAL_IS_JSON
	phpTypeMsgpack = 7 // MEMC_VAL_IS_MSGPACK

	phpCompressed = 1 << 4 // MEMC_VAL_COMPRESSED << 4
	phpZlib       = 1 << 5 // MEMC_VAL_COMPRESSION_ZLIB << 4
	phpFastLZ     = 1 << 6 // MEMC_VAL_COMPRESSION_FASTLZ << 4
	phpZstd       = 1 << 7 // MEMC_VAL_COMPRESSION_ZSTD << 4 (php-memcached 3.2 with zstd)
)

// pylibmc, _pylibmcmodule.h (PYLIBMC_FLAG_*), and pymemcache, serde.py
// (FLAG_*), agree on these bits: 0 is bytes; text is UTF-8; integers are
// decimal text (pymemcache writes an int as INTEGER, pylibmc as LONG and a
// bool as INTEGER "1" or "0"); ZLIB (pymemcache's FLAG_COMPRESSED, which
// its default serde does not inflate) marks a zlib stream of what the other
// bits say.
const (
	pyPickle  = 1 << 0
	pyInteger = 1 << 1
	pyLong    = 1 << 2
	pyZlib    = 1 << 3
	pyText    = 1 << 4
)

// Compressions of values under a profile, as open returns them to
// decodePayload; apart from the flags' own (compressNone, compressS2).
const (
	compressZlib      = 0x10 + iota // a zlib stream (Python)
	compressPHPZlib                 // php-memcached's length and zlib stream
	compressPHPFastLZ               // php-memcached's length and FastLZ block
)

// interopKeys validates a profile's configuration and returns the store's
// keys under it: the schema fingerprint of t, if on, becomes a segment of
// the prefix ("fp" and 16 hex digits), and keys are used verbatim.
func (cfg *storeConfig) interopKeys(t reflect.Type, keys keyMapper) (keyMapper, error) {
	p := cfg.interop
	name := cfg.codec.Name()
	switch p {
	case InteropRaw:
		if cfg.compress.threshold > 0 {
			return keyMapper{}, errors.New("memcache: NewStore: WithInterop(InteropRaw) writes the codec's bytes exactly and cannot compress: use InteropPHP or InteropPython, or no WithCompression")
		}
	case InteropPHP:
		if name != "json" && name != "msgpack" {
			return keyMapper{}, fmt.Errorf("memcache: NewStore: WithInterop(InteropPHP) needs codec json or msgpack, which php-memcached's serializers read; codec %s has no PHP reader", name)
		}
	case InteropPython:
	default:
		return keyMapper{}, fmt.Errorf("memcache: NewStore: unknown interop profile %d", uint8(p))
	}
	if cfg.chunking {
		return keyMapper{}, fmt.Errorf("memcache: NewStore: WithChunking cannot go with WithInterop(%s): no other client reads chunked values", p)
	}
	if cfg.fresh.negativeTTL > 0 {
		return keyMapper{}, fmt.Errorf("memcache: NewStore: WithNegativeTTL cannot go with WithInterop(%s): other clients would read a negative entry as a value: %w", p, ErrInvalidOption)
	}
	if cfg.schema {
		if fp, ok := codec.SchemaFingerprint(t, cfg.codec); ok {
			keys.prefix += "fp" + fp.String() + ":"
			if !ValidKey(keys.prefix) {
				return keyMapper{}, fmt.Errorf("%w: prefix %q is too long with its schema segment", ErrMalformedKey, keys.prefix)
			}
		}
	}
	keys.verbatim = true
	return keys, nil
}

// verbatimKey is storeKey under a profile: the prefix and the caller's key,
// which must make a legal memcached key. Other clients look keys up as they
// are, so a key is never mapped to a digest: one they could not find, and
// which could collide with a legal key holding '#'.
func (m keyMapper) verbatimKey(key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: empty key", ErrMalformedKey)
	}
	full := m.prefix + key
	if !ValidKey(full) {
		return "", fmt.Errorf("%w: %s is not a legal memcached key (with prefix %q); a store WithInterop does not map keys, since other clients would not find them", ErrMalformedKey, quoteKey(key), m.prefix)
	}
	return full, nil
}

// encodeInterop is encode under a profile: one item, without trailer, in
// the profile's flags.
func (s *Store[T]) encodeInterop(key, k string, v T, exp int32) (encoded, error) {
	data, err := s.codec.Marshal(v)
	if err != nil {
		return encoded{}, &EncodeError{Key: key, Codec: s.codec.Name(), Err: err}
	}
	var flags uint32
	if s.interop == InteropPHP {
		flags = phpTypeJSON
		if s.codec.Name() == "msgpack" {
			flags = phpTypeMsgpack
			if msgpackHasExt(data) {
				return encoded{}, &EncodeError{Key: key, Codec: s.codec.Name(), Err: errPHPMsgpackExt}
			}
		}
	}
	if out, ok := s.compressInterop(data); ok {
		data = out
		if s.interop == InteropPHP {
			flags |= phpCompressed | phpZlib
		} else {
			flags |= pyZlib
		}
	}
	if guard := s.SizeGuard(); len(data) > guard.Limit(k, flags) {
		s.counters.count(rejected)
		return encoded{}, guard.Check(s.codec, key, k, len(data), flags, v)
	}
	return encoded{item: &Item{Key: k, Value: data, Flags: flags, Expiration: exp}}, nil
}

// compressInterop compresses data with zlib as the profile frames it, by
// the store's compression policy: from its threshold, when smaller, and
// within the ratio readers allow.
func (s *Store[T]) compressInterop(data []byte) ([]byte, bool) {
	c := s.compress
	if c.threshold <= 0 || len(data) < c.threshold {
		return nil, false
	}
	var b bytes.Buffer
	if s.interop == InteropPHP {
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(data))))
	}
	w := zlib.NewWriter(&b)
	w.Write(data) // writes to a bytes.Buffer do not fail
	w.Close()
	out := b.Bytes()
	if len(out) >= len(data) || len(data) > c.limit(len(out)) {
		return nil, false
	}
	return out, true
}

// openInterop is open under a profile: a value in the profile's convention
// for the store's codec, or a *FormatError.
func (s *Store[T]) openInterop(key string, it *Item) (kind, comp uint32, body []byte, err error) {
	f := it.Flags
	comp, ok := compressNone, false
	switch s.interop {
	case InteropRaw:
		ok = f == 0
	case InteropPHP:
		comp, ok = s.phpFlags(f)
	case InteropPython:
		if f&pyZlib != 0 {
			comp, f = compressZlib, f&^pyZlib
		}
		// Text and integers are text, which only JSON reads as it was
		// meant (a bool as 1 or 0, as Python itself compares it).
		ok = f == 0 || s.codec.Name() == "json" && (f == pyText || f == pyInteger || f == pyLong)
	}
	if !ok {
		return 0, 0, nil, &FormatError{Key: key, Flags: it.Flags, Want: fmt.Sprintf("with codec %s in the %s convention", s.codec.Name(), s.interop), Got: describeInteropFlags(s.interop, it.Flags)}
	}
	return kindValue, comp, it.Value, nil
}

// phpFlags reads php-memcached's flags: the compression, and whether the
// type is one the store's codec reads. JSON reads PHP's JSON, and numbers
// and strings (a JSON text a PHP program stored as a string); msgpack only
// PHP's msgpack, since a PHP string or number read as msgpack would give a
// wrong value rather than an error.
func (s *Store[T]) phpFlags(f uint32) (comp uint32, ok bool) {
	if f>>8 != 0 { // the user's flags, or internal flags this version does not know
		return 0, false
	}
	switch f &^ phpTypeMask {
	case 0:
		comp = compressNone
	case phpCompressed | phpZlib:
		comp = compressPHPZlib
	case phpCompressed | phpFastLZ:
		comp = compressPHPFastLZ
	default: // zstd, or bits php-memcached does not set together
		return 0, false
	}
	switch t := f & phpTypeMask; s.codec.Name() {
	case "json":
		return comp, t == phpTypeJSON || t == phpTypeString || t == phpTypeLong || t == phpTypeDouble
	case "msgpack":
		return comp, t == phpTypeMsgpack
	}
	return 0, false
}

// describeInteropFlags says in words what flags mean to the clients of a
// profile, for a FormatError.
func describeInteropFlags(p Interop, f uint32) string {
	if f>>24 == flagsMarker {
		return describeFlags(f)
	}
	switch {
	case p == InteropPHP && f>>8 == 0 && f&phpZstd != 0:
		return fmt.Sprintf("by php-memcached compressed with zstd, which this store cannot read (type %d)", f&phpTypeMask)
	case p == InteropPHP && f>>8 == 0:
		return fmt.Sprintf("by php-memcached as type %d", f&phpTypeMask)
	case p == InteropPython && f&pyPickle != 0:
		return "by a Python client as a pickle"
	}
	return fmt.Sprintf("by another program (flags %d)", f)
}

// decompressInterop expands a value compressed under a profile, within the
// read path's budget: a length a PHP header claims is checked before
// anything is allocated, and a zlib stream without one is read no further
// than the budget.
func (s *Store[T]) decompressInterop(comp uint32, data []byte) ([]byte, error) {
	c := s.compress
	if comp == compressZlib {
		return inflate(data, c.limit(len(data)), -1)
	}
	if len(data) < 4 {
		return nil, errors.New("php-memcached: compressed value shorter than its length header")
	}
	n := int64(binary.LittleEndian.Uint32(data))
	data = data[4:]
	if max := c.limit(len(data)); n > int64(max) {
		return nil, &codec.BudgetError{Codec: "php-memcached", Limit: fmt.Sprintf("decompressed size under the compression ratio %d and the maximum", c.ratio()), Max: int64(max), Need: n}
	}
	if comp == compressPHPFastLZ {
		return fastlzDecode(data, int(n))
	}
	return inflate(data, int(n), int(n))
}

// inflate reads the zlib stream data: at most limit bytes, exactly want if
// want is not negative.
func inflate(data []byte, limit, want int) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	var out bytes.Buffer
	if want >= 0 {
		out.Grow(want)
	}
	n, err := io.Copy(&out, io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	if n > int64(limit) {
		return nil, &codec.BudgetError{Codec: "zlib", Limit: "decompressed size under the compression ratio and the maximum", Max: int64(limit), Need: n}
	}
	if want >= 0 && n != int64(want) {
		return nil, fmt.Errorf("zlib: value expands to %d bytes, its header says %d", n, want)
	}
	return out.Bytes(), nil
}

// foreign reports whether GetOrLoad must leave in place the value whose
// read failed with err (a *FormatError or *DecodeError): one not written
// by leancache, unless WithOverwriteForeign. Without a profile leancache's
// values carry its marker in their flags, so a value without it is
// another program's; a value with it (another codec, another format
// version, corrupt bytes, another schema) is leancache's, and overwritten
// as before. Under a profile no value carries the marker, so any value the
// store cannot read may be another service's and is left in place.
func (s *Store[T]) foreign(err error) bool {
	if s.overwriteForeign {
		return false
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe.Flags>>24 != flagsMarker
	}
	return s.interop != 0
}

// keepForeign reports and counts a foreign value GetOrLoad leaves in
// place: it loads, answers and does not store.
func (s *Store[T]) keepForeign(ctx context.Context, key string, err error) (bool, error) {
	s.counters.count(foreignKept)
	s.report(ctx, key, fmt.Errorf("%w: %w", ErrForeignValue, err))
	return false, nil
}

// errPHPMsgpackExt refuses what php-memcached would read as a wrong value:
// its msgpack serializer (php-msgpack 2.2) returns NULL, with success, for
// msgpack's extension types, which msgpack v5 writes for time.Time.
var errPHPMsgpackExt = errors.New("a msgpack extension type (time.Time, or a type with its own extension) reads as NULL in php-memcached: use codec json, or a field of a plain type")

// msgpackHasExt reports whether the msgpack stream data holds a value of
// an extension type. Container headers are followed by their elements
// inline, so one pass over the values finds them at any depth.
func msgpackHasExt(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		n := 1 // the value's bytes from i, header included
		switch {
		case c <= 0xbf && c >= 0xa0: // fixstr
			n += int(c & 0x1f)
		case c <= 0x9f || c >= 0xe0: // fixint, fixmap, fixarray, negative fixint
		case c >= 0xc7 && c <= 0xc9 || c >= 0xd4 && c <= 0xd8: // ext
			return true
		case c == 0xc4 || c == 0xd9: // bin8, str8
			n += 1 + int(at(data, i+1, 1))
		case c == 0xc5 || c == 0xda: // bin16, str16
			n += 2 + int(at(data, i+1, 2))
		case c == 0xc6 || c == 0xdb: // bin32, str32
			n += 4 + int(at(data, i+1, 4))
		case c == 0xca:
			n += 4
		case c == 0xcb:
			n += 8
		case c >= 0xcc && c <= 0xd3: // uint8-64, int8-64
			n += 1 << ((c - 0xcc) & 3)
		case c == 0xdc || c == 0xde: // array16, map16
			n += 2
		case c == 0xdd || c == 0xdf: // array32, map32
			n += 4
		}
		i += n
	}
	return false
}

// at reads the size big-endian bytes at i of data, 0 past its end.
func at(data []byte, i, size int) uint64 {
	if i+size > len(data) {
		return 0
	}
	var v uint64
	for _, b := range data[i : i+size] {
		v = v<<8 | uint64(b)
	}
	return v
}
