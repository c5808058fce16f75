package otelcache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/observability/internal/obstest"
	"github.com/leancache/leancache/observability/otelcache"
)

// hitCall records what a Store's Get that hits tells its recorder, as a
// Store does: through the recorder ForStore prepared.
func hitCall(rec memcache.Recorder) func() { return obstest.HitCall(rec, info, "u:v1:alice") }

// bareSpan is the SDK's floor: a span started and ended, and if it
// records, given attributes and one event, as a Get's is.
func bareSpan(tp trace.TracerProvider) func() {
	tr := tp.Tracer("floor")
	kvs := []attribute.KeyValue{attribute.String("a", "a"), attribute.String("b", "b"), attribute.Int("c", 1)}
	return func() {
		_, span := tr.Start(context.Background(), "get")
		if span.IsRecording() {
			span.SetAttributes(kvs...)
			span.AddEvent("hit")
		}
		span.End()
	}
}

// TestRecordingAGetAllocatesOnlyWhatTheSDKDoes: recording a Get that
// hits allocates nothing with metrics only, and with spans no more than
// the SDK does for a span of its own with attributes and an event (its
// copies of them): nothing of the recorder's own, whether the sampler
// keeps the span or drops it.
func TestRecordingAGetAllocatesOnlyWhatTheSDKDoes(t *testing.T) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	dropped := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	kept := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	t.Cleanup(func() {
		ctx := context.Background()
		mp.Shutdown(ctx)
		dropped.Shutdown(ctx)
		kept.Shutdown(ctx)
	})
	newRec := func(opts ...otelcache.Option) memcache.Recorder {
		r, err := otelcache.New(append([]otelcache.Option{otelcache.WithMeterProvider(mp), otelcache.WithServerAddress("127.0.0.1:11211")}, opts...)...)
		require.NoError(t, err)
		return r
	}
	allocs := func(f func()) float64 { f(); return testing.AllocsPerRun(200, f) }

	assert.Zero(t, allocs(hitCall(newRec(otelcache.WithoutTraces()))), "metrics only")
	assert.LessOrEqual(t, allocs(hitCall(newRec(otelcache.WithTracerProvider(dropped)))), allocs(bareSpan(dropped)), "a span the sampler drops")
	assert.LessOrEqual(t, allocs(hitCall(newRec(otelcache.WithTracerProvider(kept)))), allocs(bareSpan(kept)), "a span kept")
}

// TestStoresOfOneInfoShareWhatTheyRecord: what ForStore returns records
// to the Recorder's instruments, as the Recorder itself does, and stores
// of the same info share it.
func TestStoresOfOneInfoShareWhatTheyRecord(t *testing.T) {
	h := newHarness(t, otelcache.WithServerAddress("127.0.0.1:11211"))
	bound := h.rec.ForStore(info)
	assert.Same(t, bound, h.rec.ForStore(info))
	assert.NotSame(t, bound, h.rec.ForStore(memcache.StoreInfo{Name: "pages", Codec: "json"}))
	for _, rec := range []memcache.Recorder{h.rec, bound} {
		c := memcache.Call{StoreInfo: info, Op: memcache.OpSet, Key: "u:v1:alice", Keys: 1}
		ctx := rec.StartCall(context.Background(), c)
		rec.Record(ctx, memcache.Event{Kind: memcache.EventWrite, StoreInfo: info, Op: c.Op, Size: 42, Count: 1})
		rec.EndCall(ctx, c, time.Millisecond, nil)
	}
	spans := h.spans.GetSpans()
	require.Len(t, spans, 2)
	assert.ElementsMatch(t, spans[0].Attributes, spans[1].Attributes)
	assert.Equal(t, spans[0].Events[0].Name, spans[1].Events[0].Name)
	assert.Equal(t, spans[0].Events[0].Attributes, spans[1].Events[0].Attributes)

	m := h.collect(t)
	hist := m[otelcache.OperationDuration].(metricdata.Histogram[float64])
	require.Len(t, hist.DataPoints, 1, "one series")
	assert.Equal(t, uint64(2), hist.DataPoints[0].Count)
	assert.Equal(t, map[string]int64{"write": 2}, eventCounts(t, h))
}

// TestSampledOutCallsAreStillMeasured: a span the sampler drops leaves no
// trace, but its call's duration and events are measured all the same.
func TestSampledOutCallsAreStillMeasured(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { tp.Shutdown(context.Background()); mp.Shutdown(context.Background()) })
	r, err := otelcache.New(otelcache.WithTracerProvider(tp), otelcache.WithMeterProvider(mp), otelcache.WithHashedKeys())
	require.NoError(t, err)
	h := &harness{rec: r, spans: spans, reader: reader}
	call := hitCall(r)
	for range 3 {
		call()
	}
	assert.Empty(t, spans.GetSpans())
	hist := h.collect(t)[otelcache.OperationDuration].(metricdata.Histogram[float64])
	require.Len(t, hist.DataPoints, 1)
	assert.Equal(t, uint64(3), hist.DataPoints[0].Count)
	assert.Equal(t, map[string]int64{"hit": 3}, eventCounts(t, h))
}
