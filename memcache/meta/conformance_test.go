package meta_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/backendtest"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/memcache/meta"
)

// openMeta gives a conformance case a meta.Client of its own.
func openMeta(t *testing.T, addr string) memcache.Backend {
	// Generous: megabyte values under -race on a loaded machine.
	c, err := meta.NewClient(meta.Config{Servers: []string{addr}, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, backendtest.OnServer(t, memcachetest.Options{}, memcache.DefaultItemSizeMax, openMeta))
}

func TestConformance2m(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, backendtest.OnServer(t, memcachetest.Options{ItemSize: "2m", MemoryMB: 64}, 2<<20, openMeta))
}
