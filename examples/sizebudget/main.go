// Command sizebudget shows the two size checks a team puts in CI, on the
// shop's product fixture: that a cached value fits one memcached item, and
// that it stays within the budgets committed in testdata/size-budgets.txt.
// main_test.go is the same check as a test, the way a team would run it.
//
//	go run ./examples/sizebudget
package main

import (
	"errors"
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

// The store the shop writes products with; sizes are measured as its
// writes measure them.
const productKey = "some-product-key"

var productStore = []memcache.Option{memcache.WithNamespace("products", "v1")}

func run(w io.Writer) error {
	fmt.Fprintln(w, "each fixture as a Store writes it under a typical key (the trailer included), against memcached's default item limit:")
	for _, name := range []string{"product-small", "product-large"} {
		v := Fixtures()[name]
		for _, c := range []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR} {
			sz, err := memcache.MeasureWrite(productKey, v, append(productStore, memcache.WithCodec(c))...)
			if err != nil && !errors.Is(err, memcache.ErrTooLarge) {
				return err
			}
			fmt.Fprintf(w, "%-14s %-8s %9s of %s  fits: %v\n", name, c.Name(), memcache.FormatBytes(sz.Size), memcache.FormatBytes(sz.Limit), err == nil)
		}
	}
	fmt.Fprintln(w, "the rendered HTML (200 KB and 2 MB) is a cached property: it is in none of these sizes")
	return nil
}
