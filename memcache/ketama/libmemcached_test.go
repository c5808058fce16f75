package ketama

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/libmemcached.golden from libmemcached")

// missing fails the test when CI=true and skips it otherwise: a developer
// without the tool still gets a useful run, CI never silently passes.
func missing(t testing.TB, what, pkgs string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing and CI=true requires it: apt-get install -y %s", what, pkgs)
	}
	t.Skipf("%s is missing; apt-get install -y %s to run this test", what, pkgs)
}

// buildRef compiles testdata/ketama_ref.c against libmemcached.
func buildRef(t testing.TB) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		missing(t, "gcc", "gcc libmemcached-dev")
	}
	bin := filepath.Join(t.TempDir(), "ketama_ref")
	out, err := exec.Command(gcc, "-O2", "-Wall", "-o", bin, "testdata/ketama_ref.c", "-lmemcached").CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("memcached.h")) || bytes.Contains(out, []byte("-lmemcached")) {
			missing(t, "libmemcached", "libmemcached-dev")
		}
		t.Fatalf("building the libmemcached helper: %v\n%s", err, out)
	}
	return bin
}

// runRef returns libmemcached's server index for each key.
func runRef(t testing.TB, bin, mode string, servers []Server, keys []string) []int {
	t.Helper()
	args := []string{mode}
	for _, sv := range servers {
		e, err := parseAddr(sv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		host, port := e.addr, "0"
		if e.network == "tcp" {
			host, port, _ = net.SplitHostPort(e.addr)
		}
		args = append(args, host, port, strconv.FormatUint(uint64(sv.Weight), 10))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(strings.Join(keys, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ketama_ref %v: %v\n%s", args, err, stderr.Bytes())
	}
	var got []int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "server ") {
			continue // libmemcached's view of the list, for debugging by hand
		}
		i, err := strconv.Atoi(line)
		if err != nil || i < 0 || i >= len(servers) {
			t.Fatalf("ketama_ref printed %q", line)
		}
		got = append(got, i)
	}
	if len(got) != len(keys) {
		t.Fatalf("ketama_ref answered %d keys of %d", len(got), len(keys))
	}
	return got
}

// testKeys returns n keys memcached accepts: numbered keys as applications
// write them, and random ones of 1 to 250 bytes, high bytes included.
func testKeys(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 8))
	keys := make([]string, n)
	for i := range keys {
		switch i % 3 {
		case 0:
			keys[i] = fmt.Sprintf("user:%d:profile", i)
		case 1:
			keys[i] = "k" + strconv.Itoa(i)
		default:
			b := make([]byte, 1+rng.IntN(250))
			for j := range b {
				// 0x21..0xff without DEL: no space, control or newline.
				c := byte(0x21 + rng.IntN(0xff-0x21+1))
				if c == 0x7f {
					c = 'x'
				}
				b[j] = c
			}
			keys[i] = string(b)
		}
	}
	return keys
}

// indexOf maps each key to the index of the server the selector picks.
func indexOf(t testing.TB, sel *Selector, servers []Server, keys []string) []int {
	t.Helper()
	pos := make(map[string]int, len(servers))
	for i, sv := range servers {
		e, err := parseAddr(sv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		pos[e.addr] = i
	}
	out := make([]int, len(keys))
	for i, k := range keys {
		a, err := sel.PickServer(k)
		if err != nil {
			t.Fatalf("PickServer(%q): %v", k, err)
		}
		out[i] = pos[a.String()]
	}
	return out
}

type compatList struct {
	name    string
	mode    string // ketama_ref's MODE
	servers []Server
}

func seq(format string, from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, from+i)
	}
	return out
}

func weighted(addrs []string, weights ...uint32) []Server {
	s := Servers(addrs...)
	for i := range s {
		s[i].Weight = weights[i]
	}
	return s
}

var compatLists = []compatList{
	{"1 server", "weighted", Servers("127.0.0.1:11211")},
	{"2 servers", "weighted", Servers("10.0.0.1:11211", "10.0.0.2:11211")},
	{"3 servers, default port", "weighted", Servers(seq("10.1.0.%d:11211", 1, 3)...)},
	{"3 servers, one host, ports 11211-11213", "weighted", Servers(seq("127.0.0.1:%d", 11211, 3)...)},
	{"4 host names, default port implied and explicit", "weighted",
		Servers("cache-a.example.com", "cache-b.example.com:11211", "cache-c.example.com:22122", "cache-d.example.com:11311")},
	{"4 servers, non-default ports", "weighted", Servers(seq("192.168.7.%d:21201", 1, 4)...)},
	{"7 servers", "weighted", Servers(seq("10.2.0.%d:11211", 1, 7)...)},
	{"10 servers, non-default ports", "weighted", Servers(seq("127.0.0.1:%d", 22122, 10)...)},
	{"13 servers", "weighted", Servers(seq("mc%02d.internal:11211", 1, 13)...)},
	{"25 servers (156 points each)", "weighted", Servers(seq("10.7.0.%d:11211", 1, 25)...)},
	{"50 servers (156 points each)", "weighted", Servers(seq("10.3.0.%d:11211", 1, 50)...)},
	{"100 servers (156 points each)", "weighted", Servers(seq("10.4.0.%d:11222", 1, 100)...)},
	{"IPv6, unix socket, bare localhost", "weighted",
		Servers("[::1]:11211", "[fe80::1]:11212", "/var/run/memcached/memcached.sock", "localhost")},
	{"weights 1 2 3 5 8", "weighted",
		weighted(seq("10.5.0.%d:11211", 1, 5), 1, 2, 3, 5, 8)},
	{"weights with zero (counts as 1) and 100", "weighted",
		weighted([]string{"a.example:11211", "b.example:11300", "c.example", "d.example:11211"}, 0, 100, 7, 1)},
	{"weights 1 2 3 5 8, CONSISTENT_KETAMA with MD5", "ketama",
		weighted(seq("10.5.0.%d:11211", 1, 5), 1, 2, 3, 5, 8)},
	{"10 servers weighted, CONSISTENT_KETAMA with MD5", "ketama",
		weighted(seq("10.6.0.%d:11211", 1, 10), 2, 2, 2, 3, 3, 3, 4, 4, 4, 9)},
}

// TestLibmemcachedAgrees proves the selector picks, key by key, the server
// libmemcached picks.
func TestLibmemcachedAgrees(t *testing.T) {
	bin := buildRef(t)
	const perList = 20000
	keys := testKeys(perList, 1)
	total := 0
	for _, l := range compatLists {
		t.Run(l.name, func(t *testing.T) {
			want := runRef(t, bin, l.mode, l.servers, keys)
			sel, err := New(Config{Servers: l.servers})
			if err != nil {
				t.Fatal(err)
			}
			got := indexOf(t, sel, l.servers, keys)
			bad := 0
			for i := range keys {
				if got[i] != want[i] {
					if bad < 5 {
						t.Errorf("key %q: selector picks %s, libmemcached %s",
							keys[i], l.servers[got[i]].Addr, l.servers[want[i]].Addr)
					}
					bad++
				}
			}
			if bad > 0 {
				t.Fatalf("%d of %d keys disagree", bad, len(keys))
			}
			total += len(keys)
			t.Logf("%d/%d keys agree", len(keys), len(keys))
		})
	}
	t.Logf("%d lists, %d keys in all, agree with libmemcached", len(compatLists), total)
}

// goldenNames name the lists checked even without libmemcached, from
// answers it gave once (go test -run TestGolden -update rewrites them).
var goldenNames = []string{
	"3 servers, one host, ports 11211-11213",
	"10 servers, non-default ports",
	"IPv6, unix socket, bare localhost",
	"weights 1 2 3 5 8",
}

func goldenLists(t *testing.T) []compatList {
	t.Helper()
	var out []compatList
	for _, name := range goldenNames {
		for _, l := range compatLists {
			if l.name == name {
				out = append(out, l)
			}
		}
	}
	if len(out) != len(goldenNames) {
		t.Fatalf("goldenNames names a list that compatLists lacks: %q", goldenNames)
	}
	return out
}

const goldenFile = "testdata/libmemcached.golden"

func TestGolden(t *testing.T) {
	const perList = 500
	goldenLists := goldenLists(t)
	if *update {
		bin := buildRef(t)
		var b strings.Builder
		b.WriteString("# libmemcached's server index for each key, per list; written by go test -run TestGolden -update\n")
		for li, l := range goldenLists {
			keys := testKeys(perList, 100+uint64(li))
			want := runRef(t, bin, l.mode, l.servers, keys)
			fmt.Fprintf(&b, "list %d\n", li)
			for i, k := range keys {
				fmt.Fprintf(&b, "%d %x\n", want[i], k)
			}
		}
		if err := os.WriteFile(goldenFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	sels := make([]*Selector, len(goldenLists))
	for i, l := range goldenLists {
		if sels[i], err = New(Config{Servers: l.servers}); err != nil {
			t.Fatal(err)
		}
	}
	li, checked := -1, 0
	for n, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "list "); ok {
			li, _ = strconv.Atoi(rest)
			continue
		}
		var want int
		var key []byte
		if _, err := fmt.Sscanf(line, "%d %x", &want, &key); err != nil || li < 0 || li >= len(sels) {
			t.Fatalf("%s:%d: bad line %q (%v)", goldenFile, n+1, line, errors.Join(err))
		}
		servers := goldenLists[li].servers
		got := indexOf(t, sels[li], servers, []string{string(key)})[0]
		if got != want {
			t.Errorf("list %q key %q: selector picks %s, libmemcached picked %s",
				goldenLists[li].name, key, servers[got].Addr, servers[want].Addr)
		}
		checked++
	}
	if checked != perList*len(goldenLists) {
		t.Fatalf("checked %d keys, want %d", checked, perList*len(goldenLists))
	}
}
