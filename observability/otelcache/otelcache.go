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
//
// # Cost
//
// A Store prepares the Recorder once (memcache.StoreRecorder): every
// attribute set and option its calls use is built then or at first use.
// Events are counted by atomic adds that an asynchronous counter reads at
// collection, a span gets its attributes only if it records, and a span's
// events carry only what the span does not already say. What is left is
// the SDK's own: the duration histogram's measurement, and the span's
// start, end and export. Measured beside a ~21 µs loopback Get on a loaded
// 2-core machine (module observability/bench, README "Seeing what the
// cache does"): metrics only, 1.04× a Get without a recorder (the SDK's
// histogram alone: 1.04×); spans sampled out, 1.08× (a bare span of the
// SDK, sampled out: 1.04×); every span kept, 1.56×, of which a bare kept
// span is 1.40× by itself, most of it the BatchSpanProcessor handing each
// ended span to its goroutine (1.08× with a synchronous processor). Spans
// thus miss a 5% budget whatever the adapter does, even sampled out: sample,
// with sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), so that
// only that share of calls pays for a kept span, or record metrics only
// (WithoutTraces). A sampler that decides by attributes sees none: a span
// starts with its name (the operation) and kind only.
package otelcache

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
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
//
// It is a memcache.StoreRecorder: a Store given it asks ForStore once, and
// every attribute set and option of that store's calls (by operation,
// server and outcome) is built then or at its first use, and shared by
// all the calls after (see the package's Cost section).
type Recorder struct {
	cfg      config
	tracer   trace.Tracer
	duration metric.Float64Histogram
	loads    metric.Float64Histogram
	stores   sync.Map // memcache.StoreInfo -> *storeRecorder
	cache    sync.Map // series -> *attrs, for what no store prepared
	counts   sync.Map // series -> *count, what the events counter reads
}

var (
	_ memcache.Recorder      = (*Recorder)(nil)
	_ memcache.StoreRecorder = (*Recorder)(nil)
)

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
	// An asynchronous counter: a Store event adds to a count of its own,
	// and the SDK reads the counts when it collects, so that an event
	// costs an atomic add instead of a measurement through the SDK (a
	// Get would otherwise pay for two, its hit and its duration).
	if _, err = meter.Int64ObservableCounter(EventCount,
		metric.WithUnit("{event}"),
		metric.WithDescription("Events of leancache stores: hits, misses, writes, loads, fail-open answers, servers down and up."),
		metric.WithInt64Callback(r.observe)); err != nil {
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

// attrs are the attributes of a series, as a slice for spans and as the
// options that carry their set to metrics; shared, so never to be changed
// (the SDK copies what it keeps).
type attrs struct {
	kvs     []attribute.KeyValue
	rec     []metric.RecordOption  // the set, for a histogram
	observe []metric.ObserveOption // the set, for the events counter
}

// attrsOf returns the attributes of s, from the recorder's cache: building
// and sorting them anew for every record would cost a Store call more than
// the rest of its recording. The hot path does not come here: a store's
// recorder keeps what it uses (see storeRecorder).
func (r *Recorder) attrsOf(s series) *attrs {
	if a, ok := r.cache.Load(s); ok {
		return a.(*attrs)
	}
	a, _ := r.cache.LoadOrStore(s, newAttrs(s))
	return a.(*attrs)
}

// newAttrs builds the attributes of s.
func newAttrs(s series) *attrs {
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
	kvs = kvs[:len(kvs):len(kvs)]
	set := attribute.NewSet(kvs...)
	return &attrs{
		kvs:     kvs,
		rec:     []metric.RecordOption{metric.WithAttributeSet(set)},
		observe: []metric.ObserveOption{metric.WithAttributeSet(set)},
	}
}

// A count is the running total of the events of one series, which the
// events counter reads when the SDK collects.
type count struct {
	a *attrs
	n atomic.Int64
}

// countOf returns the count of s.
func (r *Recorder) countOf(s series) *count {
	if c, ok := r.counts.Load(s); ok {
		return c.(*count)
	}
	c, _ := r.counts.LoadOrStore(s, &count{a: r.attrsOf(s)})
	return c.(*count)
}

// observe reports every count to the events counter.
func (r *Recorder) observe(_ context.Context, o metric.Int64Observer) error {
	r.counts.Range(func(_, v any) bool {
		c := v.(*count)
		o.Observe(c.n.Load(), c.a.observe...)
		return true
	})
	return nil
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

// ForStore returns the recorder a Store of info tells (memcache.NewStore
// asks for it): it records as r does, to r's instruments, with the
// store's attributes built once. Stores of the same info share one.
func (r *Recorder) ForStore(info memcache.StoreInfo) memcache.Recorder { return r.store(info) }

// store returns the recorder of the stores of info.
func (r *Recorder) store(info memcache.StoreInfo) *storeRecorder {
	if s, ok := r.stores.Load(info); ok {
		return s.(*storeRecorder)
	}
	s := &storeRecorder{r: r, info: info, ops: make([]*opRecorder, len(knownOps))}
	for i, op := range knownOps {
		s.ops[i] = s.newOp(op)
	}
	got, _ := r.stores.LoadOrStore(info, s)
	return got.(*storeRecorder)
}

// StartCall starts the call's span, a client span named for the
// operation.
func (r *Recorder) StartCall(ctx context.Context, c memcache.Call) context.Context {
	return r.store(c.StoreInfo).StartCall(ctx, c)
}

// Record counts e and adds it to the span of its call as an event.
func (r *Recorder) Record(ctx context.Context, e memcache.Event) {
	if e.Server != "" {
		// A server marked down or up: its own series, rare.
		s := series{StoreInfo: e.StoreInfo, op: e.Op, server: e.Server, event: e.Kind.String()}
		r.countOf(s).n.Add(int64(max(e.Count, 1)))
		r.addEvent(ctx, e)
		return
	}
	r.store(e.StoreInfo).Record(ctx, e)
}

// EndCall records the call's duration and ends its span, with an error
// status if the call failed (a miss is no failure).
func (r *Recorder) EndCall(ctx context.Context, c memcache.Call, took time.Duration, err error) {
	r.store(c.StoreInfo).EndCall(ctx, c, took, err)
}

// knownOps are the operations a store's recorder prepares for up front;
// others are prepared at their first call.
var knownOps = []memcache.Op{
	memcache.OpGet, memcache.OpGetMulti, memcache.OpSet, memcache.OpAdd, memcache.OpReplace,
	memcache.OpCAS, memcache.OpDelete, memcache.OpTouch, memcache.OpGetOrLoad,
}

// A storeRecorder records the calls of the stores of one StoreInfo, with
// what they share prepared once.
type storeRecorder struct {
	r     *Recorder
	info  memcache.StoreInfo
	ops   []*opRecorder // of knownOps, by index; read only once built
	other sync.Map      // memcache.Op -> *opRecorder, any other
}

// An opRecorder holds what the calls of one operation of a store share.
type opRecorder struct {
	s       *storeRecorder
	op      memcache.Op
	name    string                    // the span's name
	fixed   *target                   // the calls' target, without a server picker
	servers sync.Map                  // server -> *target, with a server picker
	events  [32]atomic.Pointer[count] // by EventKind, found at first use
	loads   sync.Map                  // outcome -> *attrs of the load histogram
}

// A target is what the calls of one operation of a store on one server
// share: the span's attributes and the duration's.
type target struct {
	server string
	ok     *attrs   // no error
	failed sync.Map // error.type -> *attrs
}

func (s *storeRecorder) newOp(op memcache.Op) *opRecorder {
	o := &opRecorder{s: s, op: op, name: string(op)}
	if s.r.cfg.pick == nil {
		o.fixed = o.newTarget(s.r.cfg.server)
	}
	return o
}

func (o *opRecorder) newTarget(server string) *target {
	return &target{server: server, ok: newAttrs(series{StoreInfo: o.s.info, op: o.op, server: server})}
}

// op returns the recorder of the store's calls of op.
func (s *storeRecorder) op(op memcache.Op) *opRecorder {
	// A scan of a few short strings, most often ending at the first:
	// cheaper than hashing op for a map, three times a call.
	for i, known := range knownOps {
		if op == known {
			return s.ops[i]
		}
	}
	if o, ok := s.other.Load(op); ok {
		return o.(*opRecorder)
	}
	o, _ := s.other.LoadOrStore(op, s.newOp(op))
	return o.(*opRecorder)
}

// target returns the target of a call on the memcached key.
func (o *opRecorder) target(key string) *target {
	if o.fixed != nil {
		return o.fixed
	}
	server := o.s.r.serverOf(key)
	if t, ok := o.servers.Load(server); ok {
		return t.(*target)
	}
	t, _ := o.servers.LoadOrStore(server, o.newTarget(server))
	return t.(*target)
}

// failure returns the duration's attributes of a call that failed for
// reason, on t.
func (o *opRecorder) failure(t *target, reason string) *attrs {
	if a, ok := t.failed.Load(reason); ok {
		return a.(*attrs)
	}
	a, _ := t.failed.LoadOrStore(reason, newAttrs(series{StoreInfo: o.s.info, op: o.op, server: t.server, errType: reason}))
	return a.(*attrs)
}

// load returns the load histogram's attributes of loads of the outcome.
func (o *opRecorder) load(outcome string) *attrs {
	if a, ok := o.loads.Load(outcome); ok {
		return a.(*attrs)
	}
	a, _ := o.loads.LoadOrStore(outcome, newAttrs(series{StoreInfo: o.s.info, op: o.op, outcome: outcome}))
	return a.(*attrs)
}

// event returns the count of events of kind k.
func (o *opRecorder) event(k memcache.EventKind) *count {
	if int(k) >= len(o.events) {
		return o.s.r.countOf(series{StoreInfo: o.s.info, op: o.op, event: k.String()})
	}
	if c := o.events[k].Load(); c != nil {
		return c
	}
	c := o.s.r.countOf(series{StoreInfo: o.s.info, op: o.op, event: k.String()})
	o.events[k].Store(c)
	return c
}

// clientSpan starts a span as a database client's, and nothing else.
var clientSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}

// StartCall starts the call's span, named for the operation (a constant
// string), and gives it its attributes only if it records: a span the
// sampler drops costs the SDK's floor and nothing more. A sampler that
// decides by attributes sees none; it can decide by the name.
func (s *storeRecorder) StartCall(ctx context.Context, c memcache.Call) context.Context {
	if s.r.cfg.noTraces {
		return ctx
	}
	o := s.op(c.Op)
	ctx, span := s.r.tracer.Start(ctx, o.name, clientSpan...)
	if !span.IsRecording() {
		return ctx
	}
	kvs := o.target(c.Key).ok.kvs // shared: the SDK copies what it keeps
	if s.r.cfg.keyHash && c.Key != "" {
		// kvs is full to its capacity: append copies.
		kvs = append(kvs, KeyHashKey.String(memcache.HashKey(c.Key)))
	}
	span.SetAttributes(kvs...)
	return ctx
}

// Record counts e and, if the call's span records, adds e to it.
func (s *storeRecorder) Record(ctx context.Context, e memcache.Event) {
	r := s.r
	if e.Server != "" {
		r.Record(ctx, e)
		return
	}
	o := s.op(e.Op)
	if e.Kind == memcache.EventLoad {
		outcome := memcache.FailureReason(e.Err)
		switch {
		case e.Err == nil:
			outcome = "ok"
		case outcome == "":
			outcome = memcache.ReasonOther
		}
		r.loads.Record(ctx, e.Duration.Seconds(), o.load(outcome).rec...)
	}
	o.event(e.Kind).n.Add(int64(max(e.Count, 1)))
	r.addEvent(ctx, e)
}

// eventOptions are an event's attributes and the option carrying them,
// allocated together.
type eventOptions struct {
	kvs [4]attribute.KeyValue
	opt [1]trace.EventOption
}

// addEvent adds e to the span of ctx, if it records. The span has the
// store's, the operation's and the server's attributes already: an event
// has only what it adds, and none when it adds nothing (one value, no size,
// no error), so that a hit costs its name and its time.
func (r *Recorder) addEvent(ctx context.Context, e memcache.Event) {
	if r.cfg.noTraces {
		return
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if e.Count <= 1 && e.Size <= 0 && e.Err == nil && e.Server == "" {
		span.AddEvent(e.Kind.String())
		return
	}
	eo := new(eventOptions)
	kvs := eo.kvs[:0]
	if e.Count > 1 {
		kvs = append(kvs, CountKey.Int(e.Count))
	}
	if e.Size > 0 {
		kvs = append(kvs, SizeKey.Int(e.Size))
	}
	if e.Err != nil {
		// The error's type and reason only: its message may name the key.
		kvs = append(kvs, semconv.ErrorTypeKey.String(errorType(e.Err)))
	}
	if e.Server != "" {
		kvs = append(kvs, semconv.ServerAddress(e.Server))
	}
	eo.opt[0] = trace.WithAttributes(kvs...)
	span.AddEvent(e.Kind.String(), eo.opt[:]...)
}

// EndCall records the call's duration and ends its span, with an error
// status if the call failed (a miss is no failure).
func (s *storeRecorder) EndCall(ctx context.Context, c memcache.Call, took time.Duration, err error) {
	o := s.op(c.Op)
	t := o.target(c.Key)
	a := t.ok
	reason := memcache.FailureReason(err)
	if reason != "" {
		a = o.failure(t, reason)
	}
	s.r.duration.Record(ctx, took.Seconds(), a.rec...)
	if s.r.cfg.noTraces {
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
