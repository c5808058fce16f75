package cachewrap

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// ParseFlags reads the command line of cmd/cachewrap (without the program
// name) into a Config. Usage and flag errors are written to stderr. It is
// here rather than in the command so that a test can regenerate a file from
// the flags on its go:generate line.
func ParseFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("cachewrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := Config{Overrides: Overrides{}}
	fs.StringVar(&cfg.Type, "type", "", "the interface or named `type` to wrap (required)")
	fs.StringVar(&cfg.Package, "pkg", ".", "the `package` holding the type, as go list takes it")
	fs.StringVar(&cfg.Output, "o", "", "the output `file` (default <type>_cachewrap.go, lower case)")
	fs.StringVar(&cfg.Wrapper, "wrapper", "", "the wrapper's `name` (default Cached<type>)")
	fs.StringVar(&cfg.OutputPackage, "package", "", "the output package's `name`, when it can't be told")
	list := func(set func(string)) func(string) error {
		return func(s string) error {
			for _, m := range strings.Split(s, ",") {
				if m = strings.TrimSpace(m); m != "" {
					set(m)
				}
			}
			return nil
		}
	}
	fs.Func("skip", "forward these `methods` uncached (comma-separated)", list(cfg.Overrides.SetSkip))
	fs.Func("local", "cache these `methods` in process only", list(cfg.Overrides.SetLocal))
	fs.Func("trust", "key these `methods` by JSON without proof", list(cfg.Overrides.SetTrust))
	fs.Func("ttl", "the TTL of every method, or `method=TTL` (repeatable)",
		perMethod(ParseTTL, func(d time.Duration) { cfg.Defaults.TTL = d }, cfg.Overrides.SetTTL))
	fs.Func("max", "the in-process bound of every method, or `method=N` (repeatable)",
		perMethod(ParseMax, func(n int) { cfg.Defaults.Max = n }, cfg.Overrides.SetMax))
	if err := fs.Parse(args); err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrOption, err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected arguments %q", ErrOption, fs.Args())
	}
	if cfg.Type == "" {
		fs.Usage()
		return cfg, fmt.Errorf("%w: -type is required", ErrOption)
	}
	if cfg.Output == "" {
		cfg.Output = strings.ToLower(cfg.Type) + "_cachewrap.go"
	}
	cfg.Command = "cachewrap " + strings.Join(args, " ")
	return cfg, nil
}

// perMethod parses a flag that is either a value for every method or
// method=value for one.
func perMethod[T any](parse func(string) (T, error), all func(T), one func(string, T)) func(string) error {
	return func(s string) error {
		name, val, per := strings.Cut(s, "=")
		if !per {
			val = name
		}
		v, err := parse(val)
		if err != nil {
			return err
		}
		if per {
			one(name, v)
		} else {
			all(v)
		}
		return nil
	}
}
