module github.com/leancache/leancache/examples/observability

go 1.26.0

require (
	github.com/leancache/leancache v0.0.0
	github.com/leancache/leancache/observability/otelcache v0.0.0
	github.com/leancache/leancache/observability/promcache v0.0.0
)

replace (
	github.com/leancache/leancache => ../..
	github.com/leancache/leancache/observability/otelcache => ../../observability/otelcache
	github.com/leancache/leancache/observability/promcache => ../../observability/promcache
)
