// Package bench sets what leancache's observability costs side by side, in
// one run, so that the figures compare on a loaded machine: a Store's Get
// on a real memcached round trip without a recorder, with promcache's,
// with otelcache's (metrics only, spans sampled out, every span kept), and
// with the OpenTelemetry SDK's own floors, which no adapter can go under:
// the stable duration histogram alone, and a bare span started and ended
// per call (the same providers, no attribute, no metric).
//
//	cd observability/bench && go test -run '^$' -bench . -benchmem -count 6
//
// It is a module of its own, as the adapters are, so that the core module
// depends on neither.
package bench
