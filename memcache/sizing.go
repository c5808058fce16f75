package memcache

import (
	"errors"
	"slices"
)

// A Sizing is how big a Store's write of one value is, measured by the
// write path itself (see MeasureWrite).
type Sizing struct {
	// Size is the length of the item value the write sends: the codec's
	// output, compressed if the store compresses it, followed by the
	// trailer of the store's format. For a value split into chunks, it is
	// the payload spread over them.
	Size int
	// Limit is the largest value the server accepts under the write's
	// memcached key with its flags (SizeGuard.Limit).
	Limit int
	// Chunks is how many chunks a store with WithChunking splits the value
	// into; 0 when it goes in one item.
	Chunks int
}

// MeasureWrite encodes v as a write under key by a Store built with opts
// (NewStore's defaults otherwise) would, writes nothing, and returns the
// write's sizes. A value the write would refuse returns the same error:
// a *TooLargeError, with the biggest fields, for one over the limit (the
// Sizing then holds its Size and Limit), an *EncodeError for one the codec
// refuses, the key's error for a key the store cannot map. Tests use it to check that a value fits (package
// sizetest) without restating the store's rules.
//
// A Store[T] and a Store[any] holding the same value write the same bytes:
// codecs encode the dynamic value, and whether a trailer is written depends
// on the codec only. So v's type does not have to be the store's T.
func MeasureWrite(key string, v any, opts ...Option) (Sizing, error) {
	// The store is this call's own, and a refusal must count in no
	// Counters and reach no middleware: nothing was written.
	quiet := func(o *storeConfig) { o.counters, o.middleware = nil, nil }
	s, err := NewStore[any](nil, append(slices.Clip(opts), quiet)...)
	if err != nil {
		return Sizing{}, err
	}
	k, err := s.keys.storeKey(key)
	if err != nil {
		return Sizing{}, err
	}
	enc, err := s.encode(key, k, v, 0)
	var tle *TooLargeError
	if errors.As(err, &tle) {
		return Sizing{Size: tle.Size, Limit: tle.Limit}, err
	}
	if err != nil {
		return Sizing{}, err
	}
	sz := Sizing{Size: len(enc.item.Value), Limit: s.SizeGuard().Limit(k, enc.item.Flags)}
	if len(enc.chunks) > 0 {
		sz.Size, sz.Chunks = 0, len(enc.chunks)
		for _, c := range enc.chunks {
			sz.Size += len(c.Value) - chunkHeaderLen
		}
	}
	return sz, nil
}
