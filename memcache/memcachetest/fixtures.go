package memcachetest

import (
	"strings"
	"sync"
	"time"
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

// FakeClock is a clock that moves only when told, so expiration tests of a
// backend with an injectable clock need no sleeping. Its methods are safe
// for concurrent use.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock returns a FakeClock set to the current time.
func NewFakeClock() *FakeClock { return &FakeClock{t: time.Now()} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Sleep moves the clock d forward, at once.
func (c *FakeClock) Sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
