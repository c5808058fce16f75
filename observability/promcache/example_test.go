package promcache_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/observability/promcache"
)

// A store counted in the default registry, served at /metrics.
func Example() {
	rec, err := promcache.New(prometheus.DefaultRegisterer, promcache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{"127.0.0.1:11211"}})
	if err != nil {
		log.Fatal(err)
	}
	_, err = memcache.NewStore[*user](client, memcache.WithName("users"), memcache.WithRecorder(rec))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/metrics", promhttp.Handler())
}

// A Store prepares the Recorder itself (memcache.NewStore calls ForStore
// and tells what it returns): its series are found once, and count into
// the Recorder's metrics.
func ExampleRecorder_ForStore() {
	reg := prometheus.NewRegistry()
	rec, err := promcache.New(reg, promcache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	info := memcache.StoreInfo{Name: "users", Codec: "json"}
	users := rec.ForStore(info)
	c := memcache.Call{StoreInfo: info, Op: memcache.OpGet, Keys: 1}
	for range 2 {
		users.EndCall(users.StartCall(context.Background(), c), c, time.Millisecond, nil)
	}
	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == promcache.DefaultPrefix+"operations_total" {
			fmt.Println(mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	// Output: 2
}
