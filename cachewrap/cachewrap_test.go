package cachewrap_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/cachewrap"
	"github.com/leancache/leancache/memcache"
)

// query is an argument with derived data: Label is tagged as a cached
// property, and Norm is a cell.
type query struct {
	City  string
	Days  int
	Label string `cacheprop:"cached"`
	Norm  cacheprop.Lazy[string]
	Inner *query `json:",omitempty"`
}

func TestKeyLeavesCachedPropertiesOut(t *testing.T) {
	plain, ok := cachewrap.Key("weather.Client.Search", &query{City: "Oslo", Days: 3})
	require.True(t, ok)
	derived := &query{City: "Oslo", Days: 3, Label: "Oslo, 3 days", Inner: &query{City: "Bergen", Label: "x"}}
	derived.Norm.Set("oslo")
	derived.Inner.Norm.Set("bergen")
	withNested := &query{City: "Oslo", Days: 3, Inner: &query{City: "Bergen"}}

	got, ok := cachewrap.Key("weather.Client.Search", derived)
	require.True(t, ok)
	want, ok := cachewrap.Key("weather.Client.Search", withNested)
	require.True(t, ok)
	assert.Equal(t, want, got, "derived data, however deep, is no part of the key")
	assert.NotContains(t, got, "Label")
	assert.Equal(t, `weather.Client.Search:[{"City":"Oslo","Days":3}]`, plain)

	other, ok := cachewrap.Key("weather.Client.Search", &query{City: "Oslo", Days: 4})
	require.True(t, ok)
	assert.NotEqual(t, plain, other, "the arguments themselves still are")
}

// Keys of arguments without cached properties are what encoding/json writes,
// so that entries written by wrappers generated before the runtime existed
// keep being found.
func TestKeyIsJSONWithoutCachedProperties(t *testing.T) {
	for _, args := range [][]any{
		{"Paris", 3},
		{"<a&b>", map[string]int{"b": 1, "a": 2}},
		{[]string{"x"}, 1.5, nil, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{struct {
			A int    `json:"a,omitempty"`
			B string `json:"b"`
		}{B: "é"}},
	} {
		want, err := json.Marshal(args)
		require.NoError(t, err)
		got, ok := cachewrap.Key("m", args...)
		require.True(t, ok, "%v", args)
		assert.Equal(t, "m:"+string(want), got)
	}
}

func TestKeyRefuses(t *testing.T) {
	for name, args := range map[string][]any{
		"NaN":           {math.NaN()},
		"invalid UTF-8": {"\xff"},
		"func":          {func() {}},
		"nested func":   {struct{ F func() }{func() {}}},
	} {
		key, ok := cachewrap.Key("m", args...)
		assert.False(t, ok, name)
		assert.Empty(t, key, name)
	}
}

func TestBinary(t *testing.T) {
	u, err := url.Parse("https://user:secret@example.com/a?b=c")
	require.NoError(t, err)
	bin, err := u.MarshalBinary()
	require.NoError(t, err)
	key, ok := cachewrap.Key("m", cachewrap.Binary(u))
	require.True(t, ok)
	assert.Equal(t, `m:["`+base64.StdEncoding.EncodeToString(bin)+`"]`, key)

	var none *url.URL
	key, ok = cachewrap.Key("m", cachewrap.Binary(none), cachewrap.Binary(nil))
	require.True(t, ok)
	assert.Equal(t, `m:[null,null]`, key, "a nil pointer is never asked for its binary form")
}

// counter is a method to wrap that counts its calls.
type counter struct{ calls int }

func (c *counter) call(fail bool) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		c.calls++
		if fail {
			return "", errors.New("down")
		}
		return "v", nil
	}
}

func TestInitRefusesUnknownMethods(t *testing.T) {
	var e cachewrap.Entry[string]
	for _, tc := range []struct {
		cfg   cachewrap.Config
		field string
	}{
		{cachewrap.Config{TTL: map[string]time.Duration{"Get": time.Second, "Gte": time.Second}}, "TTL"},
		{cachewrap.Config{MaxEntries: map[string]int{"Gte": 1}}, "MaxEntries"},
	} {
		err := cachewrap.Init("NewCachedRepo", tc.cfg, cachewrap.Bind(&e, cachewrap.Method{Name: "Get"}))
		var ce *cachewrap.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, cachewrap.ConfigError{Wrapper: "NewCachedRepo", Field: tc.field, Method: "Gte"}, *ce)
		assert.EqualError(t, err, `cachewrap: NewCachedRepo: `+tc.field+` names "Gte", which is not a cached method`)
	}
}

func TestInitPassesStoreErrorsOn(t *testing.T) {
	var e cachewrap.Entry[string]
	cfg := cachewrap.Config{
		Backend:      memcache.NewEmbedded(memcache.EmbeddedConfig{}),
		StoreOptions: []memcache.Option{memcache.WithNamespace("bad space", "v1")},
	}
	_, storeErr := memcache.NewStore[string](cfg.Backend, cfg.StoreOptions...)
	require.Error(t, storeErr)
	err := cachewrap.Init("NewCachedRepo", cfg, cachewrap.Bind(&e, cachewrap.Method{Name: "Get"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cachewrap: NewCachedRepo: Get: ")
	assert.Contains(t, err.Error(), storeErr.Error())

	// A method kept local never opens a store, so the bad option is moot.
	require.NoError(t, cachewrap.Init("NewCachedRepo", cfg, cachewrap.Bind(&e, cachewrap.Method{Name: "Get", Local: true})))
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	backend := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	for _, tc := range []struct {
		name  string
		cfg   cachewrap.Config
		local bool
		// calls is how many calls reach the method after two lookups by
		// each of two wrappers.
		calls int
	}{
		{"nothing", cachewrap.Config{NoLocal: true}, false, 4},
		{"in process", cachewrap.Config{}, false, 2},
		{"in memcached", cachewrap.Config{Backend: backend, NoLocal: true, StoreOptions: []memcache.Option{memcache.WithNamespace("t1", "v1")}}, false, 1},
		{"both", cachewrap.Config{Backend: backend, StoreOptions: []memcache.Option{memcache.WithNamespace("t2", "v1")}}, false, 1},
		{"local method", cachewrap.Config{Backend: backend, StoreOptions: []memcache.Option{memcache.WithNamespace("t3", "v1")}}, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c counter
			for range 2 {
				var e cachewrap.Entry[string]
				require.NoError(t, cachewrap.Init("NewW", tc.cfg, cachewrap.Bind(&e, cachewrap.Method{Name: "Get", Local: tc.local})))
				for range 2 {
					v, err := e.Lookup(ctx, "k", c.call(false))
					require.NoError(t, err)
					assert.Equal(t, "v", v)
				}
			}
			assert.Equal(t, tc.calls, c.calls)
		})
	}
}

func TestLookupNeverCachesErrors(t *testing.T) {
	var e cachewrap.Entry[string]
	cfg := cachewrap.Config{Backend: memcache.NewEmbedded(memcache.EmbeddedConfig{})}
	require.NoError(t, cachewrap.Init("NewW", cfg, cachewrap.Bind(&e, cachewrap.Method{Name: "Get"})))
	var c counter
	for range 2 {
		v, err := e.Lookup(context.Background(), "k", c.call(true))
		assert.EqualError(t, err, "down")
		assert.Empty(t, v)
	}
	assert.Equal(t, 2, c.calls)
}

func TestConfigOverridesTheGeneratedDefaults(t *testing.T) {
	var e cachewrap.Entry[int]
	cfg := cachewrap.Config{MaxEntries: map[string]int{"Get": 1}}
	require.NoError(t, cachewrap.Init("NewW", cfg, cachewrap.Bind(&e, cachewrap.Method{Name: "Get", MaxEntries: 100})))
	calls := 0
	get := func(k string) int {
		v, err := e.Lookup(context.Background(), k, func(context.Context) (int, error) { calls++; return len(k), nil })
		require.NoError(t, err)
		return v
	}
	get("a")
	get("bb")
	get("a")
	assert.Equal(t, 3, calls, "a bound of one holds only the last key")
}

// FuzzKeysAreInjective checks the key of a call: calls with
// different arguments never share a key, and a string that is not valid
// UTF-8, which JSON would rewrite, is never keyed.
func FuzzKeysAreInjective(f *testing.F) {
	f.Add("Paris", "Lyon", 1, 1)
	f.Add("\xff", "\xfe", 0, 0)
	f.Add(`\ufffd`, "\ufffd", 0, 0)
	f.Add("<a&b>", `\u003ca\u0026b\u003e`, 2, 2)
	f.Fuzz(func(t *testing.T, a, b string, x, y int) {
		ka, okA := cachewrap.Key("main.Weather.Forecast", a, x)
		kb, okB := cachewrap.Key("main.Weather.Forecast", b, y)
		if okA && !utf8.ValidString(a) || okB && !utf8.ValidString(b) {
			t.Fatalf("invalid UTF-8 keyed: %q %q", ka, kb)
		}
		if okA && okB && ka == kb && (a != b || x != y) {
			t.Fatalf("(%q, %d) and (%q, %d) share the key %q", a, x, b, y, ka)
		}
	})
}

// BenchmarkKey compares the key of a typical call with what encoding/json
// alone costs for the same arguments, which is what keys cost before they
// left cached properties out.
func BenchmarkKey(b *testing.B) {
	args := []any{"Paris", 3, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	b.Run("cachewrap.Key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := cachewrap.Key("weather.Client.Forecast", args...); !ok {
				b.Fatal("not keyed")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, err := json.Marshal(args)
			if err != nil || bytes.Contains(data, []byte(`\ufffd`)) {
				b.Fatal(err)
			}
			_ = "weather.Client.Forecast" + ":" + string(data)
		}
	})
}
