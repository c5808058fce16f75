package meta_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
	"github.com/leancache/leancache/memcache/meta"
)

// TestKetamaFailover checks that ketama's failover works through
// meta.Client unchanged: the Client reports a dead server's failures, the
// selector marks it down, and its keys move to the next server.
func TestKetamaFailover(t *testing.T) {
	t.Parallel()
	srvs, addrs := servers(t, 3)
	var downs atomic.Int32
	sel, err := ketama.New(ketama.Config{
		Servers: ketama.Servers(addrs...), FailureThreshold: 1, RetryDelay: time.Hour, Failover: ketama.Rehash,
		OnStateChange: func(addr net.Addr, down bool) {
			if down {
				downs.Add(1)
			}
		},
	})
	require.NoError(t, err)
	c := newMeta(t, meta.Config{Selector: sel, Timeout: time.Second})
	ctx := context.Background()
	var onDead string
	for i := 0; onDead == ""; i++ {
		k := fmt.Sprintf("failover/%d", i)
		if addr, err := sel.PickServer(k); err == nil && addr.String() == srvs[0].Addr {
			onDead = k
		}
	}
	require.NoError(t, srvs[0].Kill())
	err = c.Set(ctx, &memcache.Item{Key: onDead, Value: []byte("v")})
	require.Error(t, err, "the first call meets the dead server")
	assert.Equal(t, int32(1), downs.Load(), "and the selector hears of it")
	require.NoError(t, c.Set(ctx, &memcache.Item{Key: onDead, Value: []byte("v")}), "then the key moves on")
	it, err := c.Get(ctx, onDead)
	require.NoError(t, err)
	assert.Equal(t, []byte("v"), it.Value)
}

// TestCancellationIsNoServerFailure cancels calls mid-reply on a healthy
// server: the selector must not mark it down for the callers' hang-ups.
func TestCancellationIsNoServerFailure(t *testing.T) {
	t.Parallel()
	_, addrs := servers(t, 1)
	var downs atomic.Int32
	sel, err := ketama.New(ketama.Config{
		Servers: ketama.Servers(addrs...), FailureThreshold: 2, RetryDelay: time.Hour,
		OnStateChange: func(addr net.Addr, down bool) {
			if down {
				downs.Add(1)
			}
		},
	})
	require.NoError(t, err)
	c := newMeta(t, meta.Config{Selector: sel})
	require.NoError(t, c.Set(context.Background(), &memcache.Item{Key: "big", Value: make([]byte, 512<<10)}))
	r := rand.New(rand.NewPCG(1, 2))
	var cancelled int
	for range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		stop := time.AfterFunc(time.Duration(r.IntN(500))*time.Microsecond, cancel)
		if _, err := c.Get(ctx, "big"); err != nil {
			require.ErrorIs(t, err, context.Canceled)
			cancelled++
		}
		stop.Stop()
		cancel()
	}
	t.Logf("%d of 300 calls cancelled", cancelled)
	assert.Greater(t, cancelled, 10)
	assert.Zero(t, downs.Load(), "a healthy server was marked down")
}
