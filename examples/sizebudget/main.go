// Command sizebudget shows the two size checks a team puts in CI, on the
// shop's product fixture: that a cached value fits one memcached item, and
// that it stays within the budgets committed in testdata/size-budgets.txt.
// main_test.go is the same check as a test, the way a team would run it.
//
//	go run ./examples/sizebudget
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
	"github.com/leancache/leancache/memcache"
)

// Fixtures are the values whose sizes the budget file records: a product
// as the shop caches it, with its cached properties computed.
func Fixtures() map[string]any {
	small := fixtures.NewProduct(1, 3)
	small.Render(200 << 10)
	large := fixtures.NewProduct(2, 200)
	large.Render(2 << 20)
	return map[string]any{"product-small": small, "product-large": large}
}

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(w io.Writer) error {
	limit := memcache.SizeGuard{}.Limit("products:v1:some-product-key", 1)
	fmt.Fprintf(w, "memcached's default item limit under a typical key: %s\n", memcache.FormatBytes(limit))
	for _, name := range []string{"product-small", "product-large"} {
		v := Fixtures()[name]
		for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR} {
			data, err := c.Marshal(v)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%-14s %-8s %9s  fits: %v\n", name, c.Name(), memcache.FormatBytes(len(data)), len(data) <= limit)
		}
	}
	fmt.Fprintln(w, "the rendered HTML (200 KB and 2 MB) is a cached property: it is in none of these sizes")
	return nil
}
