// Command domain stores a domain object with large cached properties in
// memcached: the embedded backend by default, a real server with
// -memcached host:port. It shows the stripped value fitting easily, and
// what the size guard says about the same object encoded without stripping.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
	"github.com/leancache/leancache/memcache"
)

func main() {
	addr := flag.String("memcached", "", "memcached address (host:port); empty means the embedded backend")
	flag.Parse()
	if err := run(os.Stdout, *addr); err != nil {
		log.Fatal(err)
	}
}

func run(w io.Writer, addr string) error {
	ctx := context.Background()
	var backend memcache.Backend // nil: the embedded default
	where := "embedded backend"
	if addr != "" {
		c, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{addr}})
		if err != nil {
			return err
		}
		defer c.Close()
		backend, where = c, "memcached at "+addr
	}
	fmt.Fprintln(w, "store:", where)

	// A product page: 40 reviews of data, and 1.5 MB of rendered HTML that
	// the application derives from it.
	p := fixtures.NewProduct(42, 40)
	p.Render(1500 << 10)

	store, err := memcache.NewStore[*fixtures.Product](backend,
		memcache.WithCodec(codec.Msgpack), memcache.WithNamespace("products", "v1"))
	if err != nil {
		return err
	}
	if err := store.Set(ctx, "42", p); err != nil {
		return err
	}
	got, err := store.Get(ctx, "42")
	if err != nil {
		return err
	}
	data, _ := codec.Msgpack.Marshal(p)
	fmt.Fprintf(w, "leancache msgpack: stored %s; %d reviews back, rendered HTML %d bytes (recomputed on demand)\n",
		memcache.FormatBytes(len(data)), len(got.Reviews), len(got.RenderedHTML))

	naive, err := memcache.NewStore[*fixtures.Product](backend,
		memcache.WithCodec(fixtures.PlainJSON{}), memcache.WithNamespace("products-naive", "v1")) //cachepropvet:ignore the naive store shows the size guard refusing unstripped values
	if err != nil {
		return err
	}
	err = naive.Set(ctx, "42", p)
	var tl *memcache.TooLargeError
	if !errors.As(err, &tl) {
		return fmt.Errorf("expected the size guard to refuse the unstripped product, got %v", err)
	}
	fmt.Fprintf(w, "without stripping: refused before the network: %s over %s\n", memcache.FormatBytes(tl.Size), memcache.FormatBytes(tl.Limit))
	for _, f := range tl.Fields[:2] {
		fmt.Fprintln(w, "  ", f)
	}
	return nil
}
