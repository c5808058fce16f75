package sizetest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache/sizetest"
)

// printTB stands in for the *testing.T of a real test, printing what the
// helpers report.
type printTB struct{ testing.TB }

func (printTB) Helper()                           {}
func (printTB) Errorf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

type page struct {
	Title string
	Body  string
	// Rendered is derived and tagged: it never counts.
	Rendered string `cacheprop:"cached"`
	// Preview was derived too, but someone forgot the tag.
	Preview string
}

func ExampleAssertFits() {
	t := printTB{} // in a test: the *testing.T
	p := &page{Title: "Home", Body: "hello", Rendered: strings.Repeat("r", 4<<20)}
	fmt.Println("fits:", sizetest.AssertFits(t, codec.JSON, p))

	p.Preview = strings.Repeat("p", 2<<20)
	fmt.Println("fits:", sizetest.AssertFits(t, codec.JSON, p))
	// Output:
	// fits: true
	// sizetest: *sizetest_test.page encoded with json is 2097208 bytes (2.0 MB) as the Store writes it, over memcached's item size limit of 1048263 bytes (1023.7 KB); biggest fields: page.Preview: 2.0 MB, page.Body: 7 B, page.Title: 6 B
	// fits: false
}

func ExampleAssertBudget() {
	t := printTB{}
	p := &page{Title: "Home", Body: strings.Repeat("b", 3000)}
	sizetest.AssertBudget(t, codec.Msgpack, p, 2048)
	// Output:
	// sizetest: *sizetest_test.page encoded with msgpack is 3029 bytes (3.0 KB), over its budget of 2048 bytes (2.0 KB); biggest fields: page.Body: 2.9 KB, page.Title: 5 B, page.Preview: 1 B
}
