// Package cachewrap is the run-time half of the caching wrappers that the
// command github.com/leancache/leancache/cmd/cachewrap generates. A generated
// file holds only the wrapper type, its constructor and one forwarding method
// per wrapped method; everything those methods share (the per-method caches,
// the key of a call, the configuration) lives here, so that a fix to it
// reaches every wrapper without regenerating any.
//
// In particular the key of a call is written by codec.JSON, not by
// encoding/json: a cached property of an argument (a cacheprop-tagged field,
// a cacheprop.Lazy cell) is derived data, and leaving it out is what makes
// two calls with the same arguments share one key whether or not the
// argument's derived data has been computed. Which types reach cached
// properties is the codec's rule, applied when the key is written.
//
// Code outside a generated file rarely needs this package beyond Config,
// which every generated XConfig is an alias of.
package cachewrap

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// Config configures a generated wrapper. The zero value caches in process
// only, with the TTLs and bounds set when the wrapper was generated.
type Config struct {
	// Backend, when set, caches results in memcached as well, through one
	// memcache.Store per method. A call's key is the method's qualified
	// name, a colon and the JSON of its arguments (see Key), under the
	// stores' namespace.
	Backend memcache.Backend
	// StoreOptions are given to every method's memcache.NewStore: a codec,
	// a namespace and version, WithFingerprint, middleware. Each method has
	// a store of its own, so a fingerprint covers that method's result
	// type. The method's TTL is appended as memcache.WithExpiration.
	StoreOptions []memcache.Option
	// NoLocal turns the in-process tables off, leaving memcached as the
	// only cache.
	NoLocal bool
	// TTL overrides, by method name, how long results are kept; zero means
	// until evicted.
	TTL map[string]time.Duration
	// MaxEntries overrides, by method name, how many results the
	// in-process table holds; zero means no bound.
	MaxEntries map[string]int
}

// Method is what the generator fixed for one cached method: its name and the
// defaults that Config may override.
type Method struct {
	// Name is the method's name, as Config.TTL and Config.MaxEntries name it.
	Name string
	// TTL is how long results are kept unless Config.TTL says otherwise;
	// zero means until evicted.
	TTL time.Duration
	// MaxEntries bounds the in-process table unless Config.MaxEntries says
	// otherwise; zero means no bound.
	MaxEntries int
	// Local keeps the results out of memcached: the store's codec could not
	// give them back, or a directive said so.
	Local bool
}

// A ConfigError is returned by a generated constructor (through Init) when
// its Config names a method that the wrapper does not cache: a typo there
// would otherwise silently leave the intended method with its defaults.
type ConfigError struct {
	// Wrapper is the constructor, such as "NewCachedClient".
	Wrapper string
	// Field is the Config field that names the method: "TTL" or
	// "MaxEntries".
	Field string
	// Method is the name that matches no cached method.
	Method string
}

// Error names the constructor, the Config field and the stray method.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("cachewrap: %s: %s names %q, which is not a cached method", e.Wrapper, e.Field, e.Method)
}

// Entry holds the caches of one method of a wrapper: a memo table in
// process and a memcache.Store. The zero Entry caches nothing until Init
// sets it up through a Binding.
type Entry[V any] struct {
	local bool
	memo  cacheprop.Memo[string, V]
	store *memcache.Store[V]
}

// A Binding ties an Entry to its Method, for Init.
type Binding struct {
	name string
	init func(wrapper string, cfg *Config) error
}

// Bind returns the Binding that Init uses to set e up for m.
func Bind[V any](e *Entry[V], m Method) Binding {
	return Binding{name: m.Name, init: func(wrapper string, cfg *Config) error { return e.init(wrapper, m, cfg) }}
}

// Init sets up the caches of a wrapper's methods from cfg. wrapper names the
// generated constructor, for errors. It returns a *ConfigError when cfg
// overrides a method that none of methods binds, and the error of
// memcache.NewStore, wrapped, when a store refuses cfg.StoreOptions.
func Init(wrapper string, cfg Config, methods ...Binding) error {
	known := make(map[string]bool, len(methods))
	for _, b := range methods {
		known[b.name] = true
	}
	for _, field := range []struct {
		name  string
		names []string
	}{{"TTL", sortedKeys(cfg.TTL)}, {"MaxEntries", sortedKeys(cfg.MaxEntries)}} {
		for _, name := range field.names {
			if !known[name] {
				return &ConfigError{Wrapper: wrapper, Field: field.name, Method: name}
			}
		}
	}
	for _, b := range methods {
		if err := b.init(wrapper, &cfg); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys lists a map's keys in order, so that Init reports the same
// unknown name every time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (e *Entry[V]) init(wrapper string, m Method, cfg *Config) error {
	ttl, bound := m.TTL, m.MaxEntries
	if d, ok := cfg.TTL[m.Name]; ok {
		ttl = d
	}
	if n, ok := cfg.MaxEntries[m.Name]; ok {
		bound = n
	}
	if !cfg.NoLocal {
		e.local = true
		e.memo.Configure(cacheprop.MemoOptions{MaxEntries: bound, TTL: ttl})
	}
	if !m.Local && cfg.Backend != nil {
		opts := append(slices.Clip(cfg.StoreOptions), memcache.WithExpiration(ttl))
		s, err := memcache.NewStore[V](cfg.Backend, opts...)
		if err != nil {
			return fmt.Errorf("cachewrap: %s: %s: %w", wrapper, m.Name, err)
		}
		e.store = s
	}
	return nil
}

// Lookup returns the result for key from the first cache that holds it,
// in process and then in memcached, and otherwise calls call, once for
// concurrent callers of one key, and caches its result. An error from call
// is returned and never cached. With neither cache set up, every Lookup
// calls call.
func (e *Entry[V]) Lookup(ctx context.Context, key string, call func(context.Context) (V, error)) (V, error) {
	load := call
	if e.store != nil {
		load = func(ctx context.Context) (V, error) { return e.store.GetOrLoad(ctx, key, call) }
	}
	if !e.local {
		return load(ctx)
	}
	return e.memo.GetContext(ctx, key, func(ctx context.Context, _ string) (V, error) { return load(ctx) })
}

// Key returns the key of a call: the method's qualified name
// ("pkg.Type.Method"), a colon and the JSON of the arguments as codec.JSON
// writes them, which is encoding/json's output without cached properties.
// ok is false when the codec refuses the arguments (NaN, a func inside a
// trusted type) or JSON would alter them: it writes \ufffd for bytes that
// are not UTF-8, so distinct strings could share a key. Such calls are
// forwarded uncached.
func Key(method string, args ...any) (key string, ok bool) {
	// One argument at a time: the same bytes as the list, but each goes to
	// the codec as its own type, which for most types is encoding/json
	// after one lookup, while a []any would pass every element through the
	// codec's interface boxes.
	var b strings.Builder
	b.WriteString(method)
	b.WriteString(":[")
	for i, a := range args {
		if i > 0 {
			b.WriteByte(',')
		}
		data, err := codec.JSON.Marshal(a)
		if err != nil || bytes.Contains(data, []byte(`\ufffd`)) {
			return "", false
		}
		b.Write(data)
	}
	b.WriteByte(']')
	return b.String(), true
}

// Binary returns an argument for Key that stands for m by its MarshalBinary
// form, for types such as url.URL whose JSON would leave data out. A nil m,
// or m holding a nil pointer, is keyed as JSON null.
func Binary(m encoding.BinaryMarshaler) json.Marshaler {
	return binaryKey{m}
}

type binaryKey struct{ m encoding.BinaryMarshaler }

// MarshalJSON writes the binary form as a JSON string (base64).
func (b binaryKey) MarshalJSON() ([]byte, error) {
	if b.m == nil {
		return []byte("null"), nil
	}
	if v := reflect.ValueOf(b.m); v.Kind() == reflect.Pointer && v.IsNil() {
		return []byte("null"), nil
	}
	data, err := b.m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(data)
}
