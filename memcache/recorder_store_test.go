package memcache_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// binder is a StoreRecorder that keeps the infos it was prepared for and
// hands each store a recorder of its own.
type binder struct {
	mu     sync.Mutex
	infos  []memcache.StoreInfo
	stores map[string]*events
}

func (b *binder) ForStore(info memcache.StoreInfo) memcache.Recorder {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.infos = append(b.infos, info)
	if info.Name == "unprepared" {
		return nil
	}
	r := new(events)
	b.stores[info.Name] = r
	return r
}

func (b *binder) StartCall(ctx context.Context, c memcache.Call) context.Context {
	b.stores["unbound:"+c.Name] = nil
	return ctx
}
func (b *binder) Record(context.Context, memcache.Event)                       {}
func (b *binder) EndCall(context.Context, memcache.Call, time.Duration, error) {}

// TestStoreRecorderIsPreparedOncePerStore: a StoreRecorder is asked once
// per store, with the store's info, and the store tells what it returned
// (the recorder itself if that is nil), also within Recorders.
func TestStoreRecorderIsPreparedOncePerStore(t *testing.T) {
	ctx := context.Background()
	be := memcache.NewEmbedded(memcache.EmbeddedConfig{})
	b := &binder{stores: map[string]*events{}}
	other := new(events)
	users := newStore[string](t, be, memcache.WithName("users"), memcache.WithNamespace("u", "1"), memcache.WithCodec(plainJSON{}), memcache.WithRecorder(memcache.Recorders(b, other)))
	pages := newStore[string](t, be, memcache.WithName("pages"), memcache.WithRecorder(b))
	odd := newStore[string](t, be, memcache.WithName("unprepared"), memcache.WithRecorder(b))
	for range 3 {
		require.NoError(t, users.Set(ctx, "alice", "Alice"))
		_, err := users.Get(ctx, "alice")
		require.NoError(t, err)
	}
	_, err := pages.Get(ctx, "home")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
	_, err = odd.Get(ctx, "x")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)

	assert.Equal(t, []memcache.StoreInfo{
		{Name: "users", Namespace: "u", Codec: "plain-json"},
		{Name: "pages", Codec: "json"},
		{Name: "unprepared", Codec: "json"},
	}, b.infos, "once per store, before any call")
	kinds, calls := b.stores["users"].take()
	assert.Equal(t, []string{"set:write", "get:hit", "set:write", "get:hit", "set:write", "get:hit"}, kinds)
	assert.Equal(t, []string{"set", "get", "set", "get", "set", "get"}, calls)
	otherKinds, _ := other.take()
	assert.Equal(t, kinds, otherKinds, "Recorders tells the others as before")
	kinds, calls = b.stores["pages"].take()
	assert.Equal(t, []string{"get:miss"}, kinds)
	assert.Equal(t, []string{"get"}, calls)
	_, unbound := b.stores["unbound:unprepared"]
	assert.True(t, unbound, "a nil ForStore leaves the recorder itself")
	_, unbound = b.stores["unbound:users"]
	assert.False(t, unbound)
}
