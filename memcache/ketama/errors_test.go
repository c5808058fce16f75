package ketama_test

import (
	"context"
	"errors"
	"testing"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
)

// TestErrNoServersIsOneError checks that "no servers" is one error whichever
// package names it: a caller of a Client over a Selector checks
// memcache.ErrNoServers, a caller of the Selector ketama.ErrNoServers, and
// both match whichever of them produced it.
func TestErrNoServersIsOneError(t *testing.T) {
	names := map[string]error{
		"memcache.ErrNoServers":   memcache.ErrNoServers,
		"ketama.ErrNoServers":     ketama.ErrNoServers,
		"gomemcache.ErrNoServers": gomemcache.ErrNoServers,
	}

	sel, err := ketama.New(ketama.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, pickErr := sel.PickServer("k")
	_, newErr := memcache.NewClient(memcache.ClientConfig{})
	c, err := memcache.NewClient(memcache.ClientConfig{Selector: sel})
	if err != nil {
		t.Fatal(err)
	}
	_, getErr := c.Get(context.Background(), "k")
	_, multiErr := c.GetMulti(context.Background(), []string{"k"})
	setErr := c.Set(context.Background(), &memcache.Item{Key: "k", Value: []byte("v")})
	_, sizeErr := c.ItemSizeMax(context.Background())

	for what, err := range map[string]error{
		"Selector.PickServer with no servers":       pickErr,
		"NewClient with no servers":                 newErr,
		"Client.Get over an empty Selector":         getErr,
		"Client.GetMulti over an empty Selector":    multiErr,
		"Client.Set over an empty Selector":         setErr,
		"Client.ItemSizeMax over an empty Selector": sizeErr,
	} {
		for name, target := range names {
			if !errors.Is(err, target) {
				t.Errorf("%s returned %v, which is not %s", what, err, name)
			}
		}
	}
}
