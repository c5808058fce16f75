package promcache_test

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache"
)

// script makes the calls of a small workload through rec.
func script(rec memcache.Recorder) {
	down := &memcache.OpError{Op: "get", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	call(rec, memcache.OpGet, 2*time.Millisecond, nil, memcache.Event{Kind: memcache.EventHit, Count: 1})
	call(rec, memcache.OpGet, 3*time.Millisecond, memcache.ErrCacheMiss, memcache.Event{Kind: memcache.EventMiss, Count: 1})
	call(rec, memcache.OpGet, time.Millisecond, down)
	call(rec, memcache.OpGetMulti, time.Millisecond, nil, memcache.Event{Kind: memcache.EventHit, Count: 3}, memcache.Event{Kind: memcache.EventChunkedRead, Count: 4})
	call(rec, memcache.OpSet, 4*time.Millisecond, nil, memcache.Event{Kind: memcache.EventWrite, Size: 300, Count: 1})
	call(rec, memcache.OpSet, 0, &memcache.TooLargeError{Key: "k", Size: 2 << 20, Limit: 1 << 20},
		memcache.Event{Kind: memcache.EventTooLarge, Size: 2 << 20, Count: 1})
	call(rec, memcache.OpGetOrLoad, 5*time.Millisecond, nil, memcache.Event{Kind: memcache.EventMiss, Count: 1},
		memcache.Event{Kind: memcache.EventLoad, Duration: 4 * time.Millisecond, Count: 1}, memcache.Event{Kind: memcache.EventFailOpen, Err: down, Count: 1})
	call(rec, memcache.OpGet, time.Millisecond, nil, memcache.Event{Kind: memcache.EventServerDown, Server: "10.0.0.1:11211", Count: 1})
}

func exposition(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var buf bytes.Buffer
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&buf, mf)
		require.NoError(t, err)
	}
	return buf.String()
}

// TestForStoreCountsAsTheRecorderDoes: a store's recorder (ForStore)
// exports exactly what the Recorder itself does for the same calls, no
// series more (none at 0 before its first use), no series less.
func TestForStoreCountsAsTheRecorderDoes(t *testing.T) {
	direct, regDirect := newRecorder(t)
	script(direct)
	bound, regBound := newRecorder(t)
	script(bound.ForStore(info))
	want := exposition(t, regDirect)
	assert.Contains(t, want, `event="chunked_read"`)
	assert.Equal(t, want, exposition(t, regBound))
}

// TestGetThroughForStoreAllocatesNothing: counting a Get that hits, as a
// Store does through ForStore's recorder, allocates nothing.
func TestGetThroughForStoreAllocatesNothing(t *testing.T) {
	r, _ := newRecorder(t)
	rec := r.ForStore(info)
	hit := memcache.Event{Kind: memcache.EventHit, Count: 1}
	call(rec, memcache.OpGet, time.Millisecond, nil, hit)
	assert.Zero(t, testing.AllocsPerRun(200, func() { call(rec, memcache.OpGet, time.Millisecond, nil, hit) }))
}
