package memcache_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/leancache/leancache/memcache"
)

// hitCounter counts hits per store: ForStore gives each store its own
// counter, so that a hit costs an atomic add, not a lookup by name.
type hitCounter struct{ stores map[string]*atomic.Int64 }

func (h hitCounter) ForStore(info memcache.StoreInfo) memcache.Recorder {
	n := new(atomic.Int64)
	h.stores[info.Name] = n
	return storeHits{n}
}

// hitCounter itself is told only by stores it was not prepared for.
func (hitCounter) StartCall(ctx context.Context, _ memcache.Call) context.Context { return ctx }
func (hitCounter) Record(context.Context, memcache.Event)                         {}
func (hitCounter) EndCall(context.Context, memcache.Call, time.Duration, error)   {}

type storeHits struct{ n *atomic.Int64 }

func (s storeHits) StartCall(ctx context.Context, _ memcache.Call) context.Context { return ctx }
func (s storeHits) Record(_ context.Context, e memcache.Event) {
	if e.Kind == memcache.EventHit {
		s.n.Add(int64(e.Count))
	}
}
func (s storeHits) EndCall(context.Context, memcache.Call, time.Duration, error) {}

func ExampleStoreRecorder() {
	ctx := context.Background()
	cache := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	hits := hitCounter{stores: map[string]*atomic.Int64{}}
	users, _ := memcache.NewStore[string](cache, memcache.WithName("users"), memcache.WithRecorder(hits))
	pages, _ := memcache.NewStore[string](cache, memcache.WithName("pages"), memcache.WithRecorder(hits))

	_ = users.Set(ctx, "alice", "Alice")
	for range 3 {
		_, _ = users.Get(ctx, "alice")
	}
	_, _ = pages.Get(ctx, "home") // a miss
	fmt.Println("users:", hits.stores["users"].Load(), "pages:", hits.stores["pages"].Load())
	// Output: users: 3 pages: 0
}
