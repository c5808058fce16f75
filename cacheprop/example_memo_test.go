package cacheprop_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/leancache/leancache/cacheprop"
)

// Catalog is a domain object with a memoized method: the Memo field holds
// the results, so they are freed with the Catalog and never encoded with it.
type Catalog struct {
	Items []string

	matches cacheprop.Memo[string, int]
}

// Matches counts the items containing word, computing each word's count once.
func (c *Catalog) Matches(word string) int {
	return c.matches.Get(word, c.countMatches)
}

func (c *Catalog) countMatches(word string) int {
	fmt.Println("counting", word)
	n := 0
	for _, it := range c.Items {
		if strings.Contains(it, word) {
			n++
		}
	}
	return n
}

func ExampleMemo() {
	c := &Catalog{Items: []string{"red shirt", "red hat", "blue hat"}}
	fmt.Println(c.Matches("red"))
	fmt.Println(c.Matches("red"))
	fmt.Println(c.Matches("hat"))
	fmt.Printf("%+v\n", c.matches.Stats())
	// Output:
	// counting red
	// 2
	// 2
	// counting hat
	// 2
	// {Hits:1 Misses:2 Evictions:0}
}

func ExampleMemo_GetErr() {
	var prices cacheprop.Memo[string, int]
	errNoPrice := errors.New("no price")
	lookups := 0
	lookup := func(sku string) (int, error) {
		lookups++
		if lookups == 1 {
			return 0, errNoPrice // a transient failure: not stored
		}
		return 1299, nil
	}
	_, err := prices.GetErr("sku-1", lookup)
	fmt.Println(errors.Is(err, errNoPrice))
	p, err := prices.GetErr("sku-1", lookup)
	fmt.Println(p, err)
	p, err = prices.GetErr("sku-1", lookup)
	fmt.Println(p, err, lookups)
	// Output:
	// true
	// 1299 <nil>
	// 1299 <nil> 2
}

func ExampleMemo_Configure() {
	var squares cacheprop.Memo[int, int]
	squares.Configure(cacheprop.MemoOptions{MaxEntries: 2, TTL: time.Hour})
	square := func(n int) int {
		fmt.Println("computing", n)
		return n * n
	}
	squares.Get(1, square)
	squares.Get(2, square)
	squares.Get(1, square) // 1 is now the most recently used
	squares.Get(3, square) // evicts 2, the least recently used
	squares.Get(2, square)
	fmt.Println(squares.Len(), squares.Stats().Evictions)
	// Output:
	// computing 1
	// computing 2
	// computing 3
	// computing 2
	// 2 2
}

// WeatherClient stands for a third-party API client: its type is not yours,
// so it cannot get a Memo field.
type WeatherClient struct{ calls int }

// Forecast is the client's expensive call.
func (w *WeatherClient) Forecast(city string) (string, error) {
	w.calls++
	return "sunny in " + city, nil
}

// ForecastContext is the same call in its context-taking form.
func (w *WeatherClient) ForecastContext(ctx context.Context, city string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return w.Forecast(city)
}

func ExampleMemoizeFunc() {
	client := &WeatherClient{}
	// The memo table is bound to this client and freed with it: there is
	// no global map for either to stay reachable from.
	forecast := cacheprop.MemoizeFunc(client.Forecast, cacheprop.MemoOptions{TTL: 10 * time.Minute})
	for range 3 {
		f, _ := forecast("Lyon")
		fmt.Println(f)
	}
	fmt.Println("calls:", client.calls)
	// Output:
	// sunny in Lyon
	// sunny in Lyon
	// sunny in Lyon
	// calls: 1
}

func ExampleMemoizeFuncContext() {
	client := &WeatherClient{}
	forecast := cacheprop.MemoizeFuncContext(client.ForecastContext, cacheprop.MemoOptions{MaxEntries: 100})

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := forecast(cancelled, "Oslo")
	fmt.Println(err)
	// The cancellation was not stored, and the context is not in the key.
	f, err := forecast(context.Background(), "Oslo")
	fmt.Println(f, err)
	f, err = forecast(context.TODO(), "Oslo")
	fmt.Println(f, err, "calls:", client.calls)
	// Output:
	// context canceled
	// sunny in Oslo <nil>
	// sunny in Oslo <nil> calls: 1
}

// Invoice is a type from another package: no field can be added to it.
type Invoice struct {
	Lines []int
}

// invoiceTotals attaches a derived total to each Invoice without keeping any
// Invoice alive: once an Invoice is freed, its entry goes too.
var invoiceTotals cacheprop.WeakTable[Invoice, int]

func total(inv *Invoice) int {
	fmt.Println("summing")
	t := 0
	for _, l := range inv.Lines {
		t += l
	}
	return t
}

func ExampleWeakTable() {
	inv := &Invoice{Lines: []int{100, 250}}
	fmt.Println(invoiceTotals.GetOrCompute(inv, total))
	fmt.Println(invoiceTotals.GetOrCompute(inv, total))
	same := &Invoice{Lines: []int{100, 250}}
	_, ok := invoiceTotals.Get(same)
	fmt.Println("an equal Invoice is another key:", !ok)
	invoiceTotals.Delete(inv)
	fmt.Println(invoiceTotals.Len())
	// Output:
	// summing
	// 350
	// 350
	// an equal Invoice is another key: true
	// 0
}
