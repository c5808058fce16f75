package promcache_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/observability/internal/obstest"
	"github.com/leancache/leancache/observability/promcache"
)

// BenchmarkStoreGet: a Store's Get without a recorder and with this
// package's (the goal: within 5% on a memcached round trip).
func BenchmarkStoreGet(b *testing.B) {
	obstest.BenchmarkStoreGet(b, obstest.Recorder{Name: "prometheus", New: func(string) memcache.Recorder {
		rec, err := promcache.New(prometheus.NewRegistry(), promcache.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return rec
	}})
}

// BenchmarkRecorderCall: what recording one hitting Get costs, without
// the round trip.
func BenchmarkRecorderCall(b *testing.B) {
	rec, err := promcache.New(prometheus.NewRegistry(), promcache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	obstest.BenchmarkCall(b, rec)
}
