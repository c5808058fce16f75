package memcache

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// Store keys follow the rules in the package documentation (# Keys).

// hashedKeyMarker separates a mapped key's prefix from its digest.
const hashedKeyMarker = '#'

// hashedKeyLen is the length of a mapped key after the prefix.
var hashedKeyLen = 1 + base64.RawURLEncoding.EncodedLen(sha256.Size)

// keyMapper builds store keys under one prefix.
type keyMapper struct {
	prefix   string
	verbatim bool // WithInterop: keys are never mapped (see verbatimKey)
}

func newKeyMapper(namespace, version string) (keyMapper, error) {
	prefix := ""
	if namespace != "" {
		prefix = namespace + ":"
	}
	if version != "" {
		prefix += version + ":"
	}
	if prefix != "" && !ValidKey(prefix) {
		return keyMapper{}, fmt.Errorf("%w: namespace %q and version %q must be printable ASCII without spaces", ErrMalformedKey, namespace, version)
	}
	// Every mapped key must still fit.
	if len(prefix)+hashedKeyLen > MaxKeyLen {
		return keyMapper{}, fmt.Errorf("%w: prefix %q is too long (%d bytes, at most %d)", ErrMalformedKey, prefix, len(prefix), MaxKeyLen-hashedKeyLen)
	}
	return keyMapper{prefix: prefix}, nil
}

// storeKey returns the memcached key for a caller's key.
func (m keyMapper) storeKey(key string) (string, error) {
	if m.verbatim {
		return m.verbatimKey(key)
	}
	if key == "" {
		return "", fmt.Errorf("%w: empty key", ErrMalformedKey)
	}
	full := m.prefix + key
	if ValidKey(full) && !containsByte(key, hashedKeyMarker) {
		return full, nil
	}
	sum := sha256.Sum256([]byte(key))
	return m.prefix + string(hashedKeyMarker) + base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
