package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// Article is a domain object whose rendering is a cached property.
type Article struct {
	ID    int
	Title string
	Body  string
	// HTML is derived from Body; it never reaches memcached.
	HTML string `cacheprop:"cached"`
	// words is computed on demand and reset by every decode.
	words cacheprop.Lazy[int]
}

func (a *Article) Words() int {
	return a.words.Get(func() int { return len(strings.Fields(a.Body)) })
}

func ExampleStore() {
	ctx := context.Background()
	// A nil backend is the embedded one: memcached's semantics, in process.
	store, err := memcache.NewStore[*Article](nil, memcache.WithCodec(codec.Msgpack), memcache.WithNamespace("articles", "v1"))
	if err != nil {
		panic(err)
	}
	a := &Article{ID: 1, Title: "Hello", Body: "cached properties stay home"}
	a.HTML = "<p>" + a.Body + "</p>"
	fmt.Println("words before:", a.Words())

	if err := store.Set(ctx, "1", a); err != nil {
		panic(err)
	}
	got, err := store.Get(ctx, "1")
	if err != nil {
		panic(err)
	}
	fmt.Printf("title %q, html %q\n", got.Title, got.HTML)
	fmt.Println("words after:", got.Words())

	_, err = store.Get(ctx, "2")
	fmt.Println("miss:", errors.Is(err, memcache.ErrCacheMiss))
	// Output:
	// words before: 4
	// title "Hello", html ""
	// words after: 4
	// miss: true
}

func ExampleStore_GetOrLoad() {
	ctx := context.Background()
	store, err := memcache.NewStore[*Article](nil)
	if err != nil {
		panic(err)
	}
	loads := 0
	load := func(ctx context.Context) (*Article, error) {
		loads++ // a database query, say
		return &Article{ID: 7, Title: "Loaded"}, nil
	}
	for i := 0; i < 3; i++ {
		a, err := store.GetOrLoad(ctx, "7", load)
		if err != nil {
			panic(err)
		}
		fmt.Println(a.Title)
	}
	fmt.Println("loads:", loads)
	// Output:
	// Loaded
	// Loaded
	// Loaded
	// loads: 1
}

// Draft is Article before its author learned about cached properties: the
// rendering is an ordinary field, so it goes over the wire.
type Draft struct {
	Title string
	Body  string
	HTML  string
}

func ExampleTooLargeError() {
	ctx := context.Background()
	store, err := memcache.NewStore[*Draft](nil)
	if err != nil {
		panic(err)
	}
	body := strings.Repeat("word ", 40_000) // 200 KB
	d := &Draft{Title: "Big", Body: body, HTML: strings.Repeat("<p>"+body+"</p>", 5)}

	err = store.Set(ctx, "draft", d)
	var tl *memcache.TooLargeError
	if errors.As(err, &tl) {
		fmt.Println(errors.Is(err, memcache.ErrTooLarge))
		fmt.Println("size:", memcache.FormatBytes(tl.Size), "limit:", memcache.FormatBytes(tl.Limit))
		for _, f := range tl.Fields {
			fmt.Println(f)
		}
	}
	// Output:
	// true
	// size: 1.1 MB limit: 1023.9 KB
	// Draft.HTML: 976.7 KB
	// Draft.Body: 195.3 KB
	// Draft.Title: 5 B
}

func ExampleCounters() {
	ctx := context.Background()
	var counters memcache.Counters
	store, err := memcache.NewStore[*Article](nil, memcache.WithCounters(&counters))
	if err != nil {
		panic(err)
	}
	_ = store.Set(ctx, "a", &Article{Title: "A"})
	_, _ = store.Get(ctx, "a")
	_, _ = store.Get(ctx, "b")
	fmt.Println("hits", counters.Hits.Load(), "misses", counters.Misses.Load(), "writes", counters.Writes.Load())
	// Output: hits 1 misses 1 writes 1
}
