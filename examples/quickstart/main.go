// Command quickstart shows what leancache's codecs leave out: a product
// whose rendered page, a cached property of 500 KB, would otherwise travel
// to the cache with every write. It prints the encoded size with each plain
// library and with leancache's codec, then decodes and shows the derived
// data recomputed on first use instead of read back stale. No server needed.
package main

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
)

// Product is a catalogue entry. Page and Summary are derived from the rest:
// cached properties, computed where they are needed and never stored.
type Product struct {
	ID    int
	Name  string
	Price int
	Tags  []string

	// Page is the rendered product page.
	Page string `cacheprop:"cached"`
	// Summary is computed on first use.
	Summary cacheprop.Lazy[string]
}

// PageSize is the size of the rendered page.
const PageSize = 500 << 10

// Render computes the page, as serving the product would.
func (p *Product) Render() {
	row := fmt.Sprintf("<li>%s: %d cents</li>\n", p.Name, p.Price)
	p.Page = strings.Repeat(row, PageSize/len(row)+1)[:PageSize]
}

// Describe returns the summary, computing it on first use; computed
// reports whether this call computed it.
func (p *Product) Describe() (summary string, computed bool) {
	summary = p.Summary.Get(func() string {
		computed = true
		return fmt.Sprintf("%s (%s), %d.%02d EUR", p.Name, strings.Join(p.Tags, ", "), p.Price/100, p.Price%100)
	})
	return summary, computed
}

// plain encodes v with the library a codec wraps, as code without leancache
// would.
var plain = map[string]func(any) ([]byte, error){
	"json":    json.Marshal,
	"msgpack": msgpack.Marshal,
	"cbor":    cbor.Marshal,
	"gob": func(v any) ([]byte, error) {
		var buf bytes.Buffer
		err := gob.NewEncoder(&buf).Encode(v)
		return buf.Bytes(), err
	},
}

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(w io.Writer) error {
	p := &Product{ID: 42, Name: "Espresso grinder", Price: 24900, Tags: []string{"coffee", "kitchen"}}
	p.Render()
	p.Describe()
	fmt.Fprintf(w, "product %d with a %d-byte rendered page\n\n", p.ID, len(p.Page))
	fmt.Fprintf(w, "%-8s %12s %12s\n", "codec", "library", "leancache")
	for _, name := range codec.Names() {
		c, _ := codec.ByName(name)
		enc, ok := plain[name]
		if !ok {
			continue // a codec registered by someone else
		}
		lib := "-"
		if data, err := enc(p); err != nil {
			lib = "refuses it"
		} else {
			lib = fmt.Sprint(len(data))
		}
		data, err := c.Marshal(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(w, "%-8s %12s %12d\n", name, lib, len(data))
	}

	// A round trip through the cache: the copy carries the data only.
	data, err := codec.JSON.Marshal(p)
	if err != nil {
		return err
	}
	back := &Product{}
	if err := codec.JSON.Unmarshal(data, back); err != nil {
		return err
	}
	_, had := back.Summary.Peek()
	fmt.Fprintf(w, "\nafter a round trip: page %d bytes, summary computed: %v\n", len(back.Page), had)
	summary, computed := back.Describe()
	fmt.Fprintf(w, "Describe() computed it again (%v): %s\n", computed, summary)
	back.Render()
	fmt.Fprintf(w, "Render() rebuilt the page: %d bytes\n", len(back.Page))
	return nil
}
