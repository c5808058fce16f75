// Command observability is a small web service whose cache shows itself:
// a leancache Store of products over memcached, with its calls, hits,
// misses, loads, fail-open answers and servers down counted in Prometheus
// metrics (package promcache) served at /metrics, and traced with
// OpenTelemetry (package otelcache) when a tracer provider is set up.
//
//	go run . -memcached 127.0.0.1:11211
//	curl localhost:8080/products/7
//	curl localhost:8080/metrics | grep leancache_
//
// Stop memcached and ask again: the answers still come (GetOrLoad fails
// open, from the "database"), and the metrics show the failures and the
// fail-open answers.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
	"github.com/leancache/leancache/observability/otelcache"
	"github.com/leancache/leancache/observability/promcache"
)

// Product is what the service caches.
type Product struct {
	ID    int     `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

// app is the service: its store and the "database" behind it.
type app struct {
	store *memcache.Store[*Product]
	// loads counts the database reads, for the test to check against.
	loads atomic.Int64
}

// config is what main reads from its flags.
type config struct {
	Servers  []string
	Registry *prometheus.Registry
	// RetryDelay is how long a down server is left alone (ketama's).
	RetryDelay time.Duration
}

func newApp(cfg config) (*app, error) {
	prom, err := promcache.New(cfg.Registry, promcache.Options{})
	if err != nil {
		return nil, err
	}
	// Spans go to otel's global tracer provider: none until the
	// application sets one up, and then its exporter's.
	otel, err := otelcache.New()
	if err != nil {
		return nil, err
	}
	rec := memcache.Recorders(prom, otel)
	sel, err := ketama.New(ketama.Config{
		Servers:       ketama.Servers(cfg.Servers...),
		RetryDelay:    cfg.RetryDelay,
		OnStateChange: memcache.ServerStateRecorder(rec, memcache.StoreInfo{Name: "products"}),
	})
	if err != nil {
		return nil, err
	}
	client, err := memcache.NewClient(memcache.ClientConfig{Selector: sel, Timeout: 200 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	store, err := memcache.NewStore[*Product](client,
		memcache.WithName("products"),
		memcache.WithNamespace("products", "v1"),
		memcache.WithExpiration(time.Minute),
		memcache.WithRecorder(rec),
	)
	if err != nil {
		return nil, err
	}
	return &app{store: store}, nil
}

// loadProduct stands for the database.
func (a *app) loadProduct(_ context.Context, id int) (*Product, error) {
	a.loads.Add(1)
	if id <= 0 {
		return nil, errNotFound
	}
	return &Product{ID: id, Name: fmt.Sprintf("product %d", id), Price: float64(id) * 1.5}, nil
}

var errNotFound = errors.New("no such product")

func (a *app) routes(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		p, err := a.store.GetOrLoad(r.Context(), strconv.Itoa(id), func(ctx context.Context) (*Product, error) {
			return a.loadProduct(ctx, id)
		})
		switch {
		case errors.Is(err, errNotFound):
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, "cache: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p)
	})
	return mux
}

func main() {
	addr := flag.String("listen", "localhost:8080", "address to listen on")
	servers := flag.String("memcached", "127.0.0.1:11211", "memcached servers, comma-separated")
	flag.Parse()
	reg := prometheus.NewRegistry()
	a, err := newApp(config{Servers: strings.Split(*servers, ","), Registry: reg})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, a.routes(reg)))
}
