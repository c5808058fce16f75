package bench_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/observability/internal/obstest"
	"github.com/leancache/leancache/observability/otelcache"
	"github.com/leancache/leancache/observability/promcache"
)

// sampleRatio is the share of root spans the sampled-out cases keep, as a
// production service would: ParentBased(TraceIDRatioBased(sampleRatio)).
const sampleRatio = 0.01

// recorders are the cases, built on providers a user would have: spans
// through a BatchSpanProcessor to an exporter that drops them, metrics to
// a manual reader.
func recorders(b *testing.B) []obstest.Recorder {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	sampled := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(sampleRatio))),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	all := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	// The same, ended spans exported on the caller's goroutine
	// (WithSyncer) instead of handed to the BatchSpanProcessor's: what
	// that hand-off costs. Not a setup for production, where the export
	// is a network call.
	allSync := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	b.Cleanup(func() {
		ctx := context.Background()
		mp.Shutdown(ctx)
		sampled.Shutdown(ctx)
		all.Shutdown(ctx)
		allSync.Shutdown(ctx)
	})
	otel := func(opts ...otelcache.Option) func(string) memcache.Recorder {
		return func(addr string) memcache.Recorder {
			r, err := otelcache.New(append([]otelcache.Option{otelcache.WithMeterProvider(mp), otelcache.WithServerAddress(addr)}, opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			return r
		}
	}
	return []obstest.Recorder{
		{Name: "nop", New: func(string) memcache.Recorder { return nop{} }},
		{Name: "prometheus", New: func(string) memcache.Recorder {
			r, err := promcache.New(prometheus.NewRegistry(), promcache.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return r
		}},
		{Name: "otel-metrics", New: otel(otelcache.WithoutTraces())},
		{Name: "otel-sampled-out", New: otel(otelcache.WithTracerProvider(sampled))},
		{Name: "otel-all-spans", New: otel(otelcache.WithTracerProvider(all))},
		{Name: "sdk-floor-metrics", New: func(addr string) memcache.Recorder { return bareDuration(b, mp, addr) }},
		{Name: "sdk-floor-sampled-out", New: func(string) memcache.Recorder { return bareSpans{sampled.Tracer("floor")} }},
		{Name: "sdk-floor-all-spans", New: func(string) memcache.Recorder { return bareSpans{all.Tracer("floor")} }},
		{Name: "sdk-floor-all-spans-sync", New: func(string) memcache.Recorder { return bareSpans{allSync.Tracer("floor")} }},
	}
}

// nop is told everything and does nothing: what a Store pays to tell a
// recorder, before the recorder's own work.
type nop struct{}

func (nop) StartCall(ctx context.Context, _ memcache.Call) context.Context { return ctx }

func (nop) Record(context.Context, memcache.Event) {}

func (nop) EndCall(context.Context, memcache.Call, time.Duration, error) {}

// bareSpans is the SDK's floor: a span per call, started and ended,
// without attributes, events or metrics.
type bareSpans struct{ tracer trace.Tracer }

func (f bareSpans) StartCall(ctx context.Context, c memcache.Call) context.Context {
	ctx, _ = f.tracer.Start(ctx, string(c.Op))
	return ctx
}

func (bareSpans) Record(context.Context, memcache.Event) {}

func (bareSpans) EndCall(ctx context.Context, _ memcache.Call, _ time.Duration, _ error) {
	trace.SpanFromContext(ctx).End()
}

// bareDuration is the SDK's floor for metrics: the stable
// db.client.operation.duration recorded per call with the semantic
// conventions' attributes (built once), and nothing else.
func bareDuration(b *testing.B, mp metric.MeterProvider, addr string) memcache.Recorder {
	h, err := mp.Meter("floor").Float64Histogram(otelcache.OperationDuration, metric.WithUnit("s"))
	if err != nil {
		b.Fatal(err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		b.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		b.Fatal(err)
	}
	set := attribute.NewSet(semconv.DBSystemNameMemcached, semconv.DBOperationName("get"), semconv.ServerAddress(host), semconv.ServerPort(p))
	return durations{h, []metric.RecordOption{metric.WithAttributeSet(set)}}
}

type durations struct {
	h    metric.Float64Histogram
	opts []metric.RecordOption
}

func (durations) StartCall(ctx context.Context, _ memcache.Call) context.Context { return ctx }

func (durations) Record(context.Context, memcache.Event) {}

func (d durations) EndCall(ctx context.Context, _ memcache.Call, took time.Duration, _ error) {
	d.h.Record(ctx, took.Seconds(), d.opts...)
}

// BenchmarkStoreGet: a Store's Get of a small value on a memcached round
// trip, with each recorder against none (the goal: within 5%, and
// no allocation more with none set).
func BenchmarkStoreGet(b *testing.B) {
	obstest.BenchmarkStoreGet(b, recorders(b)...)
}

// BenchmarkRecorderCall: what each recorder costs a Get that hits,
// without the round trip, free of the network's noise.
func BenchmarkRecorderCall(b *testing.B) {
	for _, r := range recorders(b) {
		b.Run(r.Name, func(b *testing.B) { obstest.BenchmarkCall(b, r.New("127.0.0.1:11211")) })
	}
}

// BenchmarkStoreGetInterleaved: the same Gets, taking turns, with the
// median of each recorder's Get and its ratio to none's (NAME-x).
func BenchmarkStoreGetInterleaved(b *testing.B) {
	obstest.BenchmarkStoreGetInterleaved(b, recorders(b)...)
}

// BenchmarkRecorderCallInterleaved: each recorder's recording of a Get,
// taking turns, with the mean of the fastest half of each one's.
func BenchmarkRecorderCallInterleaved(b *testing.B) {
	obstest.BenchmarkCallInterleaved(b, recorders(b)...)
}
