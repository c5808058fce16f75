package memcache_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// TestStoreValuesAreNeverShared checks, under the race detector, what
// cacheprop documents: every value a Store returns is decoded into memory
// of its own, and a value's cells may then be used, reset and recomputed
// from many goroutines at once.
func TestStoreValuesAreNeverShared(t *testing.T) {
	ctx := context.Background()
	for _, c := range allCodecs {
		s := newStore[*Article](t, nil, memcache.WithCodec(c))
		require.NoError(t, s.Set(ctx, "a", &Article{Title: "T", Body: "one two three"}))

		var mu sync.Mutex
		seen := map[*Article]bool{}
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := s.Get(ctx, "a")
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				seen[a] = true
				mu.Unlock()
				// The decoded value's Lazy, used and reset from several
				// goroutines at once.
				var inner sync.WaitGroup
				for j := 0; j < 4; j++ {
					inner.Add(1)
					go func() {
						defer inner.Done()
						for n := 0; n < 50; n++ {
							assert.Equal(t, 3, a.Words())
							a.words.Reset()
						}
					}()
				}
				inner.Wait()
			}()
		}
		wg.Wait()
		assert.Len(t, seen, 8, "%s: each Get decodes into its own value", c.Name())
	}
}
