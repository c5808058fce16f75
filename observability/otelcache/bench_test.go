package otelcache_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/observability/internal/obstest"
	"github.com/leancache/leancache/observability/otelcache"
)

// BenchmarkStoreGet: a Store's Get without a recorder and with this
// package's (the goal: within 5% on a memcached round trip):
// metrics only; metrics and spans that the sampler drops, as with a ratio
// sampler in production; and metrics with every span kept and exported.
func BenchmarkStoreGet(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	sampledOut := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	all := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() {
		ctx := context.Background()
		mp.Shutdown(ctx)
		sampledOut.Shutdown(ctx)
		all.Shutdown(ctx)
	})
	rec := func(opts ...otelcache.Option) func(string) memcache.Recorder {
		return func(addr string) memcache.Recorder {
			r, err := otelcache.New(append([]otelcache.Option{otelcache.WithMeterProvider(mp), otelcache.WithServerAddress(addr)}, opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			return r
		}
	}
	obstest.BenchmarkStoreGet(b,
		obstest.Recorder{Name: "otel-metrics", New: rec(otelcache.WithoutTraces())},
		obstest.Recorder{Name: "otel-sampled-out", New: rec(otelcache.WithTracerProvider(sampledOut))},
		obstest.Recorder{Name: "otel-all-spans", New: rec(otelcache.WithTracerProvider(all))},
	)
}

// BenchmarkRecorderCall: what recording one hitting Get costs, without
// the round trip.
func BenchmarkRecorderCall(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	sampledOut := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	all := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() {
		ctx := context.Background()
		mp.Shutdown(ctx)
		sampledOut.Shutdown(ctx)
		all.Shutdown(ctx)
	})
	for _, c := range []struct {
		name string
		opts []otelcache.Option
	}{
		{"otel-metrics", []otelcache.Option{otelcache.WithoutTraces()}},
		{"otel-sampled-out", []otelcache.Option{otelcache.WithTracerProvider(sampledOut)}},
		{"otel-all-spans", []otelcache.Option{otelcache.WithTracerProvider(all)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			rec, err := otelcache.New(append([]otelcache.Option{otelcache.WithMeterProvider(mp), otelcache.WithServerAddress("127.0.0.1:11211")}, c.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			obstest.BenchmarkCall(b, rec)
		})
	}
}
