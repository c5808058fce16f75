package memcache

import (
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/leancache/leancache/codec"
)

// The item flags, format versions and trailer are described in the package
// documentation (# Item flags, # Trailer and schema fingerprints).
const (
	flagsMarker  = 0x4C
	flagsVersion = 1 // without a fingerprint
	flagsV2      = 2 // with a fingerprint
)

// trailerLen is the length of the trailer that ends a version-2 value.
const trailerLen = 4 + 8

// Item kinds in the flags.
const (
	kindValue = 0
	kindIndex = 1
	kindChunk = 2
)

// Compression identifiers in the flags.
const (
	compressNone = 0
	compressS2   = 1
)

// Codec ids in the flags' low byte. Bit 3 is set in every id a store
// writes, because other clients read the low bits of the flags as their own
// value types: php-memcached takes the low 4 bits for its type and has none
// from 8 on, so it fails a get of a leancache value instead of returning
// int(0) or false with success (as it did for ids 1-4); pylibmc and
// pymemcache take bit 3 for zlib, and fail too. Stores also read the ids
// earlier versions wrote (legacyCodecIDs, and 128 + hash%127 for custom
// codecs), so a deploy needs no flush.
var codecIDs = map[string]uint32{"json": 0x09, "gob": 0x0A, "msgpack": 0x0B, "cbor": 0x0C}

// legacyCodecIDs are the ids of codecIDs before bit 3 was set in them.
var legacyCodecIDs = map[string]uint32{"json": 1, "gob": 2, "msgpack": 3, "cbor": 4}

// Custom codecs get ids from customCodecBase on, with bit 3 set (see
// codecIDs): 64 ids, 0x88 to 0xFF.
const customCodecBase = 128

// ErrFormat means a stored value was not written the way this store writes:
// by another codec, by another program, or in a format this version does not
// know. The value is left in memcached; the reader gets a *FormatError.
var ErrFormat = errors.New("memcache: value format mismatch")

// A FormatError is returned by a Store's reads when an item's flags say it
// was written with another codec or by something other than a leancache
// Store, or when it carries another schema fingerprint than the store's.
// errors.Is(err, ErrFormat) holds.
type FormatError struct {
	Key   string // the caller's key
	Flags uint32 // the item's flags
	Want  string // this store's codec (or schema fingerprint)
	Got   string // what the flags say, as far as they can be read

	// schema: the value differs only by its schema fingerprint, which a
	// reader takes for a miss.
	schema bool
}

// Error says how the value was written and how this store reads.
func (e *FormatError) Error() string {
	return fmt.Sprintf("memcache: value under %s was written %s, this store reads %s (flags %#08x)", quoteKey(e.Key), e.Got, e.Want, e.Flags)
}

// Is makes errors.Is(err, ErrFormat) hold, and errors.Is(err, ErrCacheMiss)
// too when the value was written under another schema fingerprint (see
// WithFingerprint): such a value is no value for this reader.
func (e *FormatError) Is(target error) bool {
	return target == ErrFormat || e.schema && target == ErrCacheMiss
}

// A DecodeError is returned by a Store's reads when a value's bytes do not
// decode: a truncated or corrupt value, or one from an older shape of the
// type that the codec refuses. It names the key and wraps the codec's error.
type DecodeError struct {
	Key   string // the caller's key
	Codec string
	Err   error
}

// Error names the key and the codec, and gives the codec's error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("memcache: decode %s with %s: %v", quoteKey(e.Key), e.Codec, e.Err)
}

// Unwrap returns the codec's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// An EncodeError is returned by a Store's writes when the codec cannot
// encode the value. It names the key and wraps the codec's error.
type EncodeError struct {
	Key   string
	Codec string
	Err   error
}

// Error names the key and the codec, and gives the codec's error.
func (e *EncodeError) Error() string {
	return fmt.Sprintf("memcache: encode %s with %s: %v", quoteKey(e.Key), e.Codec, e.Err)
}

// Unwrap returns the codec's error.
func (e *EncodeError) Unwrap() error { return e.Err }

// codecID returns the id a store of c writes in the flags, and the id
// earlier versions wrote for it, which it reads too.
func codecID(c codec.Codec) (id, legacy uint32) {
	if id, ok := codecIDs[c.Name()]; ok {
		return id, legacyCodecIDs[c.Name()]
	}
	h := fnv.New32a()
	h.Write([]byte(c.Name()))
	sum := h.Sum32()
	x := sum % 64
	return customCodecBase | 0x08 | (x>>3)<<4 | x&7, customCodecBase + sum%127
}

// codecNamed returns the name of package codec's codec whose id, current
// or legacy, is id.
func codecNamed(id uint32) (string, bool) {
	for name, cid := range codecIDs {
		if cid == id || legacyCodecIDs[name] == id {
			return name, true
		}
	}
	return "", false
}

// makeFlagsOf builds flags of any version and kind.
func makeFlagsOf(version, kind, compression, codecID uint32) uint32 {
	return flagsMarker<<24 | version<<16 | kind<<12 | compression<<8 | codecID
}

// flagsVersionOf, flagsKind and flagsCompression read the fields of flags.
func flagsVersionOf(flags uint32) uint32   { return flags >> 16 & 0xff }
func flagsKind(flags uint32) uint32        { return flags >> 12 & 0xf }
func flagsCompression(flags uint32) uint32 { return flags >> 8 & 0xf }

// describeFlags says in words how flags describe a value, for a FormatError.
func describeFlags(flags uint32) string {
	if flags>>24 != flagsMarker {
		return "by something other than a leancache store"
	}
	if v := flagsVersionOf(flags); v != flagsVersion && v != flagsV2 {
		return fmt.Sprintf("in leancache format version %d", v)
	}
	if flagsKind(flags) == kindChunk {
		return "as a chunk of a chunked value"
	}
	id := flags & 0xff
	if name, ok := codecNamed(id); ok {
		return "with codec " + name
	}
	if id >= customCodecBase {
		return fmt.Sprintf("with a custom codec (id %d)", id)
	}
	return fmt.Sprintf("with unknown codec id %d", id)
}
