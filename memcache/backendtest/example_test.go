package backendtest_test

import (
	"testing"
	"time"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/backendtest"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// A backend of your own passes the suite in a test of its own: here the
// Embedded backend, in a synctest bubble so that expirations take no real
// time, and the gomemcache Client on a real memcached the suite starts.
func Example() {
	testEmbedded := func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) backendtest.Target {
			return backendtest.Target{
				Backend:     memcache.NewEmbedded(memcache.EmbeddedConfig{}),
				ItemSizeMax: memcache.DefaultItemSizeMax,
				Now:         time.Now,
				Sleep:       time.Sleep,
				Bubble:      true,
			}
		})
	}
	testClient := func(t *testing.T) {
		backendtest.Run(t, backendtest.OnServer(t, memcachetest.Options{}, memcache.DefaultItemSizeMax,
			func(t *testing.T, addr string) memcache.Backend {
				c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{addr}})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}))
	}
	_, _ = testEmbedded, testClient
	// Output:
}
