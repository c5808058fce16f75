package cachewrap

import (
	"errors"
	"fmt"
	"go/ast"
	"strconv"
	"strings"
	"time"
)

// Errors returned by Generate; compare with errors.Is.
var (
	// ErrLoad means the package could not be loaded or type-checked.
	ErrLoad = errors.New("cachewrap: cannot load package")
	// ErrType means the named type is missing, or is neither an interface
	// nor a named type with methods.
	ErrType = errors.New("cachewrap: no such type")
	// ErrOption means a flag or directive is malformed, or names a method
	// the type does not have.
	ErrOption = errors.New("cachewrap: bad option")
	// ErrConflict means a generated name would clash with a name in the
	// output package or with a method of the type.
	ErrConflict = errors.New("cachewrap: name conflict")
)

// Method controls how one method is wrapped. The zero Method caches with no
// expiry and no bound.
type Method struct {
	// Skip forwards the method uncached, as for methods with side effects.
	Skip bool
	// TTL is how long a result is kept; zero means until evicted.
	TTL time.Duration
	// Max bounds how many results the in-process table holds; zero means
	// no bound. memcached has its own memory cap instead.
	Max int
	// Local keeps the method's results in process only, never in
	// memcached: for results too large or too private for a shared cache.
	Local bool
	// Trust keys the arguments (and stores the results) by JSON even where
	// the generator cannot prove that JSON is canonical for them.
	Trust bool
}

// override is a Method whose fields are each either set or left alone.
type override struct {
	skip, local, trust *bool
	ttl                *time.Duration
	max                *int
}

func (o override) apply(m *Method) {
	if o.skip != nil {
		m.Skip = *o.skip
	}
	if o.local != nil {
		m.Local = *o.local
	}
	if o.trust != nil {
		m.Trust = *o.trust
	}
	if o.ttl != nil {
		m.TTL = *o.ttl
	}
	if o.max != nil {
		m.Max = *o.max
	}
}

// Overrides are per-method settings given on the command line. They win over
// directives, which win over the defaults.
type Overrides map[string]*override

func (ov Overrides) get(method string) *override {
	o := ov[method]
	if o == nil {
		o = &override{}
		ov[method] = o
	}
	return o
}

// SetSkip records -skip for method.
func (ov Overrides) SetSkip(method string) { t := true; ov.get(method).skip = &t }

// SetLocal records -local for method.
func (ov Overrides) SetLocal(method string) { t := true; ov.get(method).local = &t }

// SetTrust records -trust for method.
func (ov Overrides) SetTrust(method string) { t := true; ov.get(method).trust = &t }

// SetTTL records -ttl method=d.
func (ov Overrides) SetTTL(method string, d time.Duration) { ov.get(method).ttl = &d }

// SetMax records -max method=n.
func (ov Overrides) SetMax(method string, n int) { ov.get(method).max = &n }

// directivePrefix starts every directive comment line. Like //go:generate it
// has no space after the slashes, so gofmt and godoc treat it as a directive.
const directivePrefix = "//cachewrap:"

// parseDirectives reads the directives in the comment groups of a method.
func parseDirectives(groups ...*ast.CommentGroup) (override, error) {
	var o override
	t := true
	for _, g := range groups {
		if g == nil {
			continue
		}
		for _, c := range g.List {
			rest, ok := strings.CutPrefix(c.Text, directivePrefix)
			if !ok {
				continue
			}
			verb, arg, _ := strings.Cut(strings.TrimSpace(rest), " ")
			arg = strings.TrimSpace(arg)
			noArg := func() error {
				if arg != "" {
					return fmt.Errorf("%w: %s takes no argument", ErrOption, c.Text)
				}
				return nil
			}
			switch verb {
			case "skip":
				if err := noArg(); err != nil {
					return o, err
				}
				o.skip = &t
			case "local":
				if err := noArg(); err != nil {
					return o, err
				}
				o.local = &t
			case "trust":
				if err := noArg(); err != nil {
					return o, err
				}
				o.trust = &t
			case "ttl":
				d, err := ParseTTL(arg)
				if err != nil {
					return o, fmt.Errorf("%w: %s: %v", ErrOption, c.Text, err)
				}
				o.ttl = &d
			case "max":
				n, err := ParseMax(arg)
				if err != nil {
					return o, fmt.Errorf("%w: %s: %v", ErrOption, c.Text, err)
				}
				o.max = &n
			default:
				return o, fmt.Errorf("%w: unknown directive %s (want skip, ttl, max, local or trust)", ErrOption, c.Text)
			}
		}
	}
	return o, nil
}

// ParseTTL parses a TTL as time.ParseDuration does, refusing negative ones.
func ParseTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative TTL %s", s)
	}
	return d, nil
}

// ParseMax parses an entry bound, refusing negative ones.
func ParseMax(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("negative bound %d", n)
	}
	return n, nil
}
