package promcache_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/observability/promcache"
)

type user struct {
	Name string `json:"name"`
}

// TestScriptedWorkloadAgainstMemcached: a known sequence of calls on a
// real memcached gives exactly the expected counts, and a killed server
// shows as failures, fail-open answers and a server down.
func TestScriptedWorkloadAgainstMemcached(t *testing.T) {
	mc := memcachetest.NewServer(t)
	reg := prometheus.NewPedanticRegistry()
	rec, err := promcache.New(reg, promcache.Options{})
	require.NoError(t, err)
	sel, err := ketama.New(ketama.Config{
		Servers:          ketama.Servers(mc.Addr),
		FailureThreshold: 2,
		RetryDelay:       time.Hour,
		OnStateChange:    memcache.ServerStateRecorder(rec, memcache.StoreInfo{Name: "users"}),
	})
	require.NoError(t, err)
	client, err := memcache.NewClient(memcache.ClientConfig{Selector: sel, Timeout: time.Second})
	require.NoError(t, err)
	store, err := memcache.NewStore[*user](client, memcache.WithName("users"), memcache.WithNamespace("users", "v1"), memcache.WithRecorder(rec))
	require.NoError(t, err)
	ctx := context.Background()

	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, store.Set(ctx, k, &user{Name: k}))
	}
	for _, k := range []string{"a", "b", "x"} {
		store.Get(ctx, k)
	}
	got, err := store.GetMulti(ctx, []string{"a", "b", "c", "y", "z"})
	require.NoError(t, err)
	require.Len(t, got, 3)
	for range 3 {
		_, err := store.GetOrLoad(ctx, "w", func(context.Context) (*user, error) { return &user{Name: "w"}, nil })
		require.NoError(t, err)
	}
	require.NoError(t, store.Touch(ctx, "a", time.Minute))
	require.NoError(t, store.Delete(ctx, "a"))
	require.ErrorIs(t, store.Add(ctx, "b", &user{}), memcache.ErrNotStored)

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP leancache_memcached_operations_total Total number of Store calls.
# TYPE leancache_memcached_operations_total counter
leancache_memcached_operations_total{codec="json",name="users",namespace="users",operation="add"} 1
leancache_memcached_operations_total{codec="json",name="users",namespace="users",operation="delete"} 1
leancache_memcached_operations_total{codec="json",name="users",namespace="users",operation="get"} 3
leancache_memcached_operations_total{codec="json",name="users",namespace="users",operation="getmulti"} 1
leancache_memcached_operations_total{codec="json",name="users",namespace="users",operation="getorload"} 3
leancache_memcached_operations_total{codec="json",name="users",namespace="users",operation="set"} 4
leancache_memcached_operations_total{codec="json",name="users",namespace="users",operation="touch"} 1
# HELP leancache_memcached_events_total Events of Store calls: hits, misses, schema misses, decode errors, chunked reads and writes, loads, shared loads, fail-open answers, leases, stale answers, servers down and up.
# TYPE leancache_memcached_events_total counter
leancache_memcached_events_total{codec="json",event="hit",name="users",namespace="users",operation="get"} 2
leancache_memcached_events_total{codec="json",event="hit",name="users",namespace="users",operation="getmulti"} 3
leancache_memcached_events_total{codec="json",event="hit",name="users",namespace="users",operation="getorload"} 2
leancache_memcached_events_total{codec="json",event="load",name="users",namespace="users",operation="getorload"} 1
leancache_memcached_events_total{codec="json",event="miss",name="users",namespace="users",operation="get"} 1
leancache_memcached_events_total{codec="json",event="miss",name="users",namespace="users",operation="getmulti"} 2
leancache_memcached_events_total{codec="json",event="miss",name="users",namespace="users",operation="getorload"} 1
leancache_memcached_events_total{codec="json",event="write",name="users",namespace="users",operation="set"} 4
`), "leancache_memcached_operations_total", "leancache_memcached_events_total"))
	assert.Equal(t, 0, testutil.CollectAndCount(rec, "leancache_memcached_operation_failures_total"), "misses and not-stored are no failures")
	assert.Equal(t, 14, int(histogramCount(t, reg, "leancache_memcached_operation_duration_seconds")), "one duration per call")

	require.NoError(t, mc.Kill())
	for _, k := range []string{"p", "q", "r"} {
		u, err := store.GetOrLoad(ctx, k, func(context.Context) (*user, error) { return &user{Name: k}, nil })
		require.NoError(t, err, "fails open")
		require.Equal(t, k, u.Name)
	}
	_, err = store.Get(ctx, "p")
	require.Error(t, err)

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP leancache_memcached_server_down 1 while the selector has a server marked down, 0 once it is back.
# TYPE leancache_memcached_server_down gauge
leancache_memcached_server_down{name="users",server="`+mc.Addr+`"} 1
`), "leancache_memcached_server_down"))
	assert.Equal(t, 3.0, eventValue(t, reg, "fail_open"))
	assert.Equal(t, 4.0, eventValue(t, reg, "load"))
	assert.Equal(t, 1, testutil.CollectAndCount(rec, "leancache_memcached_operation_failures_total"), "the Get's failure; GetOrLoad's answered")
}

// eachSeries calls f with every series of the metric name gathered from
// reg.
func eachSeries(t *testing.T, reg prometheus.Gatherer, name string, f func(*dto.Metric)) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				f(m)
			}
		}
	}
}

// histogramCount sums the observations of the histogram name.
func histogramCount(t *testing.T, reg prometheus.Gatherer, name string) uint64 {
	var n uint64
	eachSeries(t, reg, name, func(m *dto.Metric) { n += m.GetHistogram().GetSampleCount() })
	return n
}

// eventValue sums events_total of event over all its series.
func eventValue(t *testing.T, reg prometheus.Gatherer, event string) float64 {
	var v float64
	eachSeries(t, reg, "leancache_memcached_events_total", func(m *dto.Metric) {
		for _, l := range m.GetLabel() {
			if l.GetName() == "event" && l.GetValue() == event {
				v += m.GetCounter().GetValue()
			}
		}
	})
	return v
}
