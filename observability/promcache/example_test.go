package promcache_test

import (
	"log"
	"net/http"

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
