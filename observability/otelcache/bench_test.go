package otelcache_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/observability/otelcache"
)

// BenchmarkStoreGet compares a Store's Get on a memcached round trip
// without a recorder and with this package's, side by side (compare with
// benchstat; the goal is within 5%).
func BenchmarkStoreGet(b *testing.B) {
	mc := memcachetest.NewServer(b)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{mc.Addr}, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { tp.Shutdown(context.Background()); mp.Shutdown(context.Background()) })
	rec, err := otelcache.New(otelcache.WithTracerProvider(tp), otelcache.WithMeterProvider(mp), otelcache.WithServerAddress(mc.Addr))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts []memcache.Option
	}{
		{"recorder=none", nil},
		{"recorder=otel", []memcache.Option{memcache.WithRecorder(rec)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			store, err := memcache.NewStore[*user](client, append([]memcache.Option{memcache.WithName("users")}, c.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := store.Set(ctx, "alice", &user{Name: "Alice"}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := store.Get(ctx, "alice"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
