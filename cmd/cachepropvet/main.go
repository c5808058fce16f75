// Command cachepropvet reports cached properties (package cacheprop) that
// leave a program by a road that does not strip them: direct encoding with
// encoding/json, encoding/gob, msgpack or cbor, such an encoding stored in
// a gomemcache Item, and memcache.Store[T] of a struct holding cells. See
// package github.com/leancache/leancache/cacheprop/cachepropvet.
//
// Usage:
//
//	cachepropvet [-suggestions=false] [-fix] packages...
//	go vet -vettool=$(which cachepropvet) packages...
package main

import (
	"encoding/json"
	"log"
	"os"
	"strings"

	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/leancache/leancache/cacheprop/cachepropvet"
)

func main() {
	redirectVetStdout(os.Args[1:])
	singlechecker.Main(cachepropvet.Analyzer)
}

// redirectVetStdout sends stdout to the file go vet names in the unit's
// config, when it names one. Since Go 1.26, go vet runs its tool with
// -json and reads the diagnostics from that file, not from stdout; the
// x/tools this module pins (v0.36) predates that and writes to stdout,
// where go vet would copy the JSON through raw and exit 0 despite
// findings. Newer x/tools does the same as this itself.
func redirectVetStdout(args []string) {
	if len(args) == 0 || !strings.HasSuffix(args[len(args)-1], ".cfg") {
		return
	}
	data, err := os.ReadFile(args[len(args)-1])
	if err != nil {
		return // unitchecker reports it
	}
	var cfg struct{ Stdout string }
	if json.Unmarshal(data, &cfg) != nil || cfg.Stdout == "" {
		return
	}
	f, err := os.Create(cfg.Stdout)
	if err != nil {
		log.Fatalf("cachepropvet: %v", err)
	}
	os.Stdout = f
}
