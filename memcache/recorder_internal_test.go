package memcache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestObserverWithoutRecorderAllocatesNothing: what a Store call does for
// its recorder costs no allocation when there is none, on success and on
// a miss.
func TestObserverWithoutRecorderAllocatesNothing(t *testing.T) {
	keys, err := newKeyMapper("users", "v1")
	require.NoError(t, err)
	o := newObserver(nil, StoreInfo{Name: "users", Namespace: "users", Codec: "json"}, keys)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		ctx, cl := o.begin(ctx, OpGet, "alice", 1)
		o.outcome(ctx, nil)
		o.outcome(ctx, ErrCacheMiss)
		o.joined(ctx, o.newLoadLead())
		o.loaded(ctx, o.startLoad(), nil)
		cl.end(ctx, nil)
		cl.end(ctx, ErrCacheMiss)
	})
	assert.Zero(t, allocs)
}

// recording is a Recorder that keeps what it is told.
type recording struct {
	calls  []Call
	events []Event
	ends   []error
}

type ctxKey struct{}

func (r *recording) StartCall(ctx context.Context, c Call) context.Context {
	r.calls = append(r.calls, c)
	return context.WithValue(ctx, ctxKey{}, len(r.calls))
}

func (r *recording) Record(ctx context.Context, e Event) {
	r.events = append(r.events, e)
}

func (r *recording) EndCall(ctx context.Context, c Call, took time.Duration, err error) {
	if ctx.Value(ctxKey{}) != len(r.calls) {
		panic("EndCall without StartCall's context")
	}
	r.ends = append(r.ends, err)
}

func TestObserverTellsTheRecorder(t *testing.T) {
	keys, err := newKeyMapper("users", "v1")
	require.NoError(t, err)
	rec := new(recording)
	info := StoreInfo{Name: "users", Namespace: "users", Codec: "json"}
	o := newObserver(rec, info, keys)
	assert.Nil(t, o.log, "a recorder replaces the failure log")
	ctx, cl := o.begin(context.Background(), OpGet, "alice", 1)
	o.outcome(ctx, nil)
	cl.end(ctx, nil)
	require.Len(t, rec.calls, 1)
	assert.Equal(t, Call{StoreInfo: info, Op: OpGet, Key: "users:v1:alice", Keys: 1}, rec.calls[0])
	assert.Equal(t, []Event{{Kind: EventHit, StoreInfo: info, Op: OpGet, Count: 1}}, rec.events)
	assert.Equal(t, []error{nil}, rec.ends)
}

func TestRecordersTellsEachInTurn(t *testing.T) {
	a, b := new(recording), new(recording)
	assert.Same(t, a, Recorders(nil, a, nil), "one recorder needs no wrapper")
	assert.Nil(t, Recorders(nil, nil), "no recorder at all: the store keeps its failure log")
	r := Recorders(a, b)
	c := Call{Op: OpSet}
	ctx := r.StartCall(context.Background(), c)
	r.Record(ctx, Event{Kind: EventWrite})
	boom := errors.New("boom")
	// b's context wraps a's, so b's EndCall check holds; a's sees b's
	// value, which is its own count too.
	r.EndCall(ctx, c, time.Millisecond, boom)
	for _, x := range []*recording{a, b} {
		assert.Len(t, x.calls, 1)
		assert.Len(t, x.events, 1)
		assert.Equal(t, []error{boom}, x.ends)
	}
}
