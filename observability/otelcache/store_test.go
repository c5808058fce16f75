package otelcache_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/ketama"
	"github.com/leancache/leancache/memcache/memcachetest"
	"github.com/leancache/leancache/observability/otelcache"
)

type user struct {
	Name string `json:"name"`
}

// newStore returns a store over a real memcached, recording to h, and
// the server.
func newStore(t *testing.T, storeOpts ...memcache.Option) (*memcache.Store[*user], *harness, *memcachetest.Server, *memcache.Client) {
	t.Helper()
	mc := memcachetest.NewServer(t)
	sel, err := ketama.New(ketama.Config{Servers: ketama.Servers(mc.Addr), FailureThreshold: -1})
	require.NoError(t, err)
	h := newHarness(t, otelcache.WithServerPicker(sel.PickServer))
	client, err := memcache.NewClient(memcache.ClientConfig{Selector: sel, Timeout: time.Second})
	require.NoError(t, err)
	opts := append([]memcache.Option{memcache.WithName("users"), memcache.WithNamespace("users", "v1"), memcache.WithRecorder(h.rec)}, storeOpts...)
	store, err := memcache.NewStore[*user](client, opts...)
	require.NoError(t, err)
	return store, h, mc, client
}

// spanSummary is what a test checks of a span: its name, its events'
// names, its status and its parent's name.
type spanSummary struct {
	Name   string
	Events []string
	Status codes.Code
	Parent string
}

func summarize(spans tracetest.SpanStubs) []spanSummary {
	byID := map[string]string{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID().String()] = s.Name
	}
	out := make([]spanSummary, len(spans))
	for i, s := range spans {
		out[i] = spanSummary{Name: s.Name, Status: s.Status.Code}
		if s.Parent.IsValid() {
			out[i].Parent = byID[s.Parent.SpanID().String()]
		}
		for _, e := range s.Events {
			out[i].Events = append(out[i].Events, e.Name)
		}
	}
	return out
}

// durations returns the count of db.client.operation.duration points by
// operation and error.type ("" for none).
func durations(t *testing.T, h *harness) map[[2]string]uint64 {
	t.Helper()
	out := map[[2]string]uint64{}
	hist := h.collect(t)[otelcache.OperationDuration].(metricdata.Histogram[float64])
	for _, dp := range hist.DataPoints {
		assert.Equal(t, "memcached", attrValue(dp.Attributes, "db.system.name"))
		assert.Equal(t, "users", attrValue(dp.Attributes, otelcache.StoreKey))
		assert.Greater(t, dp.Sum, 0.0, "a real round trip takes time")
		out[[2]string{attrValue(dp.Attributes, "db.operation.name"), attrValue(dp.Attributes, "error.type")}] += dp.Count
	}
	return out
}

func TestScriptedWorkloadAgainstMemcached(t *testing.T) {
	store, h, mc, _ := newStore(t)
	ctx := context.Background()

	_, err := store.Get(ctx, "alice")
	require.ErrorIs(t, err, memcache.ErrCacheMiss)
	require.NoError(t, store.Set(ctx, "alice", &user{Name: "Alice"}))
	_, err = store.Get(ctx, "alice")
	require.NoError(t, err)
	got, err := store.GetMulti(ctx, []string{"alice", "bob"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.NoError(t, store.Delete(ctx, "alice"))
	loads := 0
	u, err := store.GetOrLoad(ctx, "carol", func(context.Context) (*user, error) { loads++; return &user{Name: "Carol"}, nil })
	require.NoError(t, err)
	require.Equal(t, "Carol", u.Name)
	require.Equal(t, 1, loads)

	assert.Equal(t, []spanSummary{
		{Name: "get", Events: []string{"miss"}},
		{Name: "set", Events: []string{"write"}},
		{Name: "get", Events: []string{"hit"}},
		{Name: "getmulti", Events: []string{"miss", "hit"}},
		{Name: "delete"},
		{Name: "set", Events: []string{"write"}, Parent: "getorload"},
		{Name: "getorload", Events: []string{"miss", "load"}},
	}, summarize(h.spans.GetSpans()))
	for _, s := range h.spans.GetSpans() {
		set := attribute.NewSet(s.Attributes...)
		if s.Name != "getmulti" {
			assert.Equal(t, "127.0.0.1", attrValue(set, "server.address"), s.Name)
		}
		for _, kv := range s.Attributes {
			assert.NotContains(t, kv.Value.String(), "alice", "no key in clear")
		}
	}
	assert.Equal(t, map[[2]string]uint64{
		{"get", ""}: 2, {"set", ""}: 2, {"getmulti", ""}: 1, {"delete", ""}: 1, {"getorload", ""}: 1,
	}, durations(t, h))
	assert.Equal(t, map[string]int64{"hit": 2, "miss": 3, "write": 2, "load": 1}, eventCounts(t, h))

	// A killed server: reads fail, GetOrLoad answers from its loader.
	h.spans.Reset()
	require.NoError(t, mc.Kill())
	_, err = store.Get(ctx, "alice")
	require.Error(t, err)
	u, err = store.GetOrLoad(ctx, "dave", func(context.Context) (*user, error) { return &user{Name: "Dave"}, nil })
	require.NoError(t, err, "fails open")
	require.Equal(t, "Dave", u.Name)
	assert.Equal(t, []spanSummary{
		{Name: "get", Status: codes.Error},
		{Name: "getorload", Events: []string{"fail_open", "load"}},
	}, summarize(h.spans.GetSpans()))
	d := durations(t, h)
	assert.Equal(t, uint64(1), d[[2]string{"get", memcache.ReasonNetworkError}], "%v", d)
	assert.Equal(t, uint64(2), d[[2]string{"getorload", ""}])
	assert.Equal(t, int64(1), eventCounts(t, h)["fail_open"])
}

func eventCounts(t *testing.T, h *harness) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, dp := range h.collect(t)[otelcache.EventCount].(metricdata.Sum[int64]).DataPoints {
		out[attrValue(dp.Attributes, otelcache.EventKey)] += dp.Value
	}
	return out
}

func TestDecodeErrorAndTooLargeAreEvents(t *testing.T) {
	store, h, _, client := newStore(t, memcache.WithoutFingerprint())
	ctx := context.Background()
	big := &user{Name: string(make([]byte, 2<<20))}
	err := store.Set(ctx, "big", big)
	var tl *memcache.TooLargeError
	require.True(t, errors.As(err, &tl), "%v", err)

	// A string where a user is expected: it will not decode.
	strings, err := memcache.NewStore[string](client, memcache.WithNamespace("users", "v1"), memcache.WithoutFingerprint())
	require.NoError(t, err)
	require.NoError(t, strings.Set(ctx, "odd", "not a user"))
	_, err = store.Get(ctx, "odd")
	var de *memcache.DecodeError
	require.True(t, errors.As(err, &de), "%v", err)

	spans := h.spans.GetSpans()
	require.Equal(t, []spanSummary{
		{Name: "set", Events: []string{"too_large"}, Status: codes.Error},
		{Name: "get", Events: []string{"decode_error"}, Status: codes.Error},
	}, summarize(spans))
	sizeSet := attribute.NewSet(spans[0].Events[0].Attributes...)
	assert.Equal(t, strconv.Itoa(tl.Size), attrValue(sizeSet, otelcache.SizeKey))
	errSet := attribute.NewSet(spans[1].Events[0].Attributes...)
	assert.Equal(t, memcache.ReasonDecode, attrValue(errSet, "error.type"))
}
