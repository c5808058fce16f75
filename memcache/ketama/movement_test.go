package ketama

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
)

const movementKeys = 100000

// placement maps each key to a server address.
func placement(t *testing.T, sel gomemcache.ServerSelector, keys []string) []string {
	t.Helper()
	out := make([]string, len(keys))
	for i, k := range keys {
		a, err := sel.PickServer(k)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = a.String()
	}
	return out
}

// spread describes how many keys each server holds.
func spread(addrs []string, where []string) string {
	count := map[string]int{}
	for _, a := range where {
		count[a]++
	}
	var b strings.Builder
	mean := float64(len(where)) / float64(len(addrs))
	worst := 0.0
	for _, a := range addrs {
		f := float64(count[a]) / mean
		worst = max(worst, f, 2-f)
		fmt.Fprintf(&b, "%s %.1f%%  ", a, 100*float64(count[a])/float64(len(where)))
	}
	fmt.Fprintf(&b, "(farthest from even: %.2fx the mean)", worst)
	return b.String()
}

func moved(a, b []string) float64 {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return float64(n) / float64(len(a))
}

func gomemcacheList(t *testing.T, addrs []string) *gomemcache.ServerList {
	t.Helper()
	var sl gomemcache.ServerList
	if err := sl.SetServers(addrs...); err != nil {
		t.Fatal(err)
	}
	return &sl
}

// TestMovement measures how many of 100,000 keys change server when a
// server is added or removed, against gomemcache's crc32 % N.
func TestMovement(t *testing.T) {
	keys := testKeys(movementKeys, 42)
	four := seq("127.0.0.1:%d", 11211, 4)
	three := four[:3]

	sel, err := New(Config{Servers: Servers(three...)})
	if err != nil {
		t.Fatal(err)
	}
	before := placement(t, sel, keys)
	t.Logf("ketama, 3 servers: %s", spread(three, before))
	if err := sel.Add(Server{Addr: four[3]}); err != nil {
		t.Fatal(err)
	}
	after := placement(t, sel, keys)
	t.Logf("ketama, 4 servers: %s", spread(four, after))
	for i := range keys {
		if before[i] != after[i] && after[i] != four[3] {
			t.Fatalf("adding %s moved key %q from %s to %s", four[3], keys[i], before[i], after[i])
		}
	}
	add := moved(before, after)
	if err := sel.Remove(four[1]); err != nil {
		t.Fatal(err)
	}
	removed := placement(t, sel, keys)
	remaining := slices.Delete(slices.Clone(four), 1, 2)
	t.Logf("ketama, %s removed: %s", four[1], spread(remaining, removed))
	for i := range keys {
		if after[i] != removed[i] && after[i] != four[1] {
			t.Fatalf("removing %s moved key %q from %s to %s", four[1], keys[i], after[i], removed[i])
		}
	}
	remove := moved(after, removed)

	gmAdd := moved(placement(t, gomemcacheList(t, three), keys), placement(t, gomemcacheList(t, four), keys))
	gmRemove := moved(placement(t, gomemcacheList(t, four), keys), placement(t, gomemcacheList(t, remaining), keys))
	t.Logf("gomemcache crc32%%N, 4 servers: %s", spread(four, placement(t, gomemcacheList(t, four), keys)))
	t.Logf("keys moved (of %d): ketama 3->4 %.1f%%, 4->3 %.1f%%; gomemcache 3->4 %.1f%%, 4->3 %.1f%%",
		len(keys), 100*add, 100*remove, 100*gmAdd, 100*gmRemove)
	if add > 0.30 {
		t.Errorf("adding a 4th server moved %.1f%% of keys, want at most 30%%", 100*add)
	}
	if remove > 0.40 {
		t.Errorf("removing one of 4 servers moved %.1f%% of keys, want at most 40%%", 100*remove)
	}
	if add < 0.15 || remove < 0.15 {
		t.Errorf("suspiciously few keys moved (%.1f%%, %.1f%%): is the new server used at all?", 100*add, 100*remove)
	}
}

// TestSpreadWithWeights checks that keys follow weights.
func TestSpreadWithWeights(t *testing.T) {
	keys := testKeys(movementKeys, 7)
	servers := weighted(seq("10.0.0.%d:11211", 1, 3), 1, 2, 5)
	sel, err := New(Config{Servers: servers})
	if err != nil {
		t.Fatal(err)
	}
	where := placement(t, sel, keys)
	addrs := []string{servers[0].Addr, servers[1].Addr, servers[2].Addr}
	t.Logf("weights 1:2:5: %s", spread(addrs, where))
	count := map[string]int{}
	for _, a := range where {
		count[a]++
	}
	for i, w := range []float64{1, 2, 5} {
		got := float64(count[addrs[i]]) / float64(len(keys))
		if want := w / 8; got < want*0.75 || got > want*1.25 {
			t.Errorf("%s (weight %v) holds %.1f%% of keys, want about %.1f%%", addrs[i], w, 100*got, 100*want)
		}
	}
}
