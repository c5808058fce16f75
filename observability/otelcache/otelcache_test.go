package otelcache_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/observability/otelcache"
)

// harness is a Recorder over the SDK's in-memory exporter and manual
// reader.
type harness struct {
	rec    *otelcache.Recorder
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
}

func newHarness(t *testing.T, opts ...otelcache.Option) *harness {
	t.Helper()
	h := &harness{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(h.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() { tp.Shutdown(context.Background()); mp.Shutdown(context.Background()) })
	rec, err := otelcache.New(append([]otelcache.Option{otelcache.WithTracerProvider(tp), otelcache.WithMeterProvider(mp)}, opts...)...)
	require.NoError(t, err)
	h.rec = rec
	return h
}

// collect returns the metrics read now, by name.
func (h *harness) collect(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

var info = memcache.StoreInfo{Name: "users", Namespace: "u", Codec: "json"}

func attrValue(set attribute.Set, k attribute.Key) string {
	v, _ := set.Value(k)
	return v.String()
}

func TestCallIsASpanAndADuration(t *testing.T) {
	h := newHarness(t, otelcache.WithServerAddress("127.0.0.1:11211"))
	c := memcache.Call{StoreInfo: info, Op: memcache.OpGet, Key: "u:v1:alice", Keys: 1}
	ctx := h.rec.StartCall(context.Background(), c)
	h.rec.Record(ctx, memcache.Event{Kind: memcache.EventHit, StoreInfo: info, Op: memcache.OpGet, Count: 1})
	h.rec.EndCall(ctx, c, 3*time.Millisecond, nil)

	spans := h.spans.GetSpans()
	require.Len(t, spans, 1)
	s := spans[0]
	assert.Equal(t, "get", s.Name)
	set := attribute.NewSet(s.Attributes...)
	assert.Equal(t, "memcached", attrValue(set, "db.system.name"))
	assert.Equal(t, "get", attrValue(set, "db.operation.name"))
	assert.Equal(t, "127.0.0.1", attrValue(set, "server.address"))
	assert.Equal(t, "11211", attrValue(set, "server.port"))
	assert.Equal(t, "users", attrValue(set, otelcache.StoreKey))
	require.Len(t, s.Events, 1)
	assert.Equal(t, "hit", s.Events[0].Name)
	assert.Equal(t, codes.Unset, s.Status.Code)

	m := h.collect(t)
	hist := m[otelcache.OperationDuration].(metricdata.Histogram[float64])
	require.Len(t, hist.DataPoints, 1)
	dp := hist.DataPoints[0]
	assert.Equal(t, uint64(1), dp.Count)
	assert.InDelta(t, 0.003, dp.Sum, 1e-9)
	assert.Equal(t, "memcached", attrValue(dp.Attributes, "db.system.name"))
	assert.Equal(t, "127.0.0.1", attrValue(dp.Attributes, "server.address"))
}

func TestFailureIsAnErrorSpanAndNoKeyLeaks(t *testing.T) {
	h := newHarness(t)
	const secret = "session-token-0123456789abcdef"
	c := memcache.Call{StoreInfo: info, Op: memcache.OpGetOrLoad, Key: "u:v1:" + secret, Keys: 1}
	ctx := h.rec.StartCall(context.Background(), c)
	down := &memcache.OpError{Op: "get", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	h.rec.Record(ctx, memcache.Event{Kind: memcache.EventLoad, StoreInfo: info, Op: c.Op, Count: 1, Duration: 20 * time.Millisecond})
	h.rec.Record(ctx, memcache.Event{Kind: memcache.EventFailOpen, StoreInfo: info, Op: c.Op, Count: 1, Err: down})
	h.rec.EndCall(ctx, c, 25*time.Millisecond, nil)
	c.Op = memcache.OpGet
	ctx = h.rec.StartCall(context.Background(), c)
	h.rec.EndCall(ctx, c, time.Millisecond, down)

	spans := h.spans.GetSpans()
	require.Len(t, spans, 2)
	assert.Equal(t, []string{"load", "fail_open"}, []string{spans[0].Events[0].Name, spans[0].Events[1].Name})
	assert.Equal(t, codes.Unset, spans[0].Status.Code, "a fail-open answer is an answer")
	assert.Equal(t, codes.Error, spans[1].Status.Code)
	assert.Equal(t, memcache.ReasonNetworkError, spans[1].Status.Description)
	dump := fmt.Sprintf("%+v", spans) + fmt.Sprintf("%+v", h.collect(t))
	assert.NotContains(t, dump, secret, "no key in clear, anywhere")
	assert.NotContains(t, dump, memcache.HashKey(c.Key), "no key at all without WithHashedKeys")

	m := h.collect(t)
	loads := m[otelcache.LoadDuration].(metricdata.Histogram[float64])
	require.Len(t, loads.DataPoints, 1)
	assert.InDelta(t, 0.020, loads.DataPoints[0].Sum, 1e-9)
	assert.Equal(t, "ok", attrValue(loads.DataPoints[0].Attributes, otelcache.OutcomeKey))
	hist := m[otelcache.OperationDuration].(metricdata.Histogram[float64])
	var failed int
	for _, dp := range hist.DataPoints {
		if attrValue(dp.Attributes, "error.type") == memcache.ReasonNetworkError {
			failed += int(dp.Count)
		}
	}
	assert.Equal(t, 1, failed)
}

func TestHashedKeysOptIn(t *testing.T) {
	h := newHarness(t, otelcache.WithHashedKeys())
	c := memcache.Call{StoreInfo: info, Op: memcache.OpSet, Key: "u:v1:bob", Keys: 1}
	h.rec.EndCall(h.rec.StartCall(context.Background(), c), c, time.Millisecond, nil)
	spans := h.spans.GetSpans()
	require.Len(t, spans, 1)
	set := attribute.NewSet(spans[0].Attributes...)
	assert.Equal(t, memcache.HashKey(c.Key), attrValue(set, otelcache.KeyHashKey))
	assert.NotContains(t, fmt.Sprintf("%+v", spans), "bob")
}

func TestServerPickerAndServerEvents(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 11311}
	h := newHarness(t, otelcache.WithServerPicker(func(key string) (net.Addr, error) {
		if strings.HasPrefix(key, "u:") {
			return addr, nil
		}
		return nil, errors.New("no server")
	}))
	c := memcache.Call{StoreInfo: info, Op: memcache.OpDelete, Key: "u:v1:x", Keys: 1}
	h.rec.EndCall(h.rec.StartCall(context.Background(), c), c, time.Millisecond, nil)
	onState := memcache.ServerStateRecorder(h.rec, memcache.StoreInfo{Name: "cluster"})
	onState(addr, true)
	onState(addr, false)
	onState(addr, true)

	set := attribute.NewSet(h.spans.GetSpans()[0].Attributes...)
	assert.Equal(t, "127.0.0.2", attrValue(set, "server.address"))
	m := h.collect(t)
	counts := map[string]int64{}
	for _, dp := range m[otelcache.EventCount].(metricdata.Sum[int64]).DataPoints {
		assert.Equal(t, "127.0.0.2", attrValue(dp.Attributes, "server.address"))
		assert.Equal(t, "11311", attrValue(dp.Attributes, "server.port"))
		counts[attrValue(dp.Attributes, otelcache.EventKey)] += dp.Value
	}
	assert.Equal(t, map[string]int64{"server_down": 2, "server_up": 1}, counts)
}
