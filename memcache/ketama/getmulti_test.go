package ketama

import (
	"context"
	"fmt"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/leancache/leancache/memcache"
)

// TestClientGetMultiWithAServerDown checks that one dead server costs only
// its own keys in a GetMulti: the others' items come back with the error,
// and once the server is back its trial call after the retry delay gets
// through a GetMulti too.
func TestClientGetMultiWithAServerDown(t *testing.T) {
	servers, addrs := startCluster(t, 3)
	sel, err := New(Config{Servers: Servers(addrs...), FailureThreshold: 1, RetryDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := memcache.NewClient(memcache.ClientConfig{Selector: sel, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	var keys []string
	for i := 0; i < 60; i++ {
		k := fmt.Sprintf("gm-%d", i)
		keys = append(keys, k)
		if err := c.Set(ctx, &memcache.Item{Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	dead := servers[0]
	var deadKeys []string
	for _, k := range keys {
		if a, _ := sel.PickServer(k); a.String() == addrs[0] {
			deadKeys = append(deadKeys, k)
		}
	}
	onDead := len(deadKeys)
	if onDead == 0 || onDead == len(keys) {
		t.Fatalf("%d of %d keys on the server to kill", onDead, len(keys))
	}
	if err := dead.Kill(); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		got, err := c.GetMulti(ctx, keys)
		if err == nil {
			t.Fatalf("round %d: no error with a server down", round)
		}
		if len(got) != len(keys)-onDead {
			t.Fatalf("round %d: got %d items, want the %d of the live servers", round, len(got), len(keys)-onDead)
		}
	}
	if err := dead.Restart(); err != nil {
		t.Fatal(err)
	}
	// Refill the restarted (cold) server directly, then wait for the
	// selector's trial call, made by a GetMulti, to bring it back.
	for _, k := range deadKeys {
		if err := direct(addrs[0], time.Second).Set(&gomemcache.Item{Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := c.GetMulti(ctx, keys)
		if err == nil && len(got) == len(keys) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted server never came back through GetMulti: %d items, %v", len(got), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
