package benchmarks

import (
	"fmt"
	"net"
	"strings"
	"testing"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/leancache/leancache/memcache/ketama"
)

// The selection benchmarks price one PickServer call: ketama's Selector
// (MD5 of the key, binary search over 160 points per server) next to
// gomemcache's ServerList (crc32 of the key modulo the server count), for
// the same keys and servers. Neither may allocate.

// selectorKeys returns n keys of the given length, as applications write
// them ("user:123:profile" padded).
func selectorKeys(n, length int) []string {
	keys := make([]string, n)
	for i := range keys {
		k := fmt.Sprintf("user:%d:profile", i)
		if len(k) < length {
			k += strings.Repeat("x", length-len(k))
		}
		keys[i] = k
	}
	return keys
}

func selectorAddrs(n int) []string {
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("10.0.%d.%d:11211", i/250, 1+i%250)
	}
	return addrs
}

type selectors struct {
	ketama, rehash *ketama.Selector
	list           *gomemcache.ServerList
}

func newSelectors(b *testing.B, servers int) selectors {
	addrs := selectorAddrs(servers)
	k, err := ketama.New(ketama.Config{Servers: ketama.Servers(addrs...)})
	if err != nil {
		b.Fatal(err)
	}
	// A Rehash selector with its first server down prices the failover
	// path that the down server's keys take.
	r, err := ketama.New(ketama.Config{Servers: ketama.Servers(addrs...), Failover: ketama.Rehash,
		FailureThreshold: 1, RetryDelay: 1 << 62})
	if err != nil {
		b.Fatal(err)
	}
	r.Report(&net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 11211}, net.ErrClosed)
	var l gomemcache.ServerList
	if err := l.SetServers(addrs...); err != nil {
		b.Fatal(err)
	}
	return selectors{k, r, &l}
}

func benchPick(b *testing.B, sel gomemcache.ServerSelector, keys []string) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := sel.PickServer(keys[i&(len(keys)-1)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func benchPickParallel(b *testing.B, sel gomemcache.ServerSelector, keys []string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := sel.PickServer(keys[i&(len(keys)-1)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkPickServer compares selection cost per key. Sub-benchmark names
// read servers/key length/selector.
func BenchmarkPickServer(b *testing.B) {
	for _, servers := range []int{3, 10, 100} {
		s := newSelectors(b, servers)
		for _, length := range []int{20, 200} {
			keys := selectorKeys(1024, length) // a power of two, for the index mask
			prefix := fmt.Sprintf("servers=%d/key=%dB/", servers, length)
			b.Run(prefix+"ketama", func(b *testing.B) { benchPick(b, s.ketama, keys) })
			b.Run(prefix+"gomemcache", func(b *testing.B) { benchPick(b, s.list, keys) })
			if length == 20 {
				b.Run(prefix+"ketama-rehash-1-down", func(b *testing.B) { benchPick(b, s.rehash, keys) })
				b.Run(prefix+"ketama-parallel", func(b *testing.B) { benchPickParallel(b, s.ketama, keys) })
				b.Run(prefix+"gomemcache-parallel", func(b *testing.B) { benchPickParallel(b, s.list, keys) })
			}
		}
	}
}
