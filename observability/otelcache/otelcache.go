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
	"sync"
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
	cache    sync.Map // map[series]*attrs
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

// series names what a record is about, before its attributes are built:
// records of one series share one attribute set, built once.
type series struct {
	memcache.StoreInfo
	op      memcache.Op
	server  string
	errType string // error.type
	event   string // leancache.event
	outcome string // leancache.outcome
}

// attrs are the attributes of a series, as a set for metrics and a slice
// for spans; shared, so never to be changed.
type attrs struct {
	set attribute.Set
	kvs []attribute.KeyValue
}

// attrsOf returns the attributes of s, from the recorder's cache: building
// and sorting them anew for every record would cost a Store call more than
// the rest of its recording.
func (r *Recorder) attrsOf(s series) *attrs {
	if a, ok := r.cache.Load(s); ok {
		return a.(*attrs)
	}
	kvs := make([]attribute.KeyValue, 0, 10)
	kvs = append(kvs, semconv.DBSystemNameMemcached, CodecKey.String(s.Codec))
	if s.op != "" {
		kvs = append(kvs, semconv.DBOperationName(string(s.op)))
	}
	if s.Name != "" {
		kvs = append(kvs, StoreKey.String(s.Name))
	}
	if s.Namespace != "" {
		kvs = append(kvs, NamespaceKey.String(s.Namespace))
	}
	if s.server != "" {
		host, port, err := net.SplitHostPort(s.server)
		if err != nil {
			kvs = append(kvs, semconv.ServerAddress(s.server))
		} else {
			kvs = append(kvs, semconv.ServerAddress(host))
			if p, err := strconv.Atoi(port); err == nil {
				kvs = append(kvs, semconv.ServerPort(p))
			}
		}
	}
	if s.errType != "" {
		kvs = append(kvs, semconv.ErrorTypeKey.String(s.errType))
	}
	if s.event != "" {
		kvs = append(kvs, EventKey.String(s.event))
	}
	if s.outcome != "" {
		kvs = append(kvs, OutcomeKey.String(s.outcome))
	}
	a, _ := r.cache.LoadOrStore(s, &attrs{set: attribute.NewSet(kvs...), kvs: kvs[:len(kvs):len(kvs)]})
	return a.(*attrs)
}

// serverOf returns the address of the server of the memcached key, if the
// recorder knows it.
func (r *Recorder) serverOf(key string) string {
	if r.cfg.pick != nil && key != "" {
		if a, err := r.cfg.pick(key); err == nil {
			return a.String()
		}
	}
	return r.cfg.server
}

// StartCall starts the call's span, a client span named for the
// operation.
func (r *Recorder) StartCall(ctx context.Context, c memcache.Call) context.Context {
	if r.cfg.noTraces {
		return ctx
	}
	kvs := r.attrsOf(series{StoreInfo: c.StoreInfo, op: c.Op, server: r.serverOf(c.Key)}).kvs
	if r.cfg.keyHash && c.Key != "" {
		kvs = append(kvs, KeyHashKey.String(memcache.HashKey(c.Key)))
	}
	ctx, _ = r.tracer.Start(ctx, string(c.Op), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(kvs...))
	return ctx
}

// Record counts e and adds it to the span of its call as an event.
func (r *Recorder) Record(ctx context.Context, e memcache.Event) {
	s := series{StoreInfo: e.StoreInfo, op: e.Op, server: e.Server}
	if e.Kind == memcache.EventLoad {
		s.outcome = memcache.FailureReason(e.Err)
		switch {
		case e.Err == nil:
			s.outcome = "ok"
		case s.outcome == "":
			s.outcome = memcache.ReasonOther
		}
		r.loads.Record(ctx, e.Duration.Seconds(), metric.WithAttributeSet(r.attrsOf(s).set))
	}
	s.event = e.Kind.String()
	a := r.attrsOf(s)
	r.events.Add(ctx, int64(max(e.Count, 1)), metric.WithAttributeSet(a.set))

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	kvs := append(a.kvs, CountKey.Int(max(e.Count, 1)))
	if e.Size > 0 {
		kvs = append(kvs, SizeKey.Int(e.Size))
	}
	if e.Err != nil {
		// The error's type and reason only: its message may name the key.
		kvs = append(kvs, semconv.ErrorTypeKey.String(errorType(e.Err)))
	}
	span.AddEvent(e.Kind.String(), trace.WithAttributes(kvs...))
}

// EndCall records the call's duration and ends its span, with an error
// status if the call failed (a miss is no failure).
func (r *Recorder) EndCall(ctx context.Context, c memcache.Call, took time.Duration, err error) {
	reason := memcache.FailureReason(err)
	a := r.attrsOf(series{StoreInfo: c.StoreInfo, op: c.Op, server: r.serverOf(c.Key), errType: reason})
	r.duration.Record(ctx, took.Seconds(), metric.WithAttributeSet(a.set))
	if r.cfg.noTraces {
		return
	}
	span := trace.SpanFromContext(ctx)
	if reason != "" {
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
