package memcache

import (
	"math"
	"time"
)

// maxRelativeExpiration is the largest expiration memcached reads as seconds
// from now (30 days); larger values are absolute unix times.
const maxRelativeExpiration = 60 * 60 * 24 * 30

// Expiration turns a lifetime d, as of now, into memcached's expiration
// field (Item.Expiration, the exptime of the protocol), following
// memcached's rules:
//
//   - zero means never expire, and a negative d is already expired (-1);
//   - up to 30 days, the field counts seconds from now, rounded up, so
//     that a short lifetime never becomes zero (never);
//   - beyond, it is the absolute unix time now+d, rounded up to a whole
//     second;
//   - the field is an int32, so absolute times past 2038-01-19T03:14:07Z
//     are capped there: a longer lifetime would otherwise wrap into the
//     past and the value expire at once.
//
// Every part of leancache that writes to memcached (the Store's writes,
// chunks and Touch, package session and its gorilla adapter) converts its
// lifetimes here.
func Expiration(d time.Duration, now time.Time) int32 {
	switch {
	case d == 0:
		return 0
	case d < 0:
		return -1
	case d <= maxRelativeExpiration*time.Second:
		return int32((d + time.Second - 1) / time.Second)
	}
	// d may be up to 292 years: compare in seconds, where it cannot
	// overflow, before converting.
	at := now.Add(d)
	secs := at.Unix()
	if at.Nanosecond() != 0 {
		secs++
	}
	return int32(min(secs, math.MaxInt32))
}
