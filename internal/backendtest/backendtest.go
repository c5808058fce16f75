// Package backendtest runs a test against each backend leancache's
// session stores and examples are proven on: the embedded backend and a
// real memcached, started by memcachetest (so a test fails when CI=true and
// memcached is missing, and skips elsewhere).
package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// A Backend names a kind of backend and makes a fresh one for a test.
type Backend struct {
	Name string
	New  func(t *testing.T) memcache.Backend
}

// All are the embedded backend and a real memcached, each new per test.
var All = []Backend{
	{"embedded", func(t *testing.T) memcache.Backend { return memcache.NewEmbedded(memcache.EmbeddedConfig{}) }},
	{"memcached", func(t *testing.T) memcache.Backend {
		srv := memcachetest.NewServer(t)
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}},
}

// Run runs f as a subtest named for each of All, with a fresh backend.
func Run(t *testing.T, f func(t *testing.T, b memcache.Backend)) {
	for _, be := range All {
		t.Run(be.Name, func(t *testing.T) { f(t, be.New(t)) })
	}
}
