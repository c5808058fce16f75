// Command quickstart shows leancache's main job on the embedded backend, no
// server needed: a product whose rendered page, a cached property of 1.5 MB,
// would otherwise travel to memcached with every write. A Store given the
// object unstripped (plain encoding/json, as with gomemcache today) refuses
// it before any network I/O, and its size guard names the field to blame;
// the Store with leancache's codec, its default, stores the data alone, and
// what comes back recomputes the derived fields on first use instead of
// reading them back stale. Last, the same object with each codec.
package main

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
	"github.com/leancache/leancache/memcache"
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

// PageSize is the size of the rendered page: more than memcached's default
// item size limit of 1 MiB.
const PageSize = 1500 << 10

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

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(w io.Writer) error {
	ctx := context.Background()
	p := &Product{ID: 42, Name: "Espresso grinder", Price: 24900, Tags: []string{"coffee", "kitchen"}}
	p.Render()
	p.Describe()
	fmt.Fprintf(w, "product %d with a %s rendered page, on the embedded backend (memcached's rules, in process)\n\n",
		p.ID, memcache.FormatBytes(len(p.Page)))

	// One backend for both stores: nil would give each store its own.
	backend := memcache.NewEmbedded(memcache.EmbeddedConfig{})

	// Unstripped, the page goes to the cache with the data: the size guard
	// refuses the write before the network and says which field to strip.
	naive, err := memcache.NewStore[*Product](backend, memcache.WithCodec(fixtures.PlainJSON{}), memcache.WithNamespace("naive", "v1")) //cachepropvet:ignore the naive store shows what leaks without stripping
	if err != nil {
		return err
	}
	err = naive.Set(ctx, "42", p)
	var tl *memcache.TooLargeError
	if !errors.As(err, &tl) {
		return fmt.Errorf("the size guard should refuse the unstripped product, got %v", err)
	}
	fmt.Fprintln(w, "without stripping, refused:", tl)

	// Stripped, by the Store's default codec (codec.JSON): the data alone.
	store, err := memcache.NewStore[*Product](backend, memcache.WithNamespace("products", "v1"))
	if err != nil {
		return err
	}
	if err := store.Set(ctx, "42", p); err != nil {
		return err
	}
	k, err := store.Key("42")
	if err != nil {
		return err
	}
	it, err := backend.Get(ctx, k)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "with leancache, stored: %s under %q\n", memcache.FormatBytes(len(it.Value)), k)

	back, err := store.Get(ctx, "42")
	if err != nil {
		return err
	}
	_, had := back.Summary.Peek()
	fmt.Fprintf(w, "read back: %s, %d.%02d EUR; page %d bytes, summary computed: %v\n", back.Name, back.Price/100, back.Price%100, len(back.Page), had)
	summary, computed := back.Describe()
	fmt.Fprintf(w, "Describe() computed it again (%v): %s\n", computed, summary)
	back.Render()
	fmt.Fprintf(w, "Render() rebuilt the page: %d bytes\n", len(back.Page))

	return codecTable(w, p)
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

// codecTable prints p's encoded size with each plain library and with
// leancache's codec for it.
func codecTable(w io.Writer, p *Product) error {
	fmt.Fprintf(w, "\n%-8s %12s %12s\n", "codec", "library", "leancache")
	for _, name := range codec.Names() {
		c, _ := codec.ByName(name)
		enc, ok := plain[name]
		if !ok {
			continue // a codec registered by someone else
		}
		lib := "refuses it"
		if data, err := enc(p); err == nil { //cachepropvet:ignore the table compares plain library sizes with stripped ones
			lib = fmt.Sprint(len(data))
		}
		data, err := c.Marshal(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(w, "%-8s %12s %12d\n", name, lib, len(data))
	}
	return nil
}
