package cachewrap_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/format"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/internal/cachewrap"
)

var update = flag.Bool("update", false, "rewrite the golden files from the generator's output")

// goldenCases are the golden inputs, each with the command line that
// generates it: a generic interface, an interface embedding interfaces of
// other packages (wrapped into another package), the method set of a
// concrete client using time, net and net/url types, a catalogue of
// arguments that cannot be keyed, and arguments and results that carry
// cached properties.
var goldenCases = []struct {
	name string
	args []string
}{
	{"generic", []string{"-pkg", "./testdata/src/generic", "-type", "Repo", "-o", "testdata/src/generic/repo_cachewrap.go"}},
	{"embedded", []string{"-pkg", "./testdata/src/embedded", "-type", "Store", "-o", "testdata/src/embedded/cached/store.go",
		"-wrapper", "Store", "-ttl", "1h", "-max", "List=50"}},
	{"stdtypes", []string{"-pkg", "./testdata/src/stdtypes", "-type", "Client", "-o", "testdata/src/stdtypes/client_cachewrap.go", "-skip", "Base"}},
	{"unkeyable", []string{"-pkg", "./testdata/src/unkeyable", "-type", "Odd", "-o", "testdata/src/unkeyable/odd_cachewrap.go", "-local", "Local"}},
	{"props", []string{"-pkg", "./testdata/src/props", "-type", "Service", "-o", "testdata/src/props/service_cachewrap.go"}},
	{"farcell", []string{"-pkg", "./testdata/src/props/near", "-type", "Docs", "-o", "testdata/src/props/near/docs_cachewrap.go"}},
}

var generatedHeader = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

// wrapperDecl matches the top-level declarations a generated file may have:
// the wrapper, its config alias, tuple results, its constructor and its
// methods; helpers belong to the runtime package.
var wrapperDecl = regexp.MustCompile(`^(func New\w+[\[(]|func \(cw \*\w+(\[[\w, ]+\])?\) \w+\(|type \w+Result(\[.*\])? struct \{$|type \w+Config = cachewrap\d*\.Config$|type \w+(\[.*\])? struct \{$|var _ )`)

// assertOnlyWrappers checks that src declares nothing but the wrapper's own
// names, and at most one struct type besides the tuple results.
func assertOnlyWrappers(t *testing.T, src []byte) {
	t.Helper()
	structs := 0
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "func ") && !strings.HasPrefix(line, "type ") && !strings.HasPrefix(line, "var ") {
			continue
		}
		assert.Regexp(t, wrapperDecl, line)
		if strings.HasPrefix(line, "type ") && strings.HasSuffix(line, "struct {") && !strings.Contains(line, "Result") {
			structs++
		}
	}
	assert.Equal(t, 1, structs, "one wrapper type")
}

func generate(t *testing.T, args []string) []byte {
	t.Helper()
	cfg, err := cachewrap.ParseFlags(args, io.Discard)
	require.NoError(t, err)
	src, err := cachewrap.Generate(cfg)
	require.NoError(t, err, "%s", src)
	return src
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			src := generate(t, tc.args)
			golden := filepath.Join("testdata", "golden", tc.name+".go.golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, src, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(src), "regenerate with go test -run TestGolden -update")

			first, _, _ := bytes.Cut(src, []byte("\n"))
			assert.Regexp(t, generatedHeader, string(first))
			formatted, err := format.Source(src)
			require.NoError(t, err)
			assert.Equal(t, string(formatted), string(src), "not gofmt-clean")
			assert.Equal(t, string(src), string(generate(t, tc.args)), "a second run differs")
			assertOnlyWrappers(t, src)
		})
	}
}

// TestGoldenVet type-checks and vets every golden file in its package, laid
// over the source tree with -overlay so that nothing is written there. The
// struct tag check is off because one input repeats a JSON name on purpose.
func TestGoldenVet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	replace := map[string]string{}
	var dirs []string
	for _, tc := range goldenCases {
		cfg, err := cachewrap.ParseFlags(tc.args, io.Discard)
		require.NoError(t, err)
		out, err := filepath.Abs(cfg.Output)
		require.NoError(t, err)
		golden, err := filepath.Abs(filepath.Join("testdata", "golden", tc.name+".go.golden"))
		require.NoError(t, err)
		replace[out] = golden
		dirs = append(dirs, "./"+filepath.Dir(cfg.Output))
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "overlay.json")
	require.NoError(t, os.WriteFile(path, overlay, 0o644))
	cmd := exec.Command("go", append([]string{"vet", "-structtag=false", "-overlay=" + path}, dirs...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go vet: %s", out)
}

func TestGenerateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want error
		msg  string
	}{
		{"typo directive", []string{"-pkg", "./testdata/src/bad", "-type", "Typo", "-o", "testdata/src/bad/x.go"}, cachewrap.ErrOption, "tll"},
		{"unknown method flag", []string{"-pkg", "./testdata/src/bad", "-type", "Thing", "-o", "testdata/src/bad/x.go", "-wrapper", "W", "-skip", "Put"}, cachewrap.ErrOption, "no method Put"},
		{"taken name", []string{"-pkg", "./testdata/src/bad", "-type", "Thing", "-o", "testdata/src/bad/x.go"}, cachewrap.ErrConflict, "CachedThing"},
		{"sealed interface elsewhere", []string{"-pkg", "./testdata/src/bad", "-type", "Sealed", "-o", "testdata/src/bad/elsewhere/x.go"}, cachewrap.ErrType, "seal"},
		{"unexported type elsewhere", []string{"-pkg", "./testdata/src/bad", "-type", "Leaky", "-o", "testdata/src/bad/elsewhere/x.go"}, cachewrap.ErrType, "unexported type"},
		{"no methods", []string{"-pkg", "./testdata/src/bad", "-type", "NoMethods", "-o", "testdata/src/bad/x.go"}, cachewrap.ErrType, "no methods"},
		{"alias", []string{"-pkg", "./testdata/src/bad", "-type", "Alias", "-o", "testdata/src/bad/x.go"}, cachewrap.ErrType, "alias"},
		{"missing type", []string{"-pkg", "./testdata/src/bad", "-type", "Nope", "-o", "testdata/src/bad/x.go"}, cachewrap.ErrType, "no type Nope"},
		{"missing package", []string{"-pkg", "./testdata/src/none", "-type", "Nope"}, cachewrap.ErrLoad, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := cachewrap.ParseFlags(tc.args, io.Discard)
			require.NoError(t, err)
			_, err = cachewrap.Generate(cfg)
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestParseFlagsRefuses(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-type", "T", "-ttl", "soon"},
		{"-type", "T", "-ttl", "-5s"},
		{"-type", "T", "-max", "Get=-1"},
		{"-type", "T", "stray"},
	} {
		_, err := cachewrap.ParseFlags(args, io.Discard)
		assert.ErrorIs(t, err, cachewrap.ErrOption, "%q", args)
	}
}

// TestCachedPropertiesDoNotStopCaching: the codecs leave cached properties
// out of keys and values, so a type that carries them is keyed and stored as
// if it lacked them, while a plain unexported field beside them still stops
// the key.
func TestCachedPropertiesDoNotStopCaching(t *testing.T) {
	far := string(generate(t, goldenCases[len(goldenCases)-1].args))
	assert.True(t, strings.Contains(far, "// Get is cached by its arguments.\n"), "a cell reached through a package that does not import cacheprop:\n%s", far)
	assert.False(t, strings.Contains(far, "Local: true"), "%s", far)

	src := string(generate(t, goldenCases[len(goldenCases)-2].args))
	for _, want := range []string{
		"// Search is cached by its arguments, leaving out the context.\n",
		"// Get is cached by its arguments.\n",
		"// Walk is cached by its arguments, leaving out the context.\n",
		"// Reveal is forwarded uncached: argument s cannot be keyed: field note of\n// Secret is unexported, so JSON leaves it out.\n",
	} {
		assert.True(t, strings.Contains(src, want), "missing %q in\n%s", want, src)
	}
	assert.False(t, strings.Contains(src, "Local: true"), "every result goes to memcached:\n%s", src)
}
