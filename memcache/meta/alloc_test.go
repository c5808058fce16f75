package meta_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/meta"
)

// allocProduct is a small value whose decode allocates a known number of
// times, measured on its own below.
type allocProduct struct {
	ID    int
	Name  string
	Price float64
	Tags  []string
}

// TestGetHitAllocations holds issue 15's goal: at most 3 allocations per
// Get hit outside the codec, with a context that has a deadline (as every
// HTTP handler's has) and one that can be cancelled. The codec's own share
// is measured by decoding the same bytes with the codec alone.
func TestGetHitAllocations(t *testing.T) {
	_, addrs := servers(t, 1)
	c := newMeta(t, meta.Config{Servers: addrs})
	store, err := memcache.NewStore[allocProduct](c, memcache.WithCodec(codec.JSON), memcache.WithNamespace("alloc", "v1"))
	require.NoError(t, err)
	v := allocProduct{ID: 7, Name: "seven", Price: 7.5, Tags: []string{"a", "b"}}
	bg := context.Background()
	require.NoError(t, store.Set(bg, "p", v))
	require.NoError(t, c.Set(bg, &memcache.Item{Key: "raw", Value: make([]byte, 1<<10)}))
	payload, err := codec.JSON.Marshal(v)
	require.NoError(t, err)
	codecAllocs := testing.AllocsPerRun(200, func() {
		var out allocProduct
		if err := codec.JSON.Unmarshal(payload, &out); err != nil {
			t.Fatal(err)
		}
	})

	deadline, cancel := context.WithTimeout(bg, time.Hour)
	defer cancel()
	cancellable, cancel2 := context.WithCancel(bg)
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"background", bg}, {"deadline", deadline}, {"cancellable", cancellable}} {
		t.Run(tc.name, func(t *testing.T) {
			client := testing.AllocsPerRun(200, func() {
				if _, err := c.Get(tc.ctx, "raw"); err != nil {
					t.Fatal(err)
				}
			})
			// The Item and its value: nothing for the context.
			assert.LessOrEqual(t, client, 2.0, "meta.Client.Get")
			got := testing.AllocsPerRun(200, func() {
				out, err := store.Get(tc.ctx, "p")
				if err != nil || out.ID != 7 {
					t.Fatal(out, err)
				}
			})
			t.Logf("Store.Get: %.0f allocations, %.0f of them the codec's", got, codecAllocs)
			assert.LessOrEqual(t, got-codecAllocs, 3.0, "Store.Get outside the codec")
		})
	}
}
