package cachepropvet_test

import (
	"fmt"
	"log"
	"path/filepath"
	"sort"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/leancache/leancache/cacheprop/cachepropvet"
)

// order is a package that exists only in memory: an Order with a derived
// total, encoded once by encoding/json and once by a leancache codec.
const order = `package order

import (
	"encoding/json"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
)

type Order struct {
	ID    int
	Lines []Line
}

type Line struct {
	SKU   string
	Total cacheprop.Lazy[int]
}

func Save(o *Order) ([]byte, []byte) {
	leaky, _ := json.Marshal(o)
	lean, _ := codec.JSON.Marshal(o)
	return leaky, lean
}
`

// Example runs the analyzer as a driver would, on a package given to
// go/packages as an overlay, inside the analyzer's testdata module (which
// requires leancache and the encoders).
func Example() {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		log.Fatal(err)
	}
	file := filepath.Join(dir, "inmemory", "order.go")
	cfg := &packages.Config{
		Mode:    packages.LoadAllSyntax,
		Dir:     dir,
		Overlay: map[string][]byte{file: []byte(order)},
	}
	pkgs, err := packages.Load(cfg, "./inmemory")
	if err != nil || packages.PrintErrors(pkgs) > 0 {
		log.Fatal("cannot load the package: ", err)
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{cachepropvet.Analyzer}, pkgs, nil)
	if err != nil {
		log.Fatal(err)
	}
	var out []string
	for _, act := range graph.Roots {
		for _, d := range act.Diagnostics {
			p := act.Package.Fset.Position(d.Pos)
			out = append(out, fmt.Sprintf("%s:%d: %s", filepath.Base(p.Filename), p.Line, d.Message))
		}
	}
	sort.Strings(out)
	for _, line := range out {
		fmt.Println(line)
	}
	fmt.Println(cachepropvet.Analyzer.Name+":", cachepropvet.Analyzer.Doc)
	// Output:
	// order.go:21: json.Marshal writes the cached property *Order.Lines[].Total: encode with a leancache codec (codec.JSON), which strips it
	// cachepropvet: report cached properties (cacheprop) that reach an encoder other than leancache's codecs, memcached items or by-value Stores
}
