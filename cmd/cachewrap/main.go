// Command cachewrap generates a caching wrapper for an interface, or for the
// method set of a named type, such as the client of an API you don't own.
//
// The wrapper has the same methods, forwards every call, and caches the
// results in process, in tables that belong to the wrapper instance and die
// with it, and in memcached through one memcache.Store per method when its
// config names a backend. Errors are never cached; a leading
// context.Context is passed through and never keyed.
//
// Usage:
//
//	cachewrap -type Client [-pkg ./weather] [-o file.go] [flags]
//
// or, from a go:generate line in the package that will hold the wrapper:
//
//	//go:generate go run github.com/leancache/leancache/cmd/cachewrap -pkg example.com/weather -type Client -o cached_client.go
//
// Flags:
//
//	-type T        the interface or named type to wrap (required)
//	-pkg P         the package holding T, as go list takes it (default ".")
//	-o FILE        the output file (default <type>_cachewrap.go, lower case)
//	-wrapper W     the wrapper's name (default Cached<T>)
//	-package N     the output package's name, when -o is outside the source
//	               package and no other Go file there tells it
//	-skip M,...    forward these methods uncached (side effects)
//	-local M,...   cache these methods in process only, never in memcached
//	-trust M,...   key these methods by JSON even where that can't be proven
//	               canonical
//	-ttl D | M=D   the TTL of every method, or of method M (repeatable)
//	-max N | M=N   the in-process bound of every method, or of M (repeatable)
//
// Comment directives on the methods do the same per method:
// //cachewrap:skip, //cachewrap:ttl 5m, //cachewrap:max 1000,
// //cachewrap:local and //cachewrap:trust. A flag naming a method overrides
// its directives, which override the flags that apply to every method.
//
// A method is forwarded uncached, with a generated comment saying why, when
// it is skipped, returns nothing but an error, or takes an argument whose JSON
// would not be canonical (funcs, channels, interfaces, structs with
// unexported fields, ...). The key of a call is "pkg.Type.Method:" followed
// by the JSON of its arguments; see the package documentation of
// internal/cachewrap for the rules.
//
// The generated file holds only the wrapper's type, constructor and methods;
// what they share (caches, keys, the config type) is imported from
// github.com/leancache/leancache/cachewrap, the wrappers' runtime, so that
// updating the module fixes wrappers generated earlier.
//
// The output is gofmt-formatted, starts with the standard "Code generated
// ... DO NOT EDIT." line, and is the same, byte for byte, every time it is
// generated from the same source and flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/leancache/leancache/internal/cachewrap"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2) // the usage is printed already
		}
		fmt.Fprintln(os.Stderr, "cachewrap:", strings.TrimPrefix(err.Error(), "cachewrap: "))
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := cachewrap.ParseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	src, err := cachewrap.Generate(cfg)
	if err != nil {
		return err
	}
	// Write through a temporary file, so that a failed run never leaves a
	// half-written wrapper for the next build to trip over.
	tmp, err := os.CreateTemp(filepath.Dir(cfg.Output), ".cachewrap-*.go")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(src); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), cfg.Output)
}
