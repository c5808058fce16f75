package memcache_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// A lifetime beyond 2038 cannot be said in memcached's int32 expiration: it
// must be capped there, not wrap into the past and expire at once.
func TestStoreExpirationBeyond2038(t *testing.T) {
	backends(t, func(t *testing.T, b memcache.Backend) {
		ctx := context.Background()
		const twentyYears = 20 * 365 * 24 * time.Hour
		for _, opts := range [][]memcache.Option{
			{memcache.WithExpiration(twentyYears)},
			{memcache.WithExpiration(twentyYears), memcache.WithChunking()},
		} {
			s := newStore[[]byte](t, b, append(opts, memcache.WithCodec(rawBytes{}), memcache.WithItemSizeMax(64<<10))...)
			for _, v := range [][]byte{[]byte("small"), bytes.Repeat([]byte("x"), 200<<10)} {
				if len(v) > 64<<10 && len(opts) == 1 {
					continue // too large without chunking
				}
				require.NoError(t, s.Set(ctx, "k", v))
				got, err := s.Get(ctx, "k")
				require.NoError(t, err, "a value set for 20 years is there at once (%d bytes)", len(v))
				assert.Equal(t, v, got)

				require.NoError(t, s.Touch(ctx, "k", twentyYears))
				got, err = s.Get(ctx, "k")
				require.NoError(t, err, "a value touched for 20 years is there at once (%d bytes)", len(v))
				assert.Equal(t, v, got)
			}
		}
	})
}

func TestExpiration(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 250_000_000, time.UTC)
	last := time.Unix(math.MaxInt32, 0)
	for _, tc := range []struct {
		d    time.Duration
		want int32
	}{
		{0, 0},
		{-time.Nanosecond, -1},
		{-time.Hour, -1},
		{time.Nanosecond, 1},
		{1500 * time.Millisecond, 2},
		{time.Hour, 3600},
		{30 * 24 * time.Hour, 2592000},
		{30*24*time.Hour + time.Nanosecond, int32(now.Add(30*24*time.Hour).Unix()) + 1},
		{40 * 24 * time.Hour, int32(now.Add(40*24*time.Hour).Unix()) + 1}, // now is not on a whole second
		{last.Sub(now) - time.Second, math.MaxInt32 - 1},
		{last.Sub(now) + time.Second, math.MaxInt32},
		{20 * 365 * 24 * time.Hour, math.MaxInt32},
		{math.MaxInt64, math.MaxInt32},
	} {
		assert.Equal(t, tc.want, memcache.Expiration(tc.d, now), "Expiration(%v)", tc.d)
	}
	// A whole-second now is not rounded up.
	whole := now.Truncate(time.Second)
	assert.Equal(t, int32(whole.Add(40*24*time.Hour).Unix()), memcache.Expiration(40*24*time.Hour, whole))
}

func ExampleExpiration() {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	fmt.Println(memcache.Expiration(0, now))                     // never
	fmt.Println(memcache.Expiration(1500*time.Millisecond, now)) // relative, rounded up
	fmt.Println(memcache.Expiration(40*24*time.Hour, now))       // absolute: 2027-01-10T12:00:00Z
	fmt.Println(memcache.Expiration(20*365*24*time.Hour, now))   // capped at 2038
	// Output:
	// 0
	// 2
	// 1799582400
	// 2147483647
}
