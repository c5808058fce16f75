module github.com/leancache/leancache/cacheprop/cachepropvet/golangci

go 1.25.0

require (
	github.com/leancache/leancache v0.0.0
	golang.org/x/tools v0.36.0
)

require (
	github.com/golangci/plugin-module-register v0.1.2
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

// In this repository the plugin builds against the analyzer beside it.
replace github.com/leancache/leancache => ../../..
