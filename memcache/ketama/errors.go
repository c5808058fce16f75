package ketama

import (
	"errors"
	"strconv"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
)

// Errors returned by a Selector; compare with errors.Is.
var (
	// ErrServerDown means the server that owns a key is marked down and the
	// selector fails fast. The error returned is a *ServerDownError naming
	// the server.
	ErrServerDown = errors.New("ketama: server down")

	// ErrNoServers means the selector has no servers. It is gomemcache's
	// own value, as memcache.ErrNoServers is, so code that checks either
	// matches it. (This package does not import memcache: a selector needs
	// only gomemcache.)
	ErrNoServers = gomemcache.ErrNoServers
)

// A ServerDownError is returned by [Selector.PickServer] when the server that
// owns the key is marked down and the selector fails fast (or, with Rehash,
// when no server is left to take the key).
type ServerDownError struct {
	// Addr is the server that owns the key, as the selector names it
	// ("host:port" or a socket path).
	Addr string
}

// Error names the server: "ketama: server 10.0.0.2:11211 is down".
func (e *ServerDownError) Error() string {
	return "ketama: server " + e.Addr + " is down"
}

// Is makes errors.Is(err, ErrServerDown) true.
func (e *ServerDownError) Is(target error) bool { return target == ErrServerDown }

// A ConfigError is returned by [New], [Selector.SetServers], [Selector.Add]
// and [Selector.Remove] when a server list cannot be used. The selector is
// left as it was.
type ConfigError struct {
	// Server is the offending entry as it was given.
	Server string
	// Reason says what is wrong with it.
	Reason string
}

// Error names the entry and the reason.
func (e *ConfigError) Error() string {
	return "ketama: server " + strconv.Quote(e.Server) + ": " + e.Reason
}
