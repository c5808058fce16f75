package memcache

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nopRecorder is told everything and does nothing.
type nopRecorder struct{}

func (nopRecorder) StartCall(ctx context.Context, _ Call) context.Context { return ctx }
func (nopRecorder) Record(context.Context, Event)                         {}
func (nopRecorder) EndCall(context.Context, Call, time.Duration, error)   {}

// TestObserverOfAHitAllocatesOnlyTheCallsContext: telling a recorder of a
// Get that hits costs the context that carries the call's operation to
// its events (the context and the operation in it), and nothing for the
// hit itself.
func TestObserverOfAHitAllocatesOnlyTheCallsContext(t *testing.T) {
	keys, err := newKeyMapper("", "")
	require.NoError(t, err)
	o := newObserver(nopRecorder{}, StoreInfo{Name: "users", Codec: "json"}, keys)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		ctx, cl := o.begin(ctx, OpGet, "alice", 1)
		o.outcome(ctx, nil)
		cl.end(ctx, nil)
	})
	assert.LessOrEqual(t, allocs, 2.0)
}
