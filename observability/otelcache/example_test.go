package otelcache_test

import (
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
