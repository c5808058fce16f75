// Command genclient shows cachewrap on a third-party API client: the
// wrappers in cached_client.go and cached_weather.go are generated from the
// method set of *weather.Client and from the Weather interface below, and
// cache every method that can be cached, in process and in memcached.
//
// Run it with go run ./examples/genclient. It talks to an in-process fake of
// the weather API and counts the requests that reach it.
package main

//go:generate go run github.com/leancache/leancache/cmd/cachewrap -pkg ./weather -type Client -o cached_client.go -skip Report -ttl 10m -ttl Current=1m -max 1000
//go:generate go run github.com/leancache/leancache/cmd/cachewrap -type Weather -o cached_weather.go
//go:generate go run github.com/leancache/leancache/cmd/cachewrap -type Getter -o cached_getter.go
//go:generate go run github.com/leancache/leancache/cmd/cachewrap -type Planner -o cached_planner.go

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"time"

	"github.com/leancache/leancache/examples/genclient/weather"
	"github.com/leancache/leancache/memcache"
)

// Forecaster is the part of the weather API that plans trips.
type Forecaster interface {
	// Forecast returns the outlook for city.
	//
	//cachewrap:ttl 10m
	//cachewrap:max 500
	Forecast(ctx context.Context, city string, days int) (*weather.Forecast, error)
}

// Weather is what this service uses of the weather API: the interface is
// ours, so its methods carry cachewrap directives; *weather.Client, which is
// not ours, implements it.
type Weather interface {
	Forecaster
	Current(ctx context.Context, city string) (weather.Conditions, error) //cachewrap:ttl 1m
	Search(ctx context.Context, q weather.Query, opts ...weather.SearchOption) ([]weather.City, error)
	History(ctx context.Context, city string, from, to time.Time) ([]weather.Reading, error)
	// Station is found by URL; its result is small and private to us.
	//
	//cachewrap:local
	Station(ctx context.Context, u *url.URL) (weather.Station, error)
	Extremes(ctx context.Context, city string) (lowC, highC float64, err error)
	Alerts(ctx context.Context, keep func(weather.Alert) bool) ([]weather.Alert, error)
	// Report has a side effect: every call must reach the API.
	//
	//cachewrap:skip
	Report(ctx context.Context, r weather.Reading) (string, error)
	Units() string
}

var _ Weather = (*weather.Client)(nil)

// Getter is a generic lookup by key, the shape many API methods share. Its
// wrapper is generic too. V's constraint admits anything, so the generator
// cannot prove that every V survives memcached's codec; the trust directive
// says that the V this service uses does.
type Getter[K ~string | ~int64, V any] interface {
	//cachewrap:trust
	Get(ctx context.Context, key K) (V, error)
}

// conditions looks up the current conditions by city: a Getter over the
// client.
type conditions struct{ c *weather.Client }

// Get implements Getter.
func (g conditions) Get(ctx context.Context, city string) (weather.Conditions, error) {
	return g.c.Current(ctx, city)
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "genclient:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ctx := context.Background()
	api := newFakeAPI()
	srv := httptest.NewServer(api)
	defer srv.Close()
	client := weather.New(srv.URL)

	// In process: the wrapper's own tables, which die with it.
	cached, err := NewCachedClient(client, CachedClientConfig{})
	if err != nil {
		return err
	}
	for range 3 {
		fc, err := cached.Forecast(ctx, "Paris", 3)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Paris: %d days from %s\n", len(fc.Days), fc.Days[0].Date)
	}
	fmt.Fprintf(out, "3 calls, %d request to /forecast\n", api.count("/forecast"))

	// Errors are never cached: both calls reach the API.
	for range 2 {
		_, err := cached.Current(ctx, "Nowhere")
		fmt.Fprintln(out, "error:", err)
	}
	fmt.Fprintf(out, "2 failed calls, %d requests to /current\n", api.count("/current"))

	// Side effects are not cached (-skip Report).
	cached.Report(ctx, weather.Reading{City: "Oslo", TempC: 3})
	cached.Report(ctx, weather.Reading{City: "Oslo", TempC: 3})
	fmt.Fprintf(out, "2 reports, %d requests to /report\n", api.count("/report"))

	// In memcached: two wrappers, as in two processes, share one server
	// (here the embedded backend; memcache.NewClient for a real one).
	backend := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	cfg := CachedWeatherConfig{
		Backend:      backend,
		StoreOptions: []memcache.Option{memcache.WithNamespace("weather", "v1")},
	}
	first, err := NewCachedWeather(client, cfg)
	if err != nil {
		return err
	}
	second, err := NewCachedWeather(client, cfg)
	if err != nil {
		return err
	}
	a, err := first.Current(ctx, "Oslo")
	if err != nil {
		return err
	}
	b, err := second.Current(ctx, "Oslo")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Oslo: %.0f°C and %.0f°C, %d more request to /current\n", a.TempC, b.TempC, api.count("/current")-2)
	// Any store with the same namespace reads what the wrappers wrote.
	store, err := memcache.NewStore[weather.Conditions](backend, memcache.WithNamespace("weather", "v1"))
	if err != nil {
		return err
	}
	const key = `main.Weather.Current:["Oslo"]`
	mkey, err := store.Key(key)
	if err != nil {
		return err
	}
	c, err := store.Get(ctx, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "memcached key %s holds %s, %.0f°C, %s\n", mkey, c.City, c.TempC, c.Sky)
	return nil
}
