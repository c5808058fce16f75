// Package otelcache shows what leancache Stores do in OpenTelemetry: a
// span per Store call, with events for loads, fail-open answers and the
// other events of memcache.Recorder, and the stable database client
// metric db.client.operation.duration (db.system.name=memcached,
// db.operation.name, server.address), besides counters of the store's
// events and a histogram of GetOrLoad's loads.
//
// Keys are never recorded unless the user opts in with WithHashedKeys, and
// then only as memcache.HashKey's digest: keys can be session tokens.
//
//	rec, err := otelcache.New()
//	store, err := memcache.NewStore[*User](client, memcache.WithName("users"), memcache.WithRecorder(rec))
package otelcache

import (
	"context"
	"net"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/leancache/leancache/memcache"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/leancache/leancache/observability/otelcache"

// Attribute keys of leancache's own, beside the semantic conventions'.
const (
	StoreKey     = attribute.Key("leancache.store")      // WithName's name
	NamespaceKey = attribute.Key("leancache.namespace")  // WithNamespace's namespace
	CodecKey     = attribute.Key("leancache.codec")      // the codec's name
	EventKey     = attribute.Key("leancache.event")      // an EventKind's name
	KeyHashKey   = attribute.Key("leancache.key_hash")   // memcache.HashKey of the key, with WithHashedKeys
	OutcomeKey   = attribute.Key("leancache.outcome")    // a load's: "ok" or a failure reason
	CountKey     = attribute.Key("leancache.count")      // an event's Count
	SizeKey      = attribute.Key("leancache.size_bytes") // an event's Size
)

// Metric names. OperationDuration is the semantic conventions' stable one.
const (
	OperationDuration = "db.client.operation.duration"
	EventCount        = "leancache.store.events"
	LoadDuration      = "leancache.store.load.duration"
)

// durationBuckets are the semantic conventions' advice for
// db.client.operation.duration, in seconds.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

// An Option configures a Recorder.
type Option func(*config)

type config struct {
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	server   string
	pick     func(key string) (net.Addr, error)
	keyHash  bool
	noTraces bool
}

// WithTracerProvider sets where spans go; the default is otel's global
// provider.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets where metrics go; the default is otel's global
// provider.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithServerAddress sets server.address (and server.port, if addr has one)
// for every call, for a store on one server.
func WithServerAddress(addr string) Option { return func(c *config) { c.server = addr } }

// WithServerPicker sets server.address of each call on one key to the
// server pick chooses for its memcached key: ketama.Selector's PickServer,
// say, so that a slow or failing server shows in its own series.
func WithServerPicker(pick func(key string) (net.Addr, error)) Option {
	return func(c *config) { c.pick = pick }
}

// WithHashedKeys records each call's key on its span as
// memcache.HashKey's digest (attribute leancache.key_hash). Without it, no
// key is recorded in any form.
func WithHashedKeys() Option { return func(c *config) { c.keyHash = true } }

// WithoutTraces records metrics only: no span is started.
func WithoutTraces() Option { return func(c *config) { c.noTraces = true } }

// A Recorder is a memcache.Recorder that records to OpenTelemetry. It is
// safe for concurrent use.
type Recorder struct {
	cfg      config
	tracer   trace.Tracer
	duration metric.Float64Histogram
	events   metric.Int64Counter
	loads    metric.Float64Histogram
}

var _ memcache.Recorder = (*Recorder)(nil)

// New returns a Recorder, with its instruments created.
func New(opts ...Option) (*Recorder, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	meter := cfg.mp.Meter(ScopeName)
	r := &Recorder{cfg: cfg, tracer: cfg.tp.Tracer(ScopeName)}
	var err error
	if r.duration, err = meter.Float64Histogram(OperationDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of database client operations."),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, err
	}
	if r.events, err = meter.Int64Counter(EventCount,
		metric.WithUnit("{event}"),
		metric.WithDescription("Events of leancache stores: hits, misses, writes, loads, fail-open answers, servers down and up.")); err != nil {
		return nil, err
	}
	if r.loads, err = meter.Float64Histogram(LoadDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of the loads GetOrLoad shares."),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, err
	}
	return r, nil
}

// callAttrs returns the attributes every record of the call c carries.
func (r *Recorder) callAttrs(c memcache.Call) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs,
		semconv.DBSystemNameMemcached,
		semconv.DBOperationName(string(c.Op)),
		CodecKey.String(c.Codec),
	)
	if c.Name != "" {
		attrs = append(attrs, StoreKey.String(c.Name))
	}
	if c.Namespace != "" {
		attrs = append(attrs, NamespaceKey.String(c.Namespace))
	}
	return r.appendServer(attrs, c.Key)
}

// appendServer appends server.address and server.port of the server of
// key, if the recorder knows it.
func (r *Recorder) appendServer(attrs []attribute.KeyValue, key string) []attribute.KeyValue {
	addr := r.cfg.server
	if r.cfg.pick != nil && key != "" {
		if a, err := r.cfg.pick(key); err == nil {
			addr = a.String()
		}
	}
	if addr == "" {
		return attrs
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return append(attrs, semconv.ServerAddress(addr))
	}
	attrs = append(attrs, semconv.ServerAddress(host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	return attrs
}

// StartCall starts the call's span, a client span named for the
// operation.
func (r *Recorder) StartCall(ctx context.Context, c memcache.Call) context.Context {
	if r.cfg.noTraces {
		return ctx
	}
	attrs := r.callAttrs(c)
	if r.cfg.keyHash && c.Key != "" {
		attrs = append(attrs, KeyHashKey.String(memcache.HashKey(c.Key)))
	}
	ctx, _ = r.tracer.Start(ctx, string(c.Op), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

// Record counts e and adds it to the span of its call as an event.
func (r *Recorder) Record(ctx context.Context, e memcache.Event) {
	attrs := make([]attribute.KeyValue, 0, 10)
	attrs = append(attrs, EventKey.String(e.Kind.String()), CodecKey.String(e.Codec))
	if e.Op != "" {
		attrs = append(attrs, semconv.DBOperationName(string(e.Op)))
	}
	if e.Name != "" {
		attrs = append(attrs, StoreKey.String(e.Name))
	}
	if e.Namespace != "" {
		attrs = append(attrs, NamespaceKey.String(e.Namespace))
	}
	if e.Server != "" {
		attrs = append(attrs, semconv.ServerAddress(e.Server))
	}
	if e.Kind == memcache.EventLoad {
		outcome := memcache.FailureReason(e.Err)
		if e.Err != nil && outcome == "" {
			outcome = memcache.ReasonOther
		}
		if outcome == "" {
			outcome = "ok"
		}
		attrs = append(attrs, OutcomeKey.String(outcome))
		r.loads.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(attrs[1:]...))
	}
	r.events.Add(ctx, int64(max(e.Count, 1)), metric.WithAttributes(attrs...))

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	spanAttrs := append(attrs[1:len(attrs):len(attrs)], CountKey.Int(max(e.Count, 1)))
	if e.Size > 0 {
		spanAttrs = append(spanAttrs, SizeKey.Int(e.Size))
	}
	if e.Err != nil {
		// The error's type and reason only: its message may name the key.
		spanAttrs = append(spanAttrs, semconv.ErrorTypeKey.String(errorType(e.Err)))
	}
	span.AddEvent(e.Kind.String(), trace.WithAttributes(spanAttrs...))
}

// EndCall records the call's duration and ends its span, with an error
// status if the call failed (a miss is no failure).
func (r *Recorder) EndCall(ctx context.Context, c memcache.Call, took time.Duration, err error) {
	attrs := r.callAttrs(c)
	if reason := memcache.FailureReason(err); reason != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(reason))
	}
	r.duration.Record(ctx, took.Seconds(), metric.WithAttributes(attrs...))
	if r.cfg.noTraces {
		return
	}
	span := trace.SpanFromContext(ctx)
	if reason := memcache.FailureReason(err); reason != "" {
		span.SetStatus(codes.Error, reason)
		span.SetAttributes(semconv.ErrorTypeKey.String(reason))
	}
	span.End()
}

// errorType is error.type for an event's error: its failure reason, or
// "other".
func errorType(err error) string {
	if reason := memcache.FailureReason(err); reason != "" {
		return reason
	}
	return memcache.ReasonOther
}
