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

// TestStoreGetMultiWithAServerDown is the same through a Store: the values
// of the live servers come back with the error.
func TestStoreGetMultiWithAServerDown(t *testing.T) {
	servers, addrs := startCluster(t, 2)
	sel, err := New(Config{Servers: Servers(addrs...), FailureThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := memcache.NewClient(memcache.ClientConfig{Selector: sel, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	st, err := memcache.NewStore[[]string](c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var keys []string
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("sgm-%d", i)
		keys = append(keys, k)
		if err := st.Set(ctx, k, []string{k}); err != nil {
			t.Fatal(err)
		}
	}
	live := 0
	for _, k := range keys {
		mk, _ := st.Key(k)
		if a, _ := sel.PickServer(mk); a.String() == addrs[1] {
			live++
		}
	}
	if err := servers[0].Kill(); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetMulti(ctx, keys)
	if err == nil {
		t.Fatal("no error with a server down")
	}
	if len(got) != live {
		t.Fatalf("got %d values, want the %d of the live server", len(got), live)
	}
	for k, v := range got {
		if len(v) != 1 || v[0] != k {
			t.Fatalf("value of %s is %v", k, v)
		}
	}
}
