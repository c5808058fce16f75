package memcache

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is what a loader of GetOrLoad or GetOrLoadMulti returns,
// wrapped or not, to say that what it loads does not exist (a row that is
// not in the database), as opposed to a failure. With WithNegativeTTL the
// store remembers the absence and answers it without loading; Get and
// GetOrLoad then return errors for which errors.Is(err, ErrNotFound) holds.
var ErrNotFound = errors.New("memcache: not found")

// kindNegative is the item kind of a negative entry (see the package
// documentation, Negative entries).
const kindNegative = 3

// A negativeError is what reading a negative entry under key returns. As
// Get returns it (miss set) it is both a miss, since the key holds no
// value, and ErrNotFound, since the store remembers that the loader found
// none; as GetOrLoad returns it, ErrNotFound only: GetOrLoad answers
// misses.
type negativeError struct {
	key  string // the caller's key
	miss bool
}

func (e *negativeError) Error() string {
	return fmt.Sprintf("memcache: %s: not found (a negative entry remembers the loader's answer)", quoteKey(e.key))
}

// Is makes errors.Is(err, ErrNotFound) hold, and errors.Is(err,
// ErrCacheMiss) too for Get's.
func (e *negativeError) Is(target error) bool {
	return target == ErrNotFound || e.miss && target == ErrCacheMiss
}

// isNegative reports whether err is the reading of a negative entry.
func isNegative(err error) bool {
	var ne *negativeError
	return errors.As(err, &ne)
}

// negativeAnswer is what GetOrLoad makes of the read of a negative entry
// under key: with negative caching on, the absence it remembers, returned
// without loading (answered true); off, a miss to load and overwrite.
func (s *Store[T]) negativeAnswer(key string) (answered bool, err error) {
	if s.fresh.negativeTTL <= 0 {
		return false, nil
	}
	return true, &negativeError{key: key}
}

// negativeItem is the negative entry of the memcached key k: flags of kind
// kindNegative, in the store's format version and codec, and an empty
// payload (with the trailer of version 2), living WithNegativeTTL's
// lifetime, jittered.
func (s *Store[T]) negativeItem(k string) *Item {
	version := uint32(flagsVersion)
	if s.fingerprinted {
		version = flagsV2
	}
	return &Item{
		Key:        k,
		Value:      s.withFingerprint(make([]byte, 0, trailerLen), true),
		Flags:      makeFlagsOf(version, kindNegative, compressNone, s.codecID),
		Expiration: s.expirationAt(s.jittered(s.fresh.negativeTTL)),
	}
}

// remembersAbsence reports whether a load's error err is to be remembered
// in a negative entry: the loader's ErrNotFound, in a store with negative
// caching on.
func (s *Store[T]) remembersAbsence(err error) bool {
	return s.fresh.negativeTTL > 0 && errors.Is(err, ErrNotFound)
}

// rememberAbsence writes the negative entry of the caller's key key, after
// its loader returned ErrNotFound. A failure is GetOrLoad's to absorb or
// return, as for a value's write.
func (s *Store[T]) rememberAbsence(ctx context.Context, key string) error {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	return s.put(ctx, OpSet, s.negativeItem(k))
}
