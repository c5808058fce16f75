package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/cachewrap"
)

func TestRunWritesTheWrapper(t *testing.T) {
	out := filepath.Join(t.TempDir(), "repo_cachewrap.go")
	args := []string{"-pkg", "../../internal/cachewrap/testdata/src/generic", "-type", "Repo", "-o", out, "-package", "repos", "-ttl", "Get=30s"}
	require.NoError(t, run(args))
	src, err := os.ReadFile(out)
	require.NoError(t, err)
	text := string(src)
	assert.True(t, strings.HasPrefix(text, cachewrap.Header+"\n"), "header")
	assert.Contains(t, text, "\npackage repos\n")
	assert.Contains(t, text, `"github.com/leancache/leancache/internal/cachewrap/testdata/src/generic"`)
	assert.Contains(t, text, "func NewCachedRepo[K generic.ID, V any](next generic.Repo[K, V], cfg CachedRepoConfig) (*CachedRepo[K, V], error)")
	assert.Contains(t, text, `cachewrap.Bind(&cw.cacheGet, cachewrap.Method{Name: "Get", TTL: 30 * time.Second`)

	// A second run leaves the same bytes.
	require.NoError(t, run(args))
	again, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, text, string(again))
}

func TestRunFailsWithoutWriting(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.go")
	for _, args := range [][]string{
		{"-o", out},
		{"-pkg", "../../internal/cachewrap/testdata/src/generic", "-type", "Nope", "-o", out},
		{"-pkg", "../../internal/cachewrap/testdata/src/generic", "-type", "Repo", "-o", out, "-package", "x", "-skip", "Nope"},
	} {
		assert.Error(t, run(args), "%q", args)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written, not even a temporary file")
}
