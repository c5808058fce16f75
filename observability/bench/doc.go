// Package bench sets what leancache's observability costs side by side, in
// one run, so that the figures compare on a loaded machine: a Store's Get
// on a real memcached round trip without a recorder, with one that does
// nothing (what the Store itself pays to tell a recorder), with
// promcache's, with otelcache's (metrics only, spans sampled out, every
// span kept), and with the OpenTelemetry SDK's own floors, which no
// adapter can go under: the stable duration histogram alone, and a bare
// span started and ended per call (the same providers, no attribute, no
// metric; and once more with a synchronous span processor, to show what
// the BatchSpanProcessor's hand-off costs).
//
//	cd observability/bench && go test -run '^$' -bench . -benchmem -benchtime 4000x -count 6
//
// It is a module of its own, as the adapters are, so that the core module
// depends on neither.
package bench
