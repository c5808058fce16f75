package cachepropvet_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestRedundantTags checks the suggestion and its fix (redundant.go.golden
// is the file after it), and that -suggestions=false turns it off.
func TestRedundantTags(t *testing.T) {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	analysistest.RunWithSuggestedFixes(t, dir, cachepropvet.Analyzer, "./redundant")

	require.NoError(t, cachepropvet.Analyzer.Flags.Set("suggestions", "false"))
	defer cachepropvet.Analyzer.Flags.Set("suggestions", "true")
	res := analysistest.Run(&quiet{T: t}, dir, cachepropvet.Analyzer, "./redundant")
	require.Len(t, res, 1)
	assert.Empty(t, res[0].Diagnostics, "suggestions off")
}

// quiet is a testing.T that ignores the unmet // want comments of a run
// that is meant to report nothing.
type quiet struct{ *testing.T }

func (q *quiet) Errorf(string, ...any) {}
