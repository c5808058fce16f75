package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache/memcachetest"
)

// scsModule is the scs release whose own test suite session.Store must
// pass; it is this module's requirement (go.mod), so it is in the module
// cache once this module builds.
const scsModule = "github.com/alexedwards/scs/v2"

// TestScsSuite runs scs's own test suite (TestLifetime, TestIdleTimeout,
// TestIterate, TestDestroy, TestRenewToken, ... of the version in go.mod)
// with session.Store as the store of every session manager the suite
// creates, against a real memcached and the embedded backend. The suite is
// scs's code, unchanged but for one rename: a copy of the module is made,
// its New renamed upstreamNew, and testdata/scs_leancache_test.go.txt adds
// a New that plugs the Store in.
//
// On memcached, TestIterate cannot pass: memcached cannot list its keys and
// holds only digests of the tokens, so Store.All returns ErrNotIterable,
// and the test checks that scs's Iterate reports exactly that, without a
// panic. On the embedded backend it passes.
func TestScsSuite(t *testing.T) {
	srv := memcachetest.NewServer(t)
	bin := buildScsSuite(t)

	run := func(t *testing.T, backend string, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"-test.count=1", "-test.timeout=2m"}, args...)...)
		cmd.Env = append(os.Environ(), "LEANCACHE_SCS_BACKEND="+backend)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Run("memcached", func(t *testing.T) {
		out, err := run(t, "memcached="+srv.Addr, "-test.v", "-test.skip=^TestIterate$")
		require.NoError(t, err, "scs's suite failed against memcached:\n%s", out)
		for _, name := range []string{"TestLifetime", "TestIdleTimeout", "TestDestroy", "TestRenewToken", "TestRememberMe", "TestEnable"} {
			assert.Contains(t, out, "--- PASS: "+name+" ", "%s did not run", name)
		}

		out, err = run(t, "memcached="+srv.Addr, "-test.run=^TestIterate$")
		require.Error(t, err, "TestIterate passed against memcached, which cannot list sessions:\n%s", out)
		assert.Contains(t, out, "session: all: session: cannot list sessions", "Iterate did not report ErrNotIterable:\n%s", out)
		assert.NotContains(t, out, "panic")
	})
	t.Run("embedded", func(t *testing.T) {
		out, err := run(t, "embedded", "-test.v")
		require.NoError(t, err, "scs's suite failed on the embedded backend:\n%s", out)
		for _, name := range []string{"TestLifetime", "TestIdleTimeout", "TestIterate"} {
			assert.Contains(t, out, "--- PASS: "+name+" ", "%s did not run", name)
		}
	})
}

// buildScsSuite copies scs's module from the module cache, plugs
// session.Store into its New and compiles its tests, offline.
func buildScsSuite(t *testing.T) string {
	t.Helper()
	src := goOutput(t, ".", "list", "-m", "-f", "{{.Dir}}", scsModule)
	version := goOutput(t, ".", "list", "-m", "-f", "{{.Version}}", scsModule)
	require.NotEmpty(t, src, "scs %s is not in the module cache (go mod download)", version)
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	dst := filepath.Join(t.TempDir(), "scs")

	require.NoError(t, filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	}))

	// The one change to scs's code: New becomes upstreamNew.
	sessionGo := filepath.Join(dst, "session.go")
	b, err := os.ReadFile(sessionGo)
	require.NoError(t, err)
	const decl = "func New() *SessionManager {"
	require.Equal(t, 1, bytes.Count(b, []byte(decl)), "scs %s: New is no longer declared as %q", version, decl)
	require.NoError(t, os.WriteFile(sessionGo, bytes.Replace(b, []byte(decl), []byte("func upstreamNew() *SessionManager {"), 1), 0o644))
	plug, err := os.ReadFile("testdata/scs_leancache_test.go.txt")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dst, "zz_leancache_test.go"), plug, 0o644))

	// scs's go.mod, with leancache from this repository; this module's
	// go.sum covers leancache's dependencies.
	mod := "module " + scsModule + "\n\ngo 1.25.0\n\nrequire github.com/leancache/leancache v0.0.0\n\nreplace github.com/leancache/leancache => " + repo + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dst, "go.mod"), []byte(mod), 0o644))
	sum, err := os.ReadFile("go.sum")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dst, "go.sum"), sum, 0o644))

	bin := filepath.Join(t.TempDir(), "scs.test")
	goOutput(t, dst, "test", "-c", "-o", bin, ".")
	return bin
}

// goOutput runs the go command in dir, offline, and returns its output.
func goOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}
