package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	cwruntime "github.com/leancache/leancache/cachewrap"
	"github.com/leancache/leancache/examples/genclient/weather"
	"github.com/leancache/leancache/internal/cachewrap"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/memcachetest"
)

// newAPI starts the fake weather API and returns it, to count what reaches
// it, with a client for it.
func newAPI(t *testing.T) (*fakeAPI, *weather.Client) {
	t.Helper()
	api := newFakeAPI()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, weather.New(srv.URL)
}

// newAPIInProcess is newAPI without the network: the client's requests
// are served on the caller's goroutine, so that a test can run in a
// testing/synctest bubble and move time with time.Sleep.
func newAPIInProcess() (*fakeAPI, *weather.Client) {
	api := newFakeAPI()
	c := weather.New("http://weather.test")
	c.HTTP = &http.Client{Transport: inProcess{api}}
	return api, c
}

// inProcess is a RoundTripper that serves requests with its handler.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	p.h.ServeHTTP(w, r)
	return w.Result(), nil
}

func newCachedClient(t *testing.T, c *weather.Client, cfg CachedClientConfig) *CachedClient {
	t.Helper()
	w, err := NewCachedClient(c, cfg)
	require.NoError(t, err)
	return w
}

func newCachedWeather(t *testing.T, c Weather, cfg CachedWeatherConfig) *CachedWeather {
	t.Helper()
	w, err := NewCachedWeather(c, cfg)
	require.NoError(t, err)
	return w
}

func TestSecondIdenticalCallDoesNotReachTheClient(t *testing.T) {
	api, client := newAPI(t)
	w := newCachedClient(t, client, CachedClientConfig{})
	ctx := context.Background()

	first, err := w.Forecast(ctx, "Paris", 3)
	require.NoError(t, err)
	second, err := w.Forecast(ctx, "Paris", 3)
	require.NoError(t, err)
	assert.Same(t, first, second, "the cached result itself")
	assert.Equal(t, 1, api.count("/forecast"))

	_, err = w.Forecast(ctx, "Paris", 4)
	require.NoError(t, err)
	_, err = w.Forecast(ctx, "Lyon", 3)
	require.NoError(t, err)
	assert.Equal(t, 3, api.count("/forecast"), "other arguments are other keys")

	low, high, err := w.Extremes(ctx, "Oslo")
	require.NoError(t, err)
	low2, high2, err := w.Extremes(ctx, "Oslo")
	require.NoError(t, err)
	assert.Equal(t, []float64{-20, 35}, []float64{low, high})
	assert.Equal(t, []float64{low, high}, []float64{low2, high2})
	assert.Equal(t, 1, api.count("/extremes"), "several results are cached together")
}

func TestErrorsAreNotCached(t *testing.T) {
	api, client := newAPI(t)
	w := newCachedWeather(t, client, CachedWeatherConfig{})
	ctx := context.Background()
	for range 3 {
		_, err := w.Current(ctx, "Nowhere")
		var apiErr *weather.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 404, apiErr.Status)
	}
	assert.Equal(t, 3, api.count("/current"))

	for range 2 {
		_, _, err := w.Extremes(ctx, "Nowhere")
		require.Error(t, err)
	}
	assert.Equal(t, 2, api.count("/extremes"), "nor in a tuple")
}

type ctxKey struct{}

func TestContextIsNotPartOfTheKey(t *testing.T) {
	api, client := newAPI(t)
	w := newCachedWeather(t, client, CachedWeatherConfig{})
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "request 2"), time.Minute)
	defer cancel()
	_, err := w.Forecast(context.Background(), "Paris", 2)
	require.NoError(t, err)
	_, err = w.Forecast(ctx, "Paris", 2)
	require.NoError(t, err)
	assert.Equal(t, 1, api.count("/forecast"))
}

func TestSkipIsHonoured(t *testing.T) {
	api, client := newAPI(t)
	ctx := context.Background()
	r := weather.Reading{City: "Oslo", TempC: 3}

	byFlag := newCachedClient(t, client, CachedClientConfig{})
	a, err := byFlag.Report(ctx, r)
	require.NoError(t, err)
	b, err := byFlag.Report(ctx, r)
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "every report gets its own receipt")
	assert.Equal(t, 2, api.count("/report"), "-skip Report")

	byDirective := newCachedWeather(t, client, CachedWeatherConfig{})
	_, err = byDirective.Report(ctx, r)
	require.NoError(t, err)
	_, err = byDirective.Report(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, 4, api.count("/report"), "//cachewrap:skip")

	_, err = NewCachedWeather(client, CachedWeatherConfig{TTL: map[string]time.Duration{"Report": time.Second}})
	assert.ErrorContains(t, err, `"Report", which is not a cached method`)
	var cfgErr *cwruntime.ConfigError
	require.ErrorAs(t, err, &cfgErr)
	assert.Equal(t, cwruntime.ConfigError{Wrapper: "NewCachedWeather", Field: "TTL", Method: "Report"}, *cfgErr)
}

func TestTTLIsHonouredInProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api, client := newAPIInProcess()
		ctx := context.Background()
		const ttl = time.Minute
		w := newCachedWeather(t, client, CachedWeatherConfig{TTL: map[string]time.Duration{"Current": ttl}})
		for range 2 {
			_, err := w.Current(ctx, "Oslo")
			require.NoError(t, err)
		}
		assert.Equal(t, 1, api.count("/current"))
		time.Sleep(ttl - time.Second)
		_, err := w.Current(ctx, "Oslo")
		require.NoError(t, err)
		assert.Equal(t, 1, api.count("/current"), "still cached within its TTL")
		time.Sleep(time.Second)
		_, err = w.Current(ctx, "Oslo")
		require.NoError(t, err)
		assert.Equal(t, 2, api.count("/current"), "expired after its TTL")
	})
}

func TestMaxEntriesIsHonoured(t *testing.T) {
	api, client := newAPI(t)
	ctx := context.Background()
	w := newCachedWeather(t, client, CachedWeatherConfig{MaxEntries: map[string]int{"Forecast": 1}})
	for _, city := range []string{"Paris", "Lyon", "Paris"} {
		_, err := w.Forecast(ctx, city, 1)
		require.NoError(t, err)
	}
	assert.Equal(t, 3, api.count("/forecast"), "Lyon evicted Paris")
}

func TestVariadicPointerAndStructArguments(t *testing.T) {
	api, client := newAPI(t)
	w := newCachedClient(t, client, CachedClientConfig{})
	ctx := context.Background()
	search := func(q weather.Query, opts ...weather.SearchOption) {
		t.Helper()
		_, err := w.Search(ctx, q, opts...)
		require.NoError(t, err)
	}
	// Equal values through different pointers and slices are one key.
	search(weather.Query{Name: "Par", Near: &weather.LatLon{Lat: 48.8, Lon: 2.3}}, weather.SearchOption{Key: "lang", Value: "fr"})
	search(weather.Query{Name: "Par", Near: &weather.LatLon{Lat: 48.8, Lon: 2.3}}, []weather.SearchOption{{Key: "lang", Value: "fr"}}...)
	assert.Equal(t, 1, api.count("/search"))
	search(weather.Query{Name: "Par", Near: &weather.LatLon{Lat: 48.8, Lon: 2.4}}, weather.SearchOption{Key: "lang", Value: "fr"})
	search(weather.Query{Name: "Par", Near: &weather.LatLon{Lat: 48.8, Lon: 2.3}})
	search(weather.Query{Name: "Par", Near: &weather.LatLon{Lat: 48.8, Lon: 2.3}}, weather.SearchOption{Key: "lang", Value: "en"})
	assert.Equal(t, 4, api.count("/search"), "a field, an option or the options' presence differs")

	// *url.URL is keyed by its full form, user information included, which
	// its JSON would drop.
	station := func(raw string) {
		t.Helper()
		u, err := url.Parse(raw)
		require.NoError(t, err)
		_, err = w.Station(ctx, u)
		require.NoError(t, err)
	}
	station("https://stations.example/oslo")
	station("https://stations.example/oslo")
	assert.Equal(t, 1, api.count("/station"))
	station("https://ann:secret@stations.example/oslo")
	station("https://bob:secret@stations.example/oslo")
	assert.Equal(t, 3, api.count("/station"))

	// time.Time is keyed by its own JSON.
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 2 {
		_, err := w.History(ctx, "Oslo", from, from.Add(24*time.Hour))
		require.NoError(t, err)
	}
	_, err := w.History(ctx, "Oslo", from, from.Add(48*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 2, api.count("/history"))
}

func TestUnkeyableCallsReachTheClient(t *testing.T) {
	api, client := newAPI(t)
	w := newCachedClient(t, client, CachedClientConfig{})
	ctx := context.Background()
	severe := func(a weather.Alert) bool { return a.Severity >= 3 }
	for range 2 {
		alerts, err := w.Alerts(ctx, severe)
		require.NoError(t, err)
		assert.Len(t, alerts, 1)
	}
	assert.Equal(t, 2, api.count("/alerts"), "a func argument is forwarded uncached")

	// JSON would write both as "\ufffd"; such calls are not cached.
	for _, city := range []string{"\xff", "\xff", "\xfe"} {
		_, err := w.Current(ctx, city)
		require.NoError(t, err)
	}
	assert.Equal(t, 3, api.count("/current"), "invalid UTF-8 is never keyed")
}

func TestCachesBelongToTheInstance(t *testing.T) {
	api, client := newAPI(t)
	ctx := context.Background()
	for range 2 {
		w := newCachedClient(t, client, CachedClientConfig{})
		for range 2 {
			_, err := w.Forecast(ctx, "Paris", 1)
			require.NoError(t, err)
		}
	}
	assert.Equal(t, 2, api.count("/forecast"), "a new wrapper starts empty")
}

// testMemcached runs the shared-cache checks against a backend: two
// wrappers without tables of their own share one memcached, as two
// processes would. Current's results live for ttl (zero: the generated
// TTL), and pastTTL lets that much time go by on the backend's clock.
func testMemcached(t *testing.T, api *fakeAPI, client *weather.Client, backend memcache.Backend, ttl time.Duration, pastTTL func()) {
	ctx := context.Background()
	cfg := CachedWeatherConfig{
		Backend:      backend,
		NoLocal:      true,
		StoreOptions: []memcache.Option{memcache.WithNamespace("weather", t.Name())},
	}
	if ttl > 0 {
		cfg.TTL = map[string]time.Duration{"Current": ttl}
	}
	first := newCachedWeather(t, client, cfg)
	second := newCachedWeather(t, client, cfg)

	a, err := first.Forecast(ctx, "Paris", 2)
	require.NoError(t, err)
	b, err := second.Forecast(ctx, "Paris", 2)
	require.NoError(t, err)
	assert.Equal(t, a, b, "the result survives the codec")
	assert.NotSame(t, a, b, "decoded, not shared")
	assert.Equal(t, 1, api.count("/forecast"), "the second wrapper found it in memcached")

	_, err = first.Search(ctx, weather.Query{Name: "Os", Tags: []string{"coast"}}, weather.SearchOption{Key: "k", Value: "v w"})
	require.NoError(t, err)
	_, err = second.Search(ctx, weather.Query{Name: "Os", Tags: []string{"coast"}}, weather.SearchOption{Key: "k", Value: "v w"})
	require.NoError(t, err)
	assert.Equal(t, 1, api.count("/search"), "a key with spaces is mapped to a digest, and still shared")

	lo, hi, err := second.Extremes(ctx, "Oslo")
	require.NoError(t, err)
	lo2, hi2, err := first.Extremes(ctx, "Oslo")
	require.NoError(t, err)
	assert.Equal(t, []float64{lo, hi}, []float64{lo2, hi2})
	assert.Equal(t, 1, api.count("/extremes"), "a tuple is stored as one value")

	for range 2 {
		_, err := first.Current(ctx, "Nowhere")
		require.Error(t, err)
	}
	assert.Equal(t, 2, api.count("/current"), "errors are not stored")

	_, err = first.Current(ctx, "Oslo")
	require.NoError(t, err)
	_, err = second.Current(ctx, "Oslo")
	require.NoError(t, err)
	assert.Equal(t, 3, api.count("/current"))
	pastTTL()
	_, err = second.Current(ctx, "Oslo")
	require.NoError(t, err)
	assert.Equal(t, 4, api.count("/current"), "expired in memcached after its TTL")

	// Station is //cachewrap:local: never in memcached, and with NoLocal
	// nowhere at all.
	u, _ := url.Parse("https://stations.example/oslo")
	for range 2 {
		_, err := first.Station(ctx, u)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, api.count("/station"))
}

func TestMemcachedEmbedded(t *testing.T) {
	synctest.Test(t, testMemcachedEmbedded)
}

// testMemcachedEmbedded runs in a bubble, whose clock the embedded backend
// reads and time.Sleep moves.
func testMemcachedEmbedded(t *testing.T) {
	backend := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	// //cachewrap:ttl 1m on Current.
	api, client := newAPIInProcess()
	testMemcached(t, api, client, backend, 0, func() { time.Sleep(61 * time.Second) })

	// The key is the namespace, the method's qualified name and the JSON
	// of the arguments.
	// The store's schema rules apply: with WithFingerprint, a value of
	// another shape under a method's key is a miss, never decoded into the
	// method's result type.
	api, client = newAPIInProcess()
	ctx := context.Background()
	opts := []memcache.Option{memcache.WithNamespace("weather", "schema"), memcache.WithFingerprint()}
	other, err := memcache.NewStore[map[string]int](backend, opts...)
	require.NoError(t, err)
	require.NoError(t, other.Set(ctx, `main.Weather.Current:["Oslo"]`, map[string]int{"temp_c": 99}))
	w := newCachedWeather(t, client, CachedWeatherConfig{Backend: backend, NoLocal: true, StoreOptions: opts})
	c, err := w.Current(ctx, "Oslo")
	require.NoError(t, err)
	assert.Equal(t, weather.Conditions{City: "Oslo", TempC: 4, Sky: "clear", ObservedAt: observedAt}, c)
	assert.Equal(t, 1, api.count("/current"), "the old shape was a miss")
	_, err = w.Current(ctx, "Oslo")
	require.NoError(t, err)
	assert.Equal(t, 1, api.count("/current"), "and was overwritten")

	store, err := memcache.NewStore[*weather.Forecast](backend, memcache.WithNamespace("weather", t.Name()))
	require.NoError(t, err)
	key, err := store.Key(`main.Weather.Forecast:["Paris",2]`)
	require.NoError(t, err)
	assert.Equal(t, `weather:TestMemcachedEmbedded:main.Weather.Forecast:["Paris",2]`, key)
	fc, err := store.Get(context.Background(), `main.Weather.Forecast:["Paris",2]`)
	require.NoError(t, err)
	assert.Equal(t, "Paris", fc.City)
	assert.Len(t, fc.Days, 2)
}

func TestMemcachedReal(t *testing.T) {
	srv := memcachetest.NewServer(t)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	// memcached's clock cannot be moved and ticks once a second, so an item
	// set to live 1s is gone within 2s.
	api, wc := newAPI(t)
	testMemcached(t, api, wc, client, time.Second, func() { time.Sleep(2 * time.Second) })
}

// TestGeneratedFilesAreUpToDate regenerates each wrapper from the flags on
// its go:generate line and compares it with the committed file.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	f, err := os.Open("main.go")
	require.NoError(t, err)
	defer f.Close()
	const marker = "//go:generate go run github.com/leancache/leancache/cmd/cachewrap "
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line, ok := strings.CutPrefix(sc.Text(), marker)
		if !ok {
			continue
		}
		n++
		cfg, err := cachewrap.ParseFlags(strings.Fields(line), io.Discard)
		require.NoError(t, err)
		want, err := os.ReadFile(cfg.Output)
		require.NoError(t, err)
		got, err := cachewrap.Generate(cfg)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s is stale: run go generate ./examples/genclient", cfg.Output)
	}
	assert.Equal(t, 4, n, "go:generate lines in main.go")
}

const wantOutput = `Paris: 3 days from 2026-11-22
Paris: 3 days from 2026-11-22
Paris: 3 days from 2026-11-22
3 calls, 1 request to /forecast
error: weather: /current: HTTP 404
error: weather: /current: HTTP 404
2 failed calls, 2 requests to /current
2 reports, 2 requests to /report
Oslo: 4°C and 4°C, 1 more request to /current
memcached key weather:v1:main.Weather.Current:["Oslo"] holds Oslo, 4°C, clear
`

func TestRun(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	assert.Equal(t, wantOutput, out.String())
}

// The example wraps the weather client twice: by its method set with flags,
// in process, and through the Weather interface and its directives, in
// memcached shared by two wrappers.
func Example() {
	if err := run(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Paris: 3 days from 2026-11-22
	// Paris: 3 days from 2026-11-22
	// Paris: 3 days from 2026-11-22
	// 3 calls, 1 request to /forecast
	// error: weather: /current: HTTP 404
	// error: weather: /current: HTTP 404
	// 2 failed calls, 2 requests to /current
	// 2 reports, 2 requests to /report
	// Oslo: 4°C and 4°C, 1 more request to /current
	// memcached key weather:v1:main.Weather.Current:["Oslo"] holds Oslo, 4°C, clear
}

// TestGoRun runs the example as its README says: go run ./examples/genclient.
func TestGoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example")
	}
	out, err := exec.Command("go", "run", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, wantOutput, string(out))
}

func TestGenericWrapper(t *testing.T) {
	api, client := newAPI(t)
	ctx := context.Background()
	local, err := NewCachedGetter[string, weather.Conditions](conditions{client}, CachedGetterConfig{})
	require.NoError(t, err)
	for range 2 {
		c, err := local.Get(ctx, "Oslo")
		require.NoError(t, err)
		assert.Equal(t, "Oslo", c.City)
	}
	assert.Equal(t, 1, api.count("/current"))

	cfg := CachedGetterConfig{Backend: memcache.NewEmbedded(memcache.EmbeddedConfig{}), NoLocal: true}
	first, err := NewCachedGetter[string, weather.Conditions](conditions{client}, cfg)
	require.NoError(t, err)
	second, err := NewCachedGetter[string, weather.Conditions](conditions{client}, cfg)
	require.NoError(t, err)
	a, err := first.Get(ctx, "Bergen")
	require.NoError(t, err)
	b, err := second.Get(ctx, "Bergen")
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Equal(t, 2, api.count("/current"), "shared through memcached, trusted")
}

func TestConcurrentCallsShareOneRequest(t *testing.T) {
	api, client := newAPI(t)
	w := newCachedClient(t, client, CachedClientConfig{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			fc, err := w.Forecast(context.Background(), "Paris", 5)
			assert.NoError(t, err)
			assert.Len(t, fc.Days, 5)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, api.count("/forecast"))
}

// TestCachedPropertiesInMemcached runs a wrapper whose argument and result
// carry cached properties against real memcached: a trip whose label was
// computed and a fresh one are the same question, asked once, and the plan
// read back from memcached computes its summary afresh.
func TestCachedPropertiesInMemcached(t *testing.T) {
	srv := memcachetest.NewServer(t)
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{srv.Addr}})
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	cfg := CachedPlannerConfig{Backend: client, NoLocal: true}
	var planner countingPlanner
	first, err := NewCachedPlanner(&planner, cfg)
	require.NoError(t, err)
	second, err := NewCachedPlanner(&planner, cfg)
	require.NoError(t, err)
	ctx := context.Background()

	asked := &Trip{From: "Oslo", To: "Bergen", Days: 2}
	assert.Equal(t, "Oslo → Bergen", asked.Label())
	plan, err := first.Plan(ctx, asked)
	require.NoError(t, err)
	assert.Equal(t, "Oslo, Bergen", plan.Describe())

	again, err := second.Plan(ctx, &Trip{From: "Oslo", To: "Bergen", Days: 2})
	require.NoError(t, err)
	assert.Equal(t, int32(1), planner.calls.Load(), "the label is no part of the key")
	assert.Equal(t, []string{"Oslo", "Bergen"}, again.Stops)
	_, computed := again.Summary.Peek()
	assert.False(t, computed, "derived data never travels through memcached")
	assert.Equal(t, "Oslo, Bergen", again.Describe())

	_, err = second.Plan(ctx, &Trip{From: "Oslo", To: "Bergen", Days: 3})
	require.NoError(t, err)
	assert.Equal(t, int32(2), planner.calls.Load(), "another trip is another key")
}
