// Package promcache exports what leancache Stores do as Prometheus
// metrics, named as grafana/dskit's memcached client names its own (and
// Thanos's before it), so that dashboards built for those need little
// change: with the default prefix,
//
//	leancache_memcached_operations_total{name,namespace,codec,operation}
//	leancache_memcached_operation_failures_total{name,namespace,codec,operation,reason}
//	leancache_memcached_operation_skipped_total{name,namespace,codec,operation,reason}
//	leancache_memcached_operation_duration_seconds{name,namespace,codec,operation}
//	leancache_memcached_operation_data_size_bytes{name,namespace,codec,operation}
//	leancache_memcached_operation_skipped_data_size_bytes{name,namespace,codec,operation,reason}
//	leancache_memcached_events_total{name,namespace,codec,operation,event}
//	leancache_memcached_load_duration_seconds{name,namespace,codec,outcome}
//	leancache_memcached_server_down{name,server}
//
// "name" is the store's (memcache.WithName), as dskit's "name" is the
// cache's. Failure reasons are memcache.FailureReason's. No metric has a
// key in any form.
package promcache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leancache/leancache/memcache"
)

// DefaultPrefix is what metric names start with unless Options say
// otherwise.
const DefaultPrefix = "leancache_memcached_"

// durationBuckets are dskit's memcached client's, in seconds.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 3, 6, 10}

// sizeBuckets are dskit's, in bytes: 32 B to 256 MiB.
var sizeBuckets = []float64{32, 256, 512, 1024, 8192, 32 * 1024, 256 * 1024, 1024 * 1024, 32 * 1024 * 1024, 256 * 1024 * 1024}

// Options configure a Recorder; the zero value takes the defaults.
type Options struct {
	// Prefix starts every metric's name; empty means DefaultPrefix.
	Prefix string
	// DurationBuckets are the bounds of the duration histograms, in
	// seconds; nil means dskit's.
	DurationBuckets []float64
}

// A Recorder is a memcache.Recorder that counts into Prometheus metrics.
// It is safe for concurrent use. It is a memcache.StoreRecorder: a Store
// finds the series of its operations and events once (ForStore), so that
// counting a Get costs a few atomic adds, not a lookup by labels.
type Recorder struct {
	operations  *prometheus.CounterVec
	failures    *prometheus.CounterVec
	skipped     *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	dataSize    *prometheus.HistogramVec
	skippedSize *prometheus.HistogramVec
	events      *prometheus.CounterVec
	loads       *prometheus.HistogramVec
	serverDown  *prometheus.GaugeVec
}

var (
	_ memcache.Recorder      = (*Recorder)(nil)
	_ memcache.StoreRecorder = (*Recorder)(nil)
)

var storeLabels = []string{"name", "namespace", "codec", "operation"}

// New returns a Recorder whose metrics are registered with reg (if not
// nil; a Recorder is also a prometheus.Collector of them all).
func New(reg prometheus.Registerer, opts Options) (*Recorder, error) {
	p := opts.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	buckets := opts.DurationBuckets
	if buckets == nil {
		buckets = durationBuckets
	}
	with := func(extra ...string) []string {
		return append(storeLabels[:len(storeLabels):len(storeLabels)], extra...)
	}
	r := &Recorder{
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: p + "operations_total", Help: "Total number of Store calls.",
		}, storeLabels),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: p + "operation_failures_total", Help: "Total number of Store calls that failed (misses are not failures), by reason.",
		}, with("reason")),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: p + "operation_skipped_total", Help: "Total number of writes refused before any I/O, by reason.",
		}, with("reason")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: p + "operation_duration_seconds", Help: "Duration of Store calls.", Buckets: buckets,
		}, storeLabels),
		dataSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: p + "operation_data_size_bytes", Help: "Size of the values written, on the wire.", Buckets: sizeBuckets,
		}, storeLabels),
		skippedSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: p + "operation_skipped_data_size_bytes", Help: "Encoded size of the writes refused, by reason.", Buckets: sizeBuckets,
		}, with("reason")),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: p + "events_total", Help: "Events of Store calls: hits, misses, schema misses, decode errors, chunked reads and writes, loads, shared loads, fail-open answers, leases, stale answers, servers down and up.",
		}, with("event")),
		loads: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: p + "load_duration_seconds", Help: "Duration of the loads GetOrLoad shares, by outcome.", Buckets: buckets,
		}, []string{"name", "namespace", "codec", "outcome"}),
		serverDown: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: p + "server_down", Help: "1 while the selector has a server marked down, 0 once it is back.",
		}, []string{"name", "server"}),
	}
	if reg != nil {
		if err := reg.Register(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Recorder) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.operations, r.failures, r.skipped, r.duration, r.dataSize, r.skippedSize, r.events, r.loads, r.serverDown}
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range r.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	for _, c := range r.collectors() {
		c.Collect(ch)
	}
}

// StartCall returns ctx: the counting happens at the call's end.
func (r *Recorder) StartCall(ctx context.Context, _ memcache.Call) context.Context { return ctx }

// Record counts e.
func (r *Recorder) Record(_ context.Context, e memcache.Event) {
	r.detail(e)
	r.events.WithLabelValues(e.Name, e.Namespace, e.Codec, string(e.Op), e.Kind.String()).Add(float64(max(e.Count, 1)))
}

// detail counts what e says besides its kind: a server's state, a size,
// a load.
func (r *Recorder) detail(e memcache.Event) {
	switch e.Kind {
	case memcache.EventServerDown:
		r.serverDown.WithLabelValues(e.Name, e.Server).Set(1)
	case memcache.EventServerUp:
		r.serverDown.WithLabelValues(e.Name, e.Server).Set(0)
	case memcache.EventWrite:
		r.dataSize.WithLabelValues(e.Name, e.Namespace, e.Codec, string(e.Op)).Observe(float64(e.Size))
	case memcache.EventTooLarge:
		r.skipped.WithLabelValues(e.Name, e.Namespace, e.Codec, string(e.Op), memcache.ReasonTooLarge).Inc()
		r.skippedSize.WithLabelValues(e.Name, e.Namespace, e.Codec, string(e.Op), memcache.ReasonTooLarge).Observe(float64(e.Size))
	case memcache.EventLoad:
		outcome := memcache.FailureReason(e.Err)
		switch {
		case e.Err == nil:
			outcome = "ok"
		case outcome == "":
			outcome = memcache.ReasonOther
		}
		r.loads.WithLabelValues(e.Name, e.Namespace, e.Codec, outcome).Observe(e.Duration.Seconds())
	}
}

// EndCall counts the call, its duration and its failure, if it failed.
func (r *Recorder) EndCall(_ context.Context, c memcache.Call, took time.Duration, err error) {
	op := string(c.Op)
	r.operations.WithLabelValues(c.Name, c.Namespace, c.Codec, op).Inc()
	r.duration.WithLabelValues(c.Name, c.Namespace, c.Codec, op).Observe(took.Seconds())
	r.failed(c, err)
}

// failed counts the failure of the call, if it failed.
func (r *Recorder) failed(c memcache.Call, err error) {
	if reason := memcache.FailureReason(err); reason != "" && reason != memcache.ReasonTooLarge {
		r.failures.WithLabelValues(c.Name, c.Namespace, c.Codec, string(c.Op), reason).Inc()
	}
}

// ForStore returns the recorder a Store of info tells (memcache.NewStore
// asks for it): it counts into r's metrics as r does, but finds the
// series of each of the store's operations and events once, not by their
// labels on every call.
func (r *Recorder) ForStore(info memcache.StoreInfo) memcache.Recorder {
	return &storeRecorder{r: r, info: info}
}

// A storeRecorder counts the calls of one store, with their series found
// at their first use: a series made before would be exported at 0.
type storeRecorder struct {
	r    *Recorder
	info memcache.StoreInfo
	ops  sync.Map // memcache.Op -> *opSeries
}

// opSeries are the series of one operation of a store.
type opSeries struct {
	operations prometheus.Counter
	duration   prometheus.Observer
	events     [32]atomic.Pointer[counter] // by EventKind
}

type counter struct{ prometheus.Counter }

func (s *storeRecorder) op(op memcache.Op) *opSeries {
	if o, ok := s.ops.Load(op); ok {
		return o.(*opSeries)
	}
	i := s.info
	o, _ := s.ops.LoadOrStore(op, &opSeries{
		operations: s.r.operations.WithLabelValues(i.Name, i.Namespace, i.Codec, string(op)),
		duration:   s.r.duration.WithLabelValues(i.Name, i.Namespace, i.Codec, string(op)),
	})
	return o.(*opSeries)
}

// event returns the counter of the events of kind k of the operation op.
func (s *storeRecorder) event(op memcache.Op, k memcache.EventKind) prometheus.Counter {
	o := s.op(op)
	if int(k) >= len(o.events) {
		return s.r.events.WithLabelValues(s.info.Name, s.info.Namespace, s.info.Codec, string(op), k.String())
	}
	if c := o.events[k].Load(); c != nil {
		return c.Counter
	}
	c := &counter{s.r.events.WithLabelValues(s.info.Name, s.info.Namespace, s.info.Codec, string(op), k.String())}
	o.events[k].Store(c)
	return c.Counter
}

// StartCall returns ctx: the counting happens at the call's end.
func (s *storeRecorder) StartCall(ctx context.Context, _ memcache.Call) context.Context { return ctx }

// Record counts e.
func (s *storeRecorder) Record(_ context.Context, e memcache.Event) {
	s.r.detail(e)
	s.event(e.Op, e.Kind).Add(float64(max(e.Count, 1)))
}

// EndCall counts the call, its duration and its failure, if it failed.
func (s *storeRecorder) EndCall(_ context.Context, c memcache.Call, took time.Duration, err error) {
	o := s.op(c.Op)
	o.operations.Inc()
	o.duration.Observe(took.Seconds())
	s.r.failed(c, err)
}
