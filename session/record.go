package session

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/leancache/leancache/memcache"
)

// What a Store keeps in memcached under a session's key, with recordFlags:
//
//	int64   expiry     unix nanoseconds, big-endian
//	uvarint n          length of the token, then n bytes:
//	  token            only on an embedded backend (for All); else n is 0
//	data               the session manager's bytes, as they are
//
// Items with zero flags hold the manager's bytes alone, as Stores wrote
// them before this header existed; memcached's expiration alone ends them.
// The reverse does not hold: a Store of a version before the header reads
// these items as the manager's bytes, which its codec then refuses, so a
// deploy should not run both versions on one prefix at once (or should
// change the prefix, which starts every session afresh).

// recordFlags marks an item written with the header above.
const recordFlags uint32 = 0x4c530001 // "LS", version 1

// recordLen is the length of the record of n bytes of data naming token.
func recordLen(token string, n int) int {
	return 8 + uvarintLen(uint64(len(token))) + len(token) + n
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

// lastExpiry is the last instant memcached can keep an item until, where
// memcache.Expiration caps every expiration: later expiries are capped here
// too, which also keeps them within what UnixNano can represent (2262).
var lastExpiry = time.Unix(int64(memcache.Expiration(math.MaxInt64, time.Unix(0, 0))), 0)

func appendRecord(expiry time.Time, token string, data []byte) []byte {
	if expiry.After(lastExpiry) {
		expiry = lastExpiry
	}
	b := make([]byte, 0, recordLen(token, len(data)))
	b = binary.BigEndian.AppendUint64(b, uint64(expiry.UnixNano()))
	b = appendString(b, token)
	return append(b, data...)
}

// record is a parsed item; data points into the item's value.
type record struct {
	expiry int64 // unix nanoseconds; 0 for an item without a header
	token  string
	data   []byte
}

// expired reports whether the session's own expiry has passed at now.
func (r record) expired(now time.Time) bool {
	return r.expiry != 0 && now.UnixNano() >= r.expiry
}

// parseRecord reads it, and reports false for an item no Store wrote.
func parseRecord(it *memcache.Item) (record, bool) {
	switch it.Flags {
	case 0:
		return record{data: it.Value}, true
	case recordFlags:
	default:
		return record{}, false
	}
	if len(it.Value) < 8 {
		return record{}, false
	}
	r := reader{b: it.Value[8:]}
	tok := r.bytes()
	if r.err != nil {
		return record{}, false
	}
	exp := int64(binary.BigEndian.Uint64(it.Value))
	if exp == 0 {
		exp = 1 // a header always has an expiry; 0 would mean none
	}
	return record{expiry: exp, token: string(tok), data: r.b}, true
}
