package ketama_test

import (
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
)

// A cluster of three memcached servers, shared with services that use
// libmemcached's ketama distribution, behind a memcache.Client.
func Example() {
	sel, err := ketama.New(ketama.Config{
		Servers: ketama.Servers("10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"),
		// Mark a server down after 3 failed calls in a row, probe it every
		// 2s, and fail its keys fast meanwhile (the defaults, spelled out).
		FailureThreshold: 3,
		RetryDelay:       2 * time.Second,
		Failover:         ketama.FailFast,
		OnStateChange: func(addr net.Addr, down bool) {
			log.Printf("memcached %s down=%v", addr, down)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The Client reports each call's outcome to the selector.
	client, err := memcache.NewClient(memcache.ClientConfig{Selector: sel, Timeout: 200 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	for _, key := range []string{"user:1", "user:2", "session:42"} {
		addr, _ := sel.PickServer(key)
		fmt.Printf("%s -> %s\n", key, addr)
	}

	// Grow the cluster at runtime: about a quarter of the keys move, all
	// of them to the new server.
	before := map[string]string{}
	for i := range 10000 {
		key := fmt.Sprint("item:", i)
		addr, _ := sel.PickServer(key)
		before[key] = addr.String()
	}
	if err := sel.Add(ketama.Server{Addr: "10.0.0.4:11211"}); err != nil {
		fmt.Println(err)
		return
	}
	moved := 0
	for key, old := range before {
		if addr, _ := sel.PickServer(key); addr.String() != old {
			moved++
		}
	}
	fmt.Printf("adding a 4th server moved %.0f%% of keys\n", float64(moved)/100)
	for _, s := range sel.Status() {
		fmt.Println(s.Addr, s.Points, "points")
	}
	// Output:
	// user:1 -> 10.0.0.2:11211
	// user:2 -> 10.0.0.3:11211
	// session:42 -> 10.0.0.2:11211
	// adding a 4th server moved 26% of keys
	// 10.0.0.1:11211 160 points
	// 10.0.0.2:11211 160 points
	// 10.0.0.3:11211 160 points
	// 10.0.0.4:11211 160 points
}

// When a server stops answering, the client's reports mark it down and its
// keys fail at once instead of waiting for the timeout on every call.
func ExampleSelector_Report() {
	sel, err := ketama.New(ketama.Config{
		Servers:          ketama.Servers("10.0.0.1:11211", "10.0.0.2:11211"),
		FailureThreshold: 2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	addr, _ := sel.PickServer("user:1")
	refused := errors.New("dial tcp " + addr.String() + ": connection refused")
	sel.Report(addr, refused)
	sel.Report(addr, refused)

	_, err = sel.PickServer("user:1")
	fmt.Println(err)
	fmt.Println(errors.Is(err, ketama.ErrServerDown))
	// Output:
	// ketama: server 10.0.0.2:11211 is down
	// true
}
