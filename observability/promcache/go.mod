module github.com/leancache/leancache/observability/promcache

go 1.26.0

require github.com/leancache/leancache v0.0.0

require github.com/prometheus/client_golang v1.25.0 // indirect

replace github.com/leancache/leancache => ../..
