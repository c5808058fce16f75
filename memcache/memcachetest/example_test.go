package memcachetest_test

import (
	"bufio"
	"fmt"
	"net"

	"github.com/leancache/leancache/memcache/memcachetest"
)

// In a test, memcachetest.NewServer(t, opts) does the same as Start and also
// stops the server when the test ends; Start is for code with no testing.TB.
func ExampleStart() {
	srv, err := memcachetest.Start(memcachetest.Options{ItemSize: "2m", MemoryMB: 64})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Fprint(conn, "stats settings\r\n")
	sc := bufio.NewScanner(conn)
	for sc.Scan() && sc.Text() != "END" {
		var name, value string
		fmt.Sscanf(sc.Text(), "STAT %s %s", &name, &value)
		if name == "item_size_max" || name == "maxbytes" {
			fmt.Println(name, value)
		}
	}
	// Output:
	// maxbytes 67108864
	// item_size_max 2097152
}
