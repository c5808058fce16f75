package promcache_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/observability/promcache"
)

var info = memcache.StoreInfo{Name: "users", Namespace: "u", Codec: "json"}

func newRecorder(t *testing.T) (*promcache.Recorder, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	r, err := promcache.New(reg, promcache.Options{})
	require.NoError(t, err)
	return r, reg
}

func call(r memcache.Recorder, op memcache.Op, took time.Duration, err error, events ...memcache.Event) {
	c := memcache.Call{StoreInfo: info, Op: op, Key: "u:v1:k", Keys: 1}
	ctx := r.StartCall(context.Background(), c)
	for _, e := range events {
		e.StoreInfo, e.Op = info, op
		r.Record(ctx, e)
	}
	r.EndCall(ctx, c, took, err)
}

func TestOperationsFailuresAndDurations(t *testing.T) {
	r, reg := newRecorder(t)
	down := &memcache.OpError{Op: "get", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	call(r, memcache.OpGet, 2*time.Millisecond, nil, memcache.Event{Kind: memcache.EventHit, Count: 1})
	call(r, memcache.OpGet, 3*time.Millisecond, memcache.ErrCacheMiss, memcache.Event{Kind: memcache.EventMiss, Count: 1})
	call(r, memcache.OpGet, time.Millisecond, down)
	call(r, memcache.OpSet, 4*time.Millisecond, nil, memcache.Event{Kind: memcache.EventWrite, Size: 300, Count: 1})
	call(r, memcache.OpSet, 0, &memcache.TooLargeError{Key: "k", Size: 2 << 20, Limit: 1 << 20},
		memcache.Event{Kind: memcache.EventTooLarge, Size: 2 << 20, Count: 1})

	want := `
# HELP leancache_memcached_operation_failures_total Total number of Store calls that failed (misses are not failures), by reason.
# TYPE leancache_memcached_operation_failures_total counter
leancache_memcached_operation_failures_total{codec="json",name="users",namespace="u",operation="get",reason="network-error"} 1
# HELP leancache_memcached_operation_skipped_total Total number of writes refused before any I/O, by reason.
# TYPE leancache_memcached_operation_skipped_total counter
leancache_memcached_operation_skipped_total{codec="json",name="users",namespace="u",operation="set",reason="max-item-size"} 1
# HELP leancache_memcached_operations_total Total number of Store calls.
# TYPE leancache_memcached_operations_total counter
leancache_memcached_operations_total{codec="json",name="users",namespace="u",operation="get"} 3
leancache_memcached_operations_total{codec="json",name="users",namespace="u",operation="set"} 2
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"leancache_memcached_operations_total", "leancache_memcached_operation_failures_total", "leancache_memcached_operation_skipped_total"))

	assert.Equal(t, 1.0, eventValue(t, reg, "hit"))
	assert.Equal(t, 1.0, eventValue(t, reg, "miss"))
	var sum float64
	eachSeries(t, reg, "leancache_memcached_operation_duration_seconds", func(m *dto.Metric) { sum += m.GetHistogram().GetSampleSum() })
	assert.Equal(t, uint64(5), histogramCount(t, reg, "leancache_memcached_operation_duration_seconds"))
	assert.InDelta(t, 0.010, sum, 1e-9)
	assert.Equal(t, uint64(1), histogramCount(t, reg, "leancache_memcached_operation_skipped_data_size_bytes"))
	assert.Equal(t, uint64(1), histogramCount(t, reg, "leancache_memcached_operation_data_size_bytes"))
	eachSeries(t, reg, "leancache_memcached_operation_skipped_data_size_bytes", func(m *dto.Metric) {
		assert.Equal(t, float64(2<<20), m.GetHistogram().GetSampleSum())
	})
	eachSeries(t, reg, "leancache_memcached_operation_data_size_bytes", func(m *dto.Metric) {
		assert.Equal(t, 300.0, m.GetHistogram().GetSampleSum())
	})
}

func TestLoadsAndServerState(t *testing.T) {
	r, reg := newRecorder(t)
	call(r, memcache.OpGetOrLoad, 30*time.Millisecond, nil,
		memcache.Event{Kind: memcache.EventLoad, Duration: 20 * time.Millisecond, Count: 1},
		memcache.Event{Kind: memcache.EventSharedLoad, Count: 3})
	call(r, memcache.OpGetOrLoad, 5*time.Millisecond, nil,
		memcache.Event{Kind: memcache.EventLoad, Duration: 5 * time.Millisecond, Err: context.DeadlineExceeded, Count: 1},
		memcache.Event{Kind: memcache.EventFailOpen, Err: errors.New("down"), Count: 1})
	onState := memcache.ServerStateRecorder(r, memcache.StoreInfo{Name: "cluster"})
	a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 11211}
	b := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 11212}
	onState(a, true)
	onState(b, true)
	onState(a, false)

	want := `
# HELP leancache_memcached_server_down 1 while the selector has a server marked down, 0 once it is back.
# TYPE leancache_memcached_server_down gauge
leancache_memcached_server_down{name="cluster",server="127.0.0.1:11211"} 0
leancache_memcached_server_down{name="cluster",server="127.0.0.1:11212"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "leancache_memcached_server_down"))
	assert.Equal(t, 3.0, eventValue(t, reg, "shared_load"))
	assert.Equal(t, 1.0, eventValue(t, reg, "fail_open"))
	assert.Equal(t, 2.0, eventValue(t, reg, "server_down"))
	assert.Equal(t, 2, testutil.CollectAndCount(r, "leancache_memcached_load_duration_seconds"), "one series per outcome: ok and timeout")
}

func TestPrefixAndDoubleRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, err := promcache.New(reg, promcache.Options{Prefix: "thanos_memcached_"})
	require.NoError(t, err)
	call(r, memcache.OpDelete, time.Millisecond, nil)
	assert.Equal(t, 1, testutil.CollectAndCount(r, "thanos_memcached_operations_total"))
	_, err = promcache.New(reg, promcache.Options{Prefix: "thanos_memcached_"})
	var are prometheus.AlreadyRegisteredError
	assert.ErrorAs(t, err, &are, "a second recorder under the same names is refused, not merged")
}
