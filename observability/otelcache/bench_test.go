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
// package's, traced and measured by the SDK (the goal: within 5%
// on a memcached round trip).
func BenchmarkStoreGet(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { tp.Shutdown(context.Background()); mp.Shutdown(context.Background()) })
	obstest.BenchmarkStoreGet(b, "otel", func(addr string) memcache.Recorder {
		rec, err := otelcache.New(otelcache.WithTracerProvider(tp), otelcache.WithMeterProvider(mp), otelcache.WithServerAddress(addr))
		if err != nil {
			b.Fatal(err)
		}
		return rec
	})
}
