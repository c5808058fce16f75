package memcache

import (
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/leancache/leancache/codec"
)

// How a Store describes a value in memcached's 32 item flags, so that a
// reader knows how the bytes were made and a reader with another codec gets
// a clear error instead of garbage:
//
//	bits 24-31  0x4C ('L'): the value was written by a leancache Store
//	bits 16-23  format version (1)
//	bits  8-15  compression: 0 none, 1 s2
//	bits  0-7   codec: 1 json, 2 gob, 3 msgpack, 4 cbor; a codec of your own
//	            gets 128-254 from a hash of its name, so two custom codecs
//	            almost always differ (a clash only weakens the check)
const (
	flagsMarker  = 0x4C
	flagsVersion = 1
)

// Compression identifiers in the flags.
const (
	compressNone = 0
	compressS2   = 1
)

var codecIDs = map[string]uint32{"json": 1, "gob": 2, "msgpack": 3, "cbor": 4}

// Custom codecs get ids from customCodecBase on.
const customCodecBase = 128

// ErrFormat means a stored value was not written the way this store writes:
// by another codec, by another program, or in a format this version does not
// know. The value is left in memcached; the reader gets a *FormatError.
var ErrFormat = errors.New("memcache: value format mismatch")

// A FormatError is returned by a Store's reads when an item's flags say it
// was written with another codec or by something other than a leancache
// Store. errors.Is(err, ErrFormat) holds.
type FormatError struct {
	Key   string // the caller's key
	Flags uint32 // the item's flags
	Want  string // this store's codec
	Got   string // what the flags say, as far as they can be read
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("memcache: value under %s was written %s, this store reads %s (flags %#08x)", quoteKey(e.Key), e.Got, e.Want, e.Flags)
}

// Is makes errors.Is(err, ErrFormat) hold.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// A DecodeError is returned by a Store's reads when a value's bytes do not
// decode: a truncated or corrupt value, or one from an older shape of the
// type that the codec refuses. It names the key and wraps the codec's error.
type DecodeError struct {
	Key   string // the caller's key
	Codec string
	Err   error
}

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

func (e *EncodeError) Error() string {
	return fmt.Sprintf("memcache: encode %s with %s: %v", quoteKey(e.Key), e.Codec, e.Err)
}

// Unwrap returns the codec's error.
func (e *EncodeError) Unwrap() error { return e.Err }

func codecID(c codec.Codec) uint32 {
	if id, ok := codecIDs[c.Name()]; ok {
		return id
	}
	h := fnv.New32a()
	h.Write([]byte(c.Name()))
	return customCodecBase + h.Sum32()%127
}

func makeFlags(codecID, compression uint32) uint32 {
	return flagsMarker<<24 | flagsVersion<<16 | compression<<8 | codecID
}

// describeFlags says in words how flags describe a value, for a FormatError.
func describeFlags(flags uint32) string {
	if flags>>24 != flagsMarker {
		return "by something other than a leancache store"
	}
	if v := flags >> 16 & 0xff; v != flagsVersion {
		return fmt.Sprintf("in leancache format version %d", v)
	}
	id := flags & 0xff
	for name, cid := range codecIDs {
		if cid == id {
			return "with codec " + name
		}
	}
	if id >= customCodecBase {
		return fmt.Sprintf("with a custom codec (id %d)", id)
	}
	return fmt.Sprintf("with unknown codec id %d", id)
}
