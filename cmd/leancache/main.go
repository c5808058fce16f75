// Command leancache tells what leancache wrote to memcached.
//
// Usage:
//
//	leancache inspect -servers host:port[,...] [flags] KEY
//
// inspect reads the item a memcache.Store reads under KEY and describes it:
// the memcached key (namespace, version and digest rules applied), the
// server that holds it, its flags decoded (format version, kind, codec,
// compression, schema fingerprint), its size against the limit the Store's
// size guard computes from the server's item_size_max (stats settings),
// the chunk index of a chunked value (count, length, how many chunks are
// present), and the value decoded to indented JSON for reading. A value
// that leancache did not write (flags 0, or without leancache's marker) is
// described as foreign, with its bytes. Gob values cannot be decoded
// without the Go type that wrote them: for them inspect prints the type
// the gob stream describes, its name and fields.
//
// inspect only reads (get, multi-get of the chunks, stats settings): the
// item, its CAS token and its expiration are left as they were.
//
// Flags:
//
//	-servers A,B   the memcached servers, host:port or a unix socket path,
//	               in the order the application lists them (required)
//	-selector S    how keys are spread over the servers: crc32 (the
//	               default, what memcache.NewClient does with a server
//	               list) or ketama (package memcache/ketama, libmemcached's)
//	-namespace N   the Store's namespace (memcache.WithNamespace)
//	-version V     the Store's version (memcache.WithNamespace)
//	-raw           write the item's value as stored, bytes only, and
//	               nothing else
//	-timeout D     bound the whole inspection (default 10s)
//
// The exit status is 0 when the item was described, 1 when it could not be
// read (no value under the key, a server failure), 2 for bad usage.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks an error of the command line; run has printed the usage.
var errUsage = errors.New("usage")

const usage = "usage: leancache inspect -servers host:port[,...] [-selector crc32|ketama] [-namespace ns -version v] [-raw] [-timeout d] KEY"

// run is the command with its arguments and outputs, and returns the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "inspect" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	err := inspect(context.Background(), args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	}
	fmt.Fprintln(stderr, "leancache:", strings.TrimPrefix(err.Error(), "leancache: "))
	return 1
}

// inspect runs "leancache inspect" with args.
func inspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("leancache inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	servers := fs.String("servers", "", "memcached servers, host:port or socket path, comma-separated")
	selector := fs.String("selector", "crc32", "how keys are spread over servers: crc32 or ketama")
	namespace := fs.String("namespace", "", "the Store's namespace")
	version := fs.String("version", "", "the Store's version")
	raw := fs.Bool("raw", false, "write the stored bytes only")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on the whole inspection")
	if err := fs.Parse(args); err != nil {
		// The flag package has printed the error and the usage.
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	badUsage := func(msg string) error {
		fmt.Fprintln(stderr, "leancache inspect:", msg)
		fs.Usage()
		return errUsage
	}
	if fs.NArg() != 1 {
		return badUsage("want exactly one KEY")
	}
	if *servers == "" {
		return badUsage("-servers is required")
	}
	if *selector != "crc32" && *selector != "ketama" {
		return badUsage(fmt.Sprintf("-selector %q: want crc32 or ketama", *selector))
	}
	sel, err := newSelector(*selector, strings.Split(*servers, ","))
	if err != nil {
		return err
	}
	client, err := memcache.NewClient(memcache.ClientConfig{Selector: sel, Timeout: *timeout})
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	key := fs.Arg(0)
	in, err := memcache.Inspect(ctx, client, key, memcache.WithNamespace(*namespace, *version))
	if err != nil {
		return err
	}
	if *raw {
		_, err := stdout.Write(in.Value)
		return err
	}
	server := "?"
	if addr, err := sel.PickServer(in.StoreKey); err == nil {
		server = addr.String()
	}
	return describe(stdout, in, server, *selector)
}

// newSelector spreads keys over addrs as the application's client does:
// by the named selector, crc32 or ketama.
func newSelector(name string, addrs []string) (gomemcache.ServerSelector, error) {
	if name == "ketama" {
		// Never take a server for down: the inspector asks once.
		return ketama.New(ketama.Config{Servers: ketama.Servers(addrs...), FailureThreshold: -1})
	}
	var sl gomemcache.ServerList
	if err := sl.SetServers(addrs...); err != nil {
		return nil, fmt.Errorf("servers %q: %w", addrs, err)
	}
	return &sl, nil
}

// maxDump bounds the bytes of a foreign value that are dumped; -raw
// writes them all.
const maxDump = 4096

// describe writes the report on in, which server holds, picked by the
// named selector.
func describe(w io.Writer, in *memcache.Inspection, server, selector string) error {
	p := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-12s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	p("key", "%q", in.Key)
	p("memcached", "%s", in.StoreKey)
	p("server", "%s (%s)", server, selector)
	p("cas", "%d", in.CAS)
	what := ""
	if in.Chunks != nil {
		what = ", the index alone"
	}
	p("size", "%d bytes (%s), limit %d bytes (item_size_max %d), %.1f%% of it%s", in.Size, memcache.FormatBytes(in.Size), in.Limit, in.ItemSizeMax, 100*float64(in.Size)/float64(in.Limit), what)
	if in.Foreign {
		p("flags", "%#08x: foreign, written %s", in.Flags, in.Written)
		p("bytes", "%d", len(in.Value))
		dump := in.Value[:min(len(in.Value), maxDump)]
		io.WriteString(w, hex.Dump(dump))
		if len(in.Value) > maxDump {
			fmt.Fprintf(w, "... %d more bytes (-raw writes them all)\n", len(in.Value)-maxDump)
		}
		return nil
	}
	codecName := in.Codec
	if codecName == "" {
		codecName = fmt.Sprintf("unknown (id %d)", in.CodecID)
	}
	p("flags", "%#08x: leancache format %d, %s, codec %s, compression %s", in.Flags, in.Version, in.Kind, codecName, in.Compression)
	if in.HasFingerprint {
		p("fingerprint", "%s", in.Fingerprint)
	} else if in.Version != 0 {
		p("fingerprint", "none")
	}
	if c := in.Chunks; c != nil {
		state := "complete"
		if !c.Complete {
			state = "INCOMPLETE"
		}
		p("chunks", "%d chunks of a %d-byte payload, %d of %d present, %s (token %s)", c.Count, c.Length, c.Present, c.Count, state, c.Token)
	}
	if in.Problem != nil {
		p("problem", "%v", in.Problem)
	}
	if in.Payload == nil {
		return nil
	}
	if in.Compression == "s2" {
		p("payload", "%d bytes, %d compressed", len(in.Payload), in.StoredPayload)
	} else {
		p("payload", "%d bytes", len(in.Payload))
	}
	switch {
	case in.JSON != nil:
		fmt.Fprintf(w, "value (%s, as JSON):\n%s\n", in.Codec, in.JSON)
	case in.GobType != "":
		fmt.Fprintf(w, "value (gob, not decodable without its Go type): %s\n", in.GobType)
	}
	return nil
}
