package ketama_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
)

// textCodec stores strings as their bytes, so these tests need no codec
// but their own.
type textCodec struct{}

func (textCodec) Name() string { return "ketama-test-text" }

func (textCodec) Marshal(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("text codec: %T is not a string", v)
	}
	return []byte(s), nil
}

func (textCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*string)
	if !ok {
		return fmt.Errorf("text codec: %T is not a *string", v)
	}
	*p = string(data)
	return nil
}

// storeOnCluster is a Store[string] over memcache.Client over the selector.
func storeOnCluster(t *testing.T, sel *ketama.Selector, timeout time.Duration) *memcache.Store[string] {
	t.Helper()
	c, err := memcache.NewClient(memcache.ClientConfig{Selector: sel, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	st, err := memcache.NewStore[string](c, memcache.WithCodec(textCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// storeKeysOn returns n caller keys whose memcached keys sel maps to addr.
func storeKeysOn(t *testing.T, st *memcache.Store[string], sel *ketama.Selector, addr string, n int) []string {
	t.Helper()
	var out []string
	for _, k := range ketama.TestKeys(100*n, 21) {
		if len(k) > 200 {
			continue // leave room for the store's key prefix
		}
		mk, err := st.Key(k)
		if err != nil {
			continue
		}
		if a, err := sel.PickServer(mk); err == nil && a.String() == addr {
			out = append(out, k)
			if len(out) == n {
				return out
			}
		}
	}
	t.Fatalf("found %d keys on %s, want %d", len(out), addr, n)
	return nil
}

type loader struct{ calls atomic.Int32 }

func (l *loader) load(key string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		l.calls.Add(1)
		return "value of " + key, nil
	}
}

// getOrLoadAll calls GetOrLoad for each key, checks the values, and
// returns how many calls waited for the timeout.
func getOrLoadAll(t *testing.T, st *memcache.Store[string], l *loader, keys []string, timeout time.Duration) (slow int) {
	t.Helper()
	for _, k := range keys {
		start := time.Now()
		v, err := st.GetOrLoad(t.Context(), k, l.load(k))
		if time.Since(start) >= timeout/2 {
			slow++
		}
		if err != nil || v != "value of "+k {
			t.Fatalf("GetOrLoad(%q) = %q, %v", k, v, err)
		}
	}
	return slow
}

// TestStoreOnClusterPlacement checks that values a Store writes through
// memcache.Client land on the servers the selector names.
func TestStoreOnClusterPlacement(t *testing.T) {
	_, addrs := ketama.StartCluster(t, 3)
	sel, err := ketama.New(ketama.Config{Servers: ketama.Servers(addrs...)})
	if err != nil {
		t.Fatal(err)
	}
	st := storeOnCluster(t, sel, time.Second)
	var l loader
	for _, addr := range addrs {
		keys := storeKeysOn(t, st, sel, addr, 20)
		getOrLoadAll(t, st, &l, keys, time.Second)
		for _, k := range keys {
			mk, _ := st.Key(k)
			if _, err := gomemcache.New(addr).Get(mk); err != nil {
				t.Fatalf("key %q (%q) is not on %s: %v", k, mk, addr, err)
			}
		}
	}
	before := l.calls.Load()
	for _, addr := range addrs {
		getOrLoadAll(t, st, &l, storeKeysOn(t, st, sel, addr, 20), time.Second)
	}
	if n := l.calls.Load() - before; n != 0 {
		t.Fatalf("%d loads on the second pass, want 0: every value should be cached", n)
	}
}

// TestStoreOnClusterHungServer hangs one server under a Store: GetOrLoad
// keeps answering from the loader without waiting for the timeout more
// than FailureThreshold times, and once the server is back its values,
// untouched while it was shunned, are served again.
func TestStoreOnClusterHungServer(t *testing.T) {
	for _, mode := range []ketama.Failover{ketama.FailFast, ketama.Rehash} {
		t.Run(mode.String(), func(t *testing.T) {
			procs, addrs := ketama.StartCluster(t, 3)
			const threshold, delay, timeout = 2, 500 * time.Millisecond, 300 * time.Millisecond
			sel, err := ketama.New(ketama.Config{Servers: ketama.Servers(addrs...),
				FailureThreshold: threshold, RetryDelay: delay, Failover: mode})
			if err != nil {
				t.Fatal(err)
			}
			st := storeOnCluster(t, sel, timeout)
			var l loader
			victim := addrs[0]
			vkeys := storeKeysOn(t, st, sel, victim, 20)
			okeys := storeKeysOn(t, st, sel, addrs[1], 10)
			getOrLoadAll(t, st, &l, append(vkeys, okeys...), timeout)
			l.calls.Store(0)

			if err := procs[0].Pause(); err != nil {
				t.Fatal(err)
			}
			ketama.WaitHung(t, victim)
			slow := getOrLoadAll(t, st, &l, vkeys, timeout)
			loads := l.calls.Load()
			t.Logf("%s: %s hung: %d of %d GetOrLoad calls waited for the %v timeout, %d loads",
				mode, victim, slow, len(vkeys), timeout, loads)
			if slow == 0 || slow > threshold {
				t.Errorf("%d calls waited for the timeout, want 1 to %d", slow, threshold)
			}
			if loads != int32(len(vkeys)) {
				t.Errorf("%d loads for %d keys of a hung server, want one each", loads, len(vkeys))
			}
			l.calls.Store(0)
			getOrLoadAll(t, st, &l, okeys, timeout)
			if n := l.calls.Load(); n != 0 {
				t.Errorf("%d loads for keys of live servers, want 0", n)
			}
			if mode == ketama.Rehash {
				// The keys now live on their fallback servers.
				getOrLoadAll(t, st, &l, vkeys[threshold:], timeout)
				if n := l.calls.Load(); n != 0 {
					t.Errorf("Rehash: %d loads on the second pass, want 0", n)
				}
			}

			if err := procs[0].Resume(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * delay)
			for sel.Status()[0].Down {
				if time.Now().After(deadline) {
					t.Fatalf("%s still down %v after Resume: %+v", victim, 10*delay, sel.Status())
				}
				st.GetOrLoad(t.Context(), vkeys[0], l.load(vkeys[0]))
				time.Sleep(20 * time.Millisecond)
			}
			l.calls.Store(0)
			getOrLoadAll(t, st, &l, vkeys[1:], timeout)
			if n := l.calls.Load(); n != 0 {
				t.Errorf("after Resume, %d loads: the server's values should be served again", n)
			}
		})
	}
}

// TestClientReportsToSelector checks the contract with memcache.Client:
// refused calls count, a miss does not.
func TestClientReportsToSelector(t *testing.T) {
	procs, addrs := ketama.StartCluster(t, 3)
	sel, err := ketama.New(ketama.Config{Servers: ketama.Servers(addrs...), FailureThreshold: 2, RetryDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, err := memcache.NewClient(memcache.ClientConfig{Selector: sel, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	keys := ketama.KeysOn(t, sel, addrs[2], 5)
	ctx := context.Background()
	for range 5 {
		if _, err := c.Get(ctx, keys[0]); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Fatalf("Get of a missing key: %v", err)
		}
	}
	if sel.Status()[2].Down {
		t.Fatal("misses marked the server down")
	}
	if err := procs[2].Kill(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := c.Get(ctx, keys[i]); err == nil || errors.Is(err, ketama.ErrServerDown) {
			t.Fatalf("call %d to a killed server: %v, want a network error", i+1, err)
		}
	}
	start := time.Now()
	_, err = c.Get(ctx, keys[2])
	if !errors.Is(err, ketama.ErrServerDown) {
		t.Fatalf("third call: %v, want ErrServerDown through memcache.Client", err)
	}
	var de *ketama.ServerDownError
	if !errors.As(err, &de) || de.Addr != addrs[2] {
		t.Fatalf("error %v does not name %s", err, addrs[2])
	}
	t.Logf("the third call failed fast in %v with a *ServerDownError naming %s", time.Since(start), de.Addr)
}
