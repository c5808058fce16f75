package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGoVet runs the command as go vet's tool over the analyzer's testdata
// module: go vet must print the findings as file:line diagnostics and fail,
// and pass a package with none. (Before the tool wrote to the file go vet
// names, go vet copied raw JSON through and exited 0.)
func TestGoVet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs go vet")
	}
	bin := filepath.Join(t.TempDir(), "cachepropvet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	testdata, err := filepath.Abs("../../cacheprop/cachepropvet/testdata")
	require.NoError(t, err)

	vet := func(pkg string) (string, error) {
		cmd := exec.Command("go", "vet", "-vettool="+bin, pkg)
		cmd.Dir = testdata
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Stdout = &stderr
		err := cmd.Run()
		return stderr.String(), err
	}

	out2, err := vet("./leaks")
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "go vet fails on findings: %v\n%s", err, out2)
	assert.Regexp(t, `leaks\.go:\d+:\d+: json\.Marshal writes the cached property model\.Order\.Lines\[\]\.Score`, out2)
	assert.NotContains(t, out2, `"posn"`, "diagnostics, not raw JSON")

	out2, err = vet("./clean")
	assert.NoError(t, err, "%s", out2)
}
