package meta_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache/meta"
)

// TestCancelInterruptsHungCall cancels calls that wait on a server that
// never answers them, with a Timeout far away: each ends at once with
// context.Canceled and its connection is closed. The hung call comes after
// hits on the same connection, with the same context (which the
// connection's watcher already watches) and with a new one, while the
// earlier context stays alive.
func TestCancelInterruptsHungCall(t *testing.T) {
	t.Parallel()
	requested := make(chan struct{}, 1)
	release := make(chan struct{})
	h := newHostile(t, func(req string) string {
		if strings.HasPrefix(req, "mg hang ") {
			requested <- struct{}{}
			<-release
			return eof
		}
		return "VA 1 f0 c1 k" + strings.Fields(req)[1] + "\r\nx\r\n"
	})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	c := newMeta(t, meta.Config{Servers: []string{h.addr}, Timeout: time.Minute, MaxConnsPerServer: 1})
	bg := context.Background()

	for _, tc := range []struct {
		name string
		same bool
	}{{"same context as the hits", true}, {"new context after the hits", false}} {
		t.Run(tc.name, func(t *testing.T) {
			earlier, cancelEarlier := context.WithCancel(bg)
			defer cancelEarlier()
			for range 3 {
				_, err := c.Get(earlier, "hit")
				require.NoError(t, err)
			}
			ctx, cancel := earlier, cancelEarlier
			if !tc.same {
				ctx, cancel = context.WithCancel(bg)
				defer cancel()
			}
			go func() {
				<-requested
				cancel()
			}()
			start := time.Now()
			_, err := c.Get(ctx, "hang")
			require.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(start), 10*time.Second, "cancellation, not the Timeout, ended the call")
			assert.Equal(t, meta.PoolStats{}, c.PoolStats()[h.addr], "the interrupted connection is closed")
			// The next call gets a fresh connection.
			it, err := c.Get(bg, "hit")
			require.NoError(t, err)
			assert.Equal(t, "hit", it.Key)
		})
	}
	assert.Equal(t, int32(3), h.accepted.Load(), "one connection, then a new one after each interrupted call")
}
