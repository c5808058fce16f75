package otelcache_test

import (
	"fmt"
	"log"
	"net"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
	"github.com/leancache/leancache/observability/otelcache"
)

// A store whose calls are spans and db.client.operation.duration points
// of otel's global providers, each with the address of the server its key
// goes to, and whose selector's servers down and up are counted.
func Example() {
	var sel *ketama.Selector
	rec, err := otelcache.New(otelcache.WithServerPicker(func(key string) (net.Addr, error) {
		return sel.PickServer(key)
	}))
	if err != nil {
		log.Fatal(err)
	}
	sel, err = ketama.New(ketama.Config{
		Servers:       ketama.Servers("10.0.0.1:11211", "10.0.0.2:11211"),
		OnStateChange: memcache.ServerStateRecorder(rec, memcache.StoreInfo{Name: "users"}),
	})
	if err != nil {
		log.Fatal(err)
	}
	client, err := memcache.NewClient(memcache.ClientConfig{Selector: sel})
	if err != nil {
		log.Fatal(err)
	}
	_, err = memcache.NewStore[*user](client, memcache.WithName("users"), memcache.WithRecorder(rec))
	if err != nil {
		log.Fatal(err)
	}
}

// A Store prepares the Recorder itself (memcache.NewStore calls ForStore);
// stores of the same name, namespace and codec share what it built.
func ExampleRecorder_ForStore() {
	rec, err := otelcache.New(otelcache.WithoutTraces())
	if err != nil {
		log.Fatal(err)
	}
	users := memcache.StoreInfo{Name: "users", Codec: "json"}
	fmt.Println(rec.ForStore(users) == rec.ForStore(users))
	fmt.Println(rec.ForStore(users) == rec.ForStore(memcache.StoreInfo{Name: "pages", Codec: "json"}))
	// Output:
	// true
	// false
}
