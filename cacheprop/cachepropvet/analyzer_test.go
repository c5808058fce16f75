package cachepropvet_test

import (
	"path/filepath"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/leancache/leancache/cacheprop/cachepropvet"
)

// TestAnalyzer runs the analyzer over testdata, a module of its own that
// imports the real cacheprop, memcache and encoders: model's facts, leaks'
// reports and clean's silence are each what their // want comments say.
func TestAnalyzer(t *testing.T) {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, dir, cachepropvet.Analyzer, "./model", "./leaks", "./clean")
}
