package memcachetest

import (
	"strings"
)

// IllegalKeys are keys memcached refuses, by why: every backend must reject
// them with an ErrMalformedKey error before any network I/O.
var IllegalKeys = map[string]string{
	"empty":     "",
	"space":     "a b",
	"crlf":      "a\r\nb",
	"nul":       "a\x00b",
	"control":   "\x01",
	"tab":       "a\tb",
	"del":       "a\x7f",
	"251 bytes": strings.Repeat("k", 251), // one over memcached's key limit
}
