package cacheprop

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestStaleNeverTrustsALaggingClockAtTheDeadline checks the rule of TTL
// hits: however the coarse reading lags, by less than the guard, a value is
// stale from its deadline on; and a reading of another clock is ignored.
func TestStaleNeverTrustsALaggingClockAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = time.Hour
		expires := monoNow() + int64(ttl)
		lags := []time.Duration{0, memoClockTick, memoClockGuard - 1}

		time.Sleep(ttl - time.Second)
		for _, lag := range lags {
			assert.False(t, stale(expires, monoNow()-int64(lag), ttl), "a second before, lag %v", lag)
		}
		for _, after := range []time.Duration{0, time.Millisecond, memoClockGuard, ttl} {
			time.Sleep(time.Duration(expires + int64(after) - monoNow()))
			for _, lag := range lags {
				assert.True(t, stale(expires, monoNow()-int64(lag), ttl), "%v after, lag %v", after, lag)
			}
		}

		// A reading of the real clock, taken outside the bubble, is far
		// from the bubble's deadlines and must not be trusted either way.
		fresh := monoNow() + int64(ttl)
		assert.False(t, stale(fresh, 1, ttl))
		assert.True(t, stale(expires, 1, ttl))
		assert.True(t, stale(expires, expires+int64(ttl), ttl), "a reading from the future")
	})
}

// TestCoarseClockTicksWhileReadAndStopsWhenIdle drives a clock of its own
// in a bubble: it follows the exact clock within a tick while read, stops
// after a tick without reads, and starts again on the next read.
func TestCoarseClockTicksWhileReadAndStopsWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &coarseClock{wake: make(chan struct{}, 1)}
		go c.run()
		assert.Equal(t, monoNow(), c.Now(), "a stopped clock reads the exact one")
		for range 5 {
			time.Sleep(memoClockTick + memoClockTick/3)
			synctest.Wait()
			lag := monoNow() - c.Now()
			assert.True(t, lag >= 0 && lag <= int64(memoClockTick), "lag %v", time.Duration(lag))
		}
		time.Sleep(3 * memoClockTick)
		synctest.Wait()
		assert.Zero(t, c.now.Load(), "stopped after a tick without reads")
		assert.Equal(t, monoNow(), c.Now(), "started again by a read")
		close(c.wake)
		time.Sleep(3 * memoClockTick) // lets it stop and return
	})
}
