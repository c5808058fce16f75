package cachewrap_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/cachewrap"
	"github.com/leancache/leancache/memcache"
)

// Rates is an API to wrap.
type Rates interface {
	Rate(ctx context.Context, from, to string) (float64, error)
}

// cachedRates is written by hand here the way cmd/cachewrap writes a
// wrapper: one Entry per cached method, a constructor that binds them, and
// methods that key each call and look it up.
type cachedRates struct {
	next      Rates
	cacheRate cachewrap.Entry[float64]
}

func newCachedRates(next Rates, cfg cachewrap.Config) (*cachedRates, error) {
	cw := &cachedRates{next: next}
	err := cachewrap.Init("newCachedRates", cfg,
		cachewrap.Bind(&cw.cacheRate, cachewrap.Method{Name: "Rate", TTL: time.Minute, MaxEntries: 100}),
	)
	if err != nil {
		return nil, err
	}
	return cw, nil
}

func (cw *cachedRates) Rate(ctx context.Context, from, to string) (float64, error) {
	ck, keyed := cachewrap.Key("fx.Rates.Rate", from, to)
	if !keyed {
		return cw.next.Rate(ctx, from, to)
	}
	return cw.cacheRate.Lookup(ctx, ck, func(ctx context.Context) (float64, error) {
		return cw.next.Rate(ctx, from, to)
	})
}

// bank answers rates and counts the questions.
type bank struct{ calls int }

func (b *bank) Rate(_ context.Context, from, to string) (float64, error) {
	b.calls++
	if from == to {
		return 0, errors.New("bank: same currency")
	}
	return 1.25, nil
}

// A wrapper shares results in process and, through a backend, with every
// other wrapper on the same memcached; errors reach every caller.
func Example() {
	ctx := context.Background()
	b := &bank{}
	cfg := cachewrap.Config{Backend: memcache.NewEmbedded(memcache.EmbeddedConfig{})}
	first, err := newCachedRates(b, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	second, err := newCachedRates(b, cfg) // as in another process
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range []Rates{first, first, second} {
		rate, err := r.Rate(ctx, "EUR", "USD")
		fmt.Println(rate, err)
	}
	for range 2 {
		_, err := first.Rate(ctx, "EUR", "EUR")
		fmt.Println(err)
	}
	fmt.Println("calls:", b.calls)

	_, err = newCachedRates(b, cachewrap.Config{TTL: map[string]time.Duration{"Rates": time.Hour}})
	fmt.Println(err)
	// Output:
	// 1.25 <nil>
	// 1.25 <nil>
	// 1.25 <nil>
	// bank: same currency
	// bank: same currency
	// calls: 3
	// cachewrap: newCachedRates: TTL names "Rates", which is not a cached method
}

// The key of a call leaves the arguments' cached properties out, however
// they are marked.
func ExampleKey() {
	type Query struct {
		City  string
		Label string `cacheprop:"cached"`
		Norm  cacheprop.Lazy[string]
	}
	q := &Query{City: "Oslo", Label: "Oslo, Norway"}
	q.Norm.Set("oslo")
	key, ok := cachewrap.Key("weather.Client.Search", q, 3)
	fmt.Println(key, ok)
	_, ok = cachewrap.Key("weather.Client.Search", "\xff")
	fmt.Println(ok)
	// Output:
	// weather.Client.Search:[{"City":"Oslo"},3] true
	// false
}
