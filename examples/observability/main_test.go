package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache/memcachetest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestMetricsShowTheCache scrapes /metrics after a miss and a hit, then
// after memcached is killed: the service keeps answering, and the metrics
// show the failures and the fail-open answers.
func TestMetricsShowTheCache(t *testing.T) {
	mc := memcachetest.NewServer(t)
	reg := prometheus.NewRegistry()
	a, err := newApp(config{Servers: []string{mc.Addr}, Registry: reg, RetryDelay: time.Hour})
	require.NoError(t, err)
	srv := httptest.NewServer(a.routes(reg))
	defer srv.Close()

	for range 2 {
		code, body := get(t, srv.URL+"/products/7")
		require.Equal(t, http.StatusOK, code, body)
		assert.JSONEq(t, `{"id":7,"name":"product 7","price":10.5}`, body)
	}
	assert.Equal(t, int64(1), a.loads.Load(), "the second request is a hit")
	require.NoError(t, testutil.ScrapeAndCompare(srv.URL+"/metrics", strings.NewReader(`
# HELP leancache_memcached_operations_total Total number of Store calls.
# TYPE leancache_memcached_operations_total counter
leancache_memcached_operations_total{codec="json",name="products",namespace="products",operation="getorload"} 2
leancache_memcached_operations_total{codec="json",name="products",namespace="products",operation="set"} 1
`), "leancache_memcached_operations_total"))
	require.NoError(t, testutil.ScrapeAndCompare(srv.URL+"/metrics", strings.NewReader(`
# HELP leancache_memcached_events_total Events of Store calls: hits, misses, schema misses, decode errors, chunked reads and writes, loads, shared loads, fail-open answers, leases, stale answers, servers down and up.
# TYPE leancache_memcached_events_total counter
leancache_memcached_events_total{codec="json",event="hit",name="products",namespace="products",operation="getorload"} 1
leancache_memcached_events_total{codec="json",event="load",name="products",namespace="products",operation="getorload"} 1
leancache_memcached_events_total{codec="json",event="miss",name="products",namespace="products",operation="getorload"} 1
leancache_memcached_events_total{codec="json",event="write",name="products",namespace="products",operation="set"} 1
`), "leancache_memcached_events_total"))

	require.NoError(t, mc.Kill())
	for _, id := range []string{"8", "9", "10"} {
		code, body := get(t, srv.URL+"/products/"+id)
		require.Equal(t, http.StatusOK, code, "fails open: %s", body)
	}
	assert.Equal(t, int64(4), a.loads.Load())
	_, metrics := get(t, srv.URL+"/metrics")
	assert.Contains(t, metrics, `leancache_memcached_events_total{codec="json",event="fail_open",name="products",namespace="products",operation="getorload"} 3`)
	assert.Contains(t, metrics, `leancache_memcached_server_down{name="products",server="`+mc.Addr+`"} 1`)
}
