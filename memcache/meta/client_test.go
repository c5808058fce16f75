package meta_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/memcache/meta"
)

// servers starts n memcached servers and returns their addresses.
func servers(t *testing.T, n int, opts ...memcachetest.Options) ([]*memcachetest.Server, []string) {
	t.Helper()
	var srvs []*memcachetest.Server
	var addrs []string
	for range n {
		s := memcachetest.NewServer(t, opts...)
		srvs = append(srvs, s)
		addrs = append(addrs, s.Addr)
	}
	return srvs, addrs
}

func newMeta(t *testing.T, cfg meta.Config) *meta.Client {
	t.Helper()
	c, err := meta.NewClient(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func newGomemcache(t *testing.T, cfg memcache.ClientConfig) *memcache.Client {
	t.Helper()
	c, err := memcache.NewClient(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// everyKeyByte is a set of keys that together hold every byte memcached's
// text protocol allows in a key, 0x21 to 0xff but 0x7f.
func everyKeyByte() []string {
	var keys []string
	var b []byte
	for c := 0x21; c <= 0xff; c++ {
		if c == 0x7f {
			continue
		}
		b = append(b, byte(c))
		if len(b) == 40 {
			keys = append(keys, "k"+string(b))
			b = nil
		}
	}
	keys = append(keys, "k"+string(b), strings.Repeat("z", memcache.MaxKeyLen), "\xff", "=", "b", "mn")
	return keys
}

// TestSharesCacheWithGomemcacheClient writes with each client and reads
// with the other, on three servers, for keys holding every legal key byte:
// same keys, same flags, same server per key, so a user can switch clients
// without a flush.
func TestSharesCacheWithGomemcacheClient(t *testing.T) {
	t.Parallel()
	_, addrs := servers(t, 3)
	ctx := context.Background()
	selectors := map[string]func() (meta.Config, memcache.ClientConfig){
		"default": func() (meta.Config, memcache.ClientConfig) {
			return meta.Config{Servers: addrs}, memcache.ClientConfig{Servers: addrs}
		},
		"ketama": func() (meta.Config, memcache.ClientConfig) {
			sel, err := ketama.New(ketama.Config{Servers: ketama.Servers(addrs...)})
			require.NoError(t, err)
			return meta.Config{Selector: sel}, memcache.ClientConfig{Selector: sel}
		},
	}
	for name, cfgs := range selectors {
		t.Run(name, func(t *testing.T) {
			mcfg, gcfg := cfgs()
			mc, gc := newMeta(t, mcfg), newGomemcache(t, gcfg)
			keys := everyKeyByte()
			for i := range 30 {
				keys = append(keys, fmt.Sprintf("%s/spread-%d", name, i))
			}
			for dir, pair := range map[string][2]memcache.Backend{"gomemcache to meta": {gc, mc}, "meta to gomemcache": {mc, gc}} {
				w, r := pair[0], pair[1]
				for i, k := range keys {
					k = (name + dir[:1] + k)[:min(len(name)+1+len(k), memcache.MaxKeyLen)]
					v := []byte(fmt.Sprintf("%s=%d\r\nEND\r\n", k, i))
					flags := uint32(i) * 0x01010101
					require.NoError(t, w.Set(ctx, &memcache.Item{Key: k, Value: v, Flags: flags}), "%s set %q", dir, k)
					it, err := r.Get(ctx, k)
					require.NoError(t, err, "%s get %q", dir, k)
					assert.Equal(t, v, it.Value, "%s %q", dir, k)
					assert.Equal(t, flags, it.Flags, "%s %q", dir, k)
					m, err := r.GetMulti(ctx, []string{k})
					require.NoError(t, err)
					require.Contains(t, m, k)
					assert.Equal(t, it.CAS, m[k].CAS, "both read the same CAS token")
					// A CAS token read by one client works with the other.
					it.Value = []byte("swapped")
					require.NoError(t, w.CompareAndSwap(ctx, it), "%s cas %q", dir, k)
					require.NoError(t, r.Delete(ctx, k))
					_, err = w.Get(ctx, k)
					require.ErrorIs(t, err, memcache.ErrCacheMiss)
				}
			}
		})
	}
}

func TestGetMultiSetMultiDeleteMulti(t *testing.T) {
	t.Parallel()
	_, addrs := servers(t, 3)
	ctx := context.Background()
	c := newMeta(t, meta.Config{Servers: addrs})
	var items []*memcache.Item
	var keys []string
	for i := range 300 { // several pipelines above inlineBatch per server
		k := fmt.Sprintf("multi/%d", i)
		keys = append(keys, k)
		items = append(items, &memcache.Item{Key: k, Value: []byte(k + strings.Repeat("!", i)), Flags: uint32(i)})
	}
	big := &memcache.Item{Key: "multi/big", Value: make([]byte, memcache.DefaultItemSizeMax)}
	withBad := append(append(append([]*memcache.Item{}, items[:150]...), big, nil, &memcache.Item{Key: "bad key"}), items[150:]...)
	errs := c.SetMulti(ctx, withBad)
	require.Len(t, errs, len(withBad))
	for i, err := range errs {
		switch i {
		case 150:
			assert.ErrorIs(t, err, memcache.ErrTooLarge)
		case 151:
			var oe *memcache.OpError
			assert.ErrorAs(t, err, &oe)
		case 152:
			assert.ErrorIs(t, err, memcache.ErrMalformedKey)
		default:
			assert.NoError(t, err, "item %d", i)
		}
	}
	m, err := c.GetMulti(ctx, append(append([]string{"multi/missing"}, keys...), keys[:10]...))
	require.NoError(t, err)
	require.Len(t, m, len(items))
	for _, it := range items {
		got := m[it.Key]
		require.NotNil(t, got, it.Key)
		assert.Equal(t, it.Value, got.Value)
		assert.Equal(t, it.Flags, got.Flags)
		assert.Equal(t, it.Key, got.Key)
	}
	assert.Nil(t, c.SetMulti(ctx, items), "all stored: nil")

	errs = c.DeleteMulti(ctx, append([]string{"multi/missing"}, keys...))
	require.Len(t, errs, len(keys)+1)
	assert.ErrorIs(t, errs[0], memcache.ErrCacheMiss)
	for _, err := range errs[1:] {
		assert.NoError(t, err)
	}
	m, err = c.GetMulti(ctx, keys)
	require.NoError(t, err)
	assert.Empty(t, m)
}

// TestLeases checks the lease, stale and early-refresh primitives the Store
// builds on against memcached's own behaviour.
func TestLeases(t *testing.T) {
	t.Parallel()
	_, addrs := servers(t, 1)
	ctx := context.Background()
	a, b := newMeta(t, meta.Config{Servers: addrs}), newMeta(t, meta.Config{Servers: addrs})
	const k = "lease"

	_, err := a.GetLease(ctx, k, meta.LeaseOptions{})
	require.ErrorIs(t, err, memcache.ErrCacheMiss, "no lease asked: a plain miss")

	l, err := a.GetLease(ctx, k, meta.LeaseOptions{LeaseTTL: 30})
	require.NoError(t, err)
	assert.Equal(t, meta.Lease{TTL: l.TTL, CAS: l.CAS, Won: true}, l, "the first caller wins the lease")
	placeholder := l.CAS
	assert.NotZero(t, placeholder)
	for _, c := range []*meta.Client{a, b} {
		l, err = c.GetLease(ctx, k, meta.LeaseOptions{LeaseTTL: 30})
		require.NoError(t, err)
		assert.True(t, l.Pending)
		assert.False(t, l.Won)
		assert.Nil(t, l.Item, "a placeholder is no value")
	}

	// The winner stores under the placeholder's token; a stale token does
	// not store, nor release.
	require.ErrorIs(t, a.CompareAndSwap(ctx, &memcache.Item{Key: k, Value: []byte("late"), CAS: placeholder + 1}), memcache.ErrCASConflict)
	require.ErrorIs(t, a.ReleaseLease(ctx, k, placeholder+1), memcache.ErrCASConflict)
	require.NoError(t, a.CompareAndSwap(ctx, &memcache.Item{Key: k, Value: []byte("v1"), Flags: 1, Expiration: 60, CAS: placeholder}))
	require.ErrorIs(t, a.ReleaseLease(ctx, k, placeholder), memcache.ErrCASConflict, "a stored value is never released")
	l, err = b.GetLease(ctx, k, meta.LeaseOptions{LeaseTTL: 30})
	require.NoError(t, err)
	require.NotNil(t, l.Item)
	assert.Equal(t, []byte("v1"), l.Item.Value)
	assert.False(t, l.Won || l.Pending || l.Stale)
	assert.InDelta(t, 60, l.TTL, 2)

	require.NoError(t, a.Invalidate(ctx, k, 30))
	l, err = b.GetLease(ctx, k, meta.LeaseOptions{LeaseTTL: 30})
	require.NoError(t, err)
	require.NotNil(t, l.Item, "a stale value is still served")
	assert.Equal(t, []byte("v1"), l.Item.Value)
	assert.True(t, l.Stale && l.Won, "%+v", l)
	l, err = a.GetLease(ctx, k, meta.LeaseOptions{LeaseTTL: 30})
	require.NoError(t, err)
	assert.True(t, l.Stale && l.Pending && !l.Won, "%+v", l)
	require.ErrorIs(t, a.Invalidate(ctx, "lease/missing", 30), memcache.ErrCacheMiss)

	require.NoError(t, b.Set(ctx, &memcache.Item{Key: k, Value: []byte("v2"), Flags: 1, Expiration: 60}))
	l, err = a.GetLease(ctx, k, meta.LeaseOptions{RefreshBelow: 100})
	require.NoError(t, err)
	assert.True(t, l.Won && !l.Stale, "less than 100 s left: early refresh won, %+v", l)
	assert.Equal(t, []byte("v2"), l.Item.Value)
	l, err = b.GetLease(ctx, k, meta.LeaseOptions{RefreshBelow: 100})
	require.NoError(t, err)
	assert.True(t, l.Pending && !l.Won, "%+v", l)
	assert.Equal(t, []byte("v2"), l.Item.Value, "everyone gets the current value meanwhile")
}

// TestReleaseLease hands a lease on at once when its winner gives up.
func TestReleaseLease(t *testing.T) {
	t.Parallel()
	_, addrs := servers(t, 1)
	ctx := context.Background()
	c := newMeta(t, meta.Config{Servers: addrs})
	lease := meta.LeaseOptions{LeaseTTL: 300}
	won, err := c.GetLease(ctx, "release", lease)
	require.NoError(t, err)
	require.True(t, won.Won)
	l, err := c.GetLease(ctx, "release", lease)
	require.NoError(t, err)
	require.True(t, l.Pending)
	require.NoError(t, c.ReleaseLease(ctx, "release", won.CAS))
	l, err = c.GetLease(ctx, "release", lease)
	require.NoError(t, err)
	assert.True(t, l.Won, "the next caller wins without waiting 300 s")
	require.ErrorIs(t, c.ReleaseLease(ctx, "release/missing", 1), memcache.ErrCacheMiss)
}

func TestIncrementDecrement(t *testing.T) {
	t.Parallel()
	_, addrs := servers(t, 1)
	ctx := context.Background()
	c := newMeta(t, meta.Config{Servers: addrs})
	_, err := c.Increment(ctx, "n", 1)
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
	require.NoError(t, c.Set(ctx, &memcache.Item{Key: "n", Value: []byte("41")}))
	n, err := c.Increment(ctx, "n", 1)
	require.NoError(t, err)
	assert.Equal(t, uint64(42), n)
	n, err = c.Decrement(ctx, "n", 100)
	require.NoError(t, err)
	assert.Equal(t, uint64(0), n, "memcached stops at zero")
	require.NoError(t, c.Set(ctx, &memcache.Item{Key: "n", Value: []byte("x")}))
	_, err = c.Increment(ctx, "n", 1)
	var se *meta.ServerError
	require.ErrorAs(t, err, &se, "a non-number is memcached's CLIENT_ERROR")
	// The connection that saw it was closed; the next call works.
	require.NoError(t, c.Set(ctx, &memcache.Item{Key: "n", Value: []byte("1")}))
}

func TestConfigDefaultsAndErrors(t *testing.T) {
	t.Parallel()
	_, err := meta.NewClient(meta.Config{})
	require.ErrorIs(t, err, memcache.ErrNoServers)
	_, err = meta.NewClient(meta.Config{Servers: []string{"no-port"}})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "meta: "), err.Error())

	// A server nobody listens on: a network error, reported as such.
	c := newMeta(t, meta.Config{Servers: []string{"127.0.0.1:1"}, Timeout: time.Second})
	_, err = c.Get(context.Background(), "k")
	var oe *memcache.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "get", oe.Op)
	assert.False(t, memcache.IsCacheOutcome(err))
	assert.Equal(t, meta.PoolStats{}, c.PoolStats()["127.0.0.1:1"], "a failed dial holds no slot")
}

// TestGetMultiReportsFailedServer keeps the items of live servers when one
// is down.
func TestGetMultiReportsFailedServer(t *testing.T) {
	t.Parallel()
	srvs, addrs := servers(t, 3)
	ctx := context.Background()
	c := newMeta(t, meta.Config{Servers: addrs, Timeout: 2 * time.Second})
	var keys []string
	for i := range 60 {
		k := fmt.Sprintf("down/%d", i)
		keys = append(keys, k)
		require.NoError(t, c.Set(ctx, &memcache.Item{Key: k, Value: []byte(k)}))
	}
	require.NoError(t, srvs[1].Kill())
	m, err := c.GetMulti(ctx, keys)
	require.Error(t, err)
	assert.Contains(t, err.Error(), srvs[1].Addr)
	assert.NotContains(t, err.Error(), srvs[0].Addr)
	assert.Greater(t, len(m), 10)
	assert.Less(t, len(m), 60)
	for k, it := range m {
		assert.True(t, bytes.Equal([]byte(k), it.Value))
	}
}

// unhashableAddr is a net.Addr that cannot be a map key.
type unhashableAddr struct{ hostPort []string }

func (a unhashableAddr) Network() string { return "tcp" }
func (a unhashableAddr) String() string  { return a.hostPort[0] }

// freshAddrSelector returns a new, unhashable address value on every pick,
// as a selector is free to.
type freshAddrSelector struct{ addr string }

func (s freshAddrSelector) PickServer(string) (net.Addr, error) {
	return unhashableAddr{[]string{s.addr}}, nil
}

func (s freshAddrSelector) Each(f func(net.Addr) error) error {
	return f(unhashableAddr{[]string{s.addr}})
}

func TestSelectorWithUnhashableAddresses(t *testing.T) {
	t.Parallel()
	_, addrs := servers(t, 1)
	c := newMeta(t, meta.Config{Selector: freshAddrSelector{addrs[0]}})
	ctx := context.Background()
	for range 3 {
		require.NoError(t, c.Set(ctx, &memcache.Item{Key: "k", Value: []byte("v")}))
		it, err := c.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, []byte("v"), it.Value)
	}
	n, err := c.ItemSizeMax(ctx)
	require.NoError(t, err)
	assert.Equal(t, memcache.DefaultItemSizeMax, n)
	assert.Len(t, c.PoolStats(), 1, "one pool for the one server")
}

// TestBigPipelines sends batches whose requests and replies both exceed
// the socket buffers, on one server: the pipeline must neither stall nor
// lose an item.
func TestBigPipelines(t *testing.T) {
	t.Parallel()
	_, addrs := servers(t, 1, memcachetest.Options{MemoryMB: 256})
	c := newMeta(t, meta.Config{Servers: addrs, Timeout: 20 * time.Second})
	ctx := context.Background()
	var items []*memcache.Item
	var keys []string
	// 30,000 mg requests make about 1.5 MB, their replies 18 MB.
	for i := range 30_000 {
		k := fmt.Sprintf("big-pipeline/%d", i)
		keys = append(keys, k)
		items = append(items, &memcache.Item{Key: k, Value: selfValue(k, i, 512)})
	}
	require.Nil(t, c.SetMulti(ctx, items))
	m, err := c.GetMulti(ctx, keys)
	require.NoError(t, err)
	require.Len(t, m, len(keys))
	for k, it := range m {
		require.Empty(t, checkValue(k, it.Value), k)
	}
	require.Nil(t, c.DeleteMulti(ctx, keys))
}
