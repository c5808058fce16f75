package meta_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/memcache/meta"
)

// startServer starts a memcached for an example (examples cannot skip: a
// missing binary shows in their output).
func startServer() (*memcachetest.Server, func()) {
	srv, err := memcachetest.Start()
	if err != nil {
		fmt.Println(err)
		return nil, func() {}
	}
	return srv, func() { srv.Close() }
}

func ExampleNewClient() {
	srv, stop := startServer()
	defer stop()

	client, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}, Timeout: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	// A handler's context: its deadline becomes the connection's, with no
	// goroutine per call.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	fmt.Println(client.Set(ctx, &memcache.Item{Key: "greeting", Value: []byte("hello"), Flags: 7}))

	// The gomemcache Client reads what meta.Client wrote: same keys, same
	// flags, same server.
	old, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer old.Close()
	it, err := old.Get(ctx, "greeting")
	fmt.Printf("%s %d %v\n", it.Value, it.Flags, err)

	_, err = client.Get(ctx, "missing")
	fmt.Println(errors.Is(err, memcache.ErrCacheMiss))
	// Output:
	// <nil>
	// hello 7 <nil>
	// true
}

func ExampleClient_SetMulti() {
	srv, stop := startServer()
	defer stop()
	client, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	ctx := context.Background()

	// One pipelined round trip per server for the whole batch; errors come
	// back per item.
	errs := client.SetMulti(ctx, []*memcache.Item{
		{Key: "a", Value: []byte("1")},
		{Key: "bad key", Value: []byte("2")},
		{Key: "c", Value: []byte("3")},
	})
	for _, err := range errs {
		fmt.Println(err)
	}
	m, err := client.GetMulti(ctx, []string{"a", "b", "c"})
	fmt.Println(len(m), string(m["a"].Value), string(m["c"].Value), err)
	// Output:
	// <nil>
	// memcache: set "bad key": malformed key: byte 0x20 at offset 3
	// <nil>
	// 2 1 3 <nil>
}

// A lease lets one caller among all processes load a missing value while
// the others wait for it, instead of every process loading it at once.
func ExampleClient_GetLease() {
	srv, stop := startServer()
	defer stop()
	client, err := meta.NewClient(meta.Config{Servers: []string{srv.Addr}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	ctx := context.Background()
	lease := meta.LeaseOptions{LeaseTTL: 30} // a winner that dies frees the lease after 30 s

	first, _ := client.GetLease(ctx, "report", lease)
	second, _ := client.GetLease(ctx, "report", lease)
	fmt.Println("first won:", first.Won, "second waits:", second.Pending && second.Item == nil)

	// The winner loads and stores; everyone then reads the value.
	client.Set(ctx, &memcache.Item{Key: "report", Value: []byte("loaded"), Flags: 1, Expiration: 300})
	l, _ := client.GetLease(ctx, "report", lease)
	fmt.Printf("%s won:%v\n", l.Item.Value, l.Won)

	// Invalidate keeps the value for readers while one of them reloads it.
	client.Invalidate(ctx, "report", 30)
	a, _ := client.GetLease(ctx, "report", lease)
	b, _ := client.GetLease(ctx, "report", lease)
	fmt.Printf("%s stale:%v reloads:%v, %s stale:%v reloads:%v\n", a.Item.Value, a.Stale, a.Won, b.Item.Value, b.Stale, b.Won)
	// Output:
	// first won: true second waits: true
	// loaded won:false
	// loaded stale:true reloads:true, loaded stale:true reloads:false
}
