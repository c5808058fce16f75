package cachewrap_test

import (
	"fmt"
	"strings"

	"github.com/leancache/leancache/internal/cachewrap"
)

// Generate wraps the interface Odd of the golden inputs; every method that
// cannot be cached says why in its comment.
func ExampleGenerate() {
	src, err := cachewrap.Generate(cachewrap.Config{
		Package: "./testdata/src/unkeyable",
		Type:    "Odd",
		Output:  "testdata/src/unkeyable/odd_cachewrap.go",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Print the doc comments of a few methods, unwrapped.
	var doc []string
	for _, line := range strings.Split(string(src), "\n") {
		if text, ok := strings.CutPrefix(line, "// "); ok {
			doc = append(doc, text)
			continue
		}
		for _, m := range []string{"Callback", "Opaque", "Pair", "Tree"} {
			if strings.HasPrefix(line, "func (cw *CachedOdd) "+m+"(") {
				fmt.Println(strings.Join(doc, " "))
			}
		}
		doc = doc[:0]
	}
	// Output:
	// Callback is forwarded uncached: argument fn cannot be keyed: func() error is a func, which has no canonical encoding.
	// Opaque is forwarded uncached: argument o cannot be keyed: field note of Opaque is unexported, so JSON leaves it out.
	// Pair is cached by its arguments.
	// Tree is cached by its arguments, leaving out the context.
}
