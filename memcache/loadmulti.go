package memcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/leancache/leancache/internal/flight"
)

// OpGetOrLoadMulti is the operation of a GetOrLoadMulti call as a Recorder
// sees it. Its reads are events of its own (hits, misses, a load); its
// writes go through SetMulti's path, within it.
const OpGetOrLoadMulti Op = "getorloadmulti"

// GetOrLoadMulti returns the values under keys, loading those that miss
// with one call of load: the batch form of GetOrLoad, for a page that
// shows fifty products and should cost one database query, not fifty.
//
// It reads every key in one multi-get. The keys that miss (no value, a
// lease placeholder, a value that will not decode, of another codec or
// schema fingerprint) are passed to one call of load, all of them and only
// them, in the order of keys, without duplicates. What load returns is
// stored, through SetMulti's path (one pipelined batch where the backend
// sends batches in one: memcache/meta's Client in a store without
// middleware), with the store's expiration or the TTL of opts, and
// returned. Values load returns for keys it was not asked for are
// ignored.
//
// A key load does not return does not exist: it is absent from the
// result, which is not an error (a load that returns ErrNotFound, wrapped
// or not, says the same of all its keys). With WithNegativeTTL its absence
// is stored as a negative entry, as GetOrLoad stores it, and until that
// expires the key is absent again without being loaded, here or in
// GetOrLoad (which returns ErrNotFound for it). So the result holds
// exactly the keys that have a value.
//
// Loads are shared as GetOrLoad shares them, key by key and with
// GetOrLoad's callers too: a key whose load is in flight, in a GetOrLoad
// call or in another GetOrLoadMulti, is not passed to load but waited
// for, and the others are claimed together for this call's load, which
// runs detached with the values but not the cancellation of ctx, within
// WithLoadTimeout's bound for the batch as a whole. A GetOrLoad caller that
// waits for a key of the batch that load did not return gets an error
// wrapping ErrNotFound. Before loading, the keys are read again only when
// some shared load of the store ended after the first read (one that may
// have stored them meanwhile), so a batch usually costs one multi-get
// (and, for each chunked value among the hits, the reads of its chunks).
//
// Across processes, over a backend with leases (a Leaser: memcache/meta's
// Client, the Embedded backend), each claimed key's lease is asked for
// first, as GetOrLoad does: the keys whose lease this call wins, with
// those whose read failed, go to the one call of load; a key that holds a
// value by then is read; a key another process is loading is waited for
// as GetOrLoad waits, and if the wait ends without a value (that process
// died, or the wait ran out) it is loaded, by a call of load for that key
// alone, since by then the batch has been loaded. A lease whose key load
// did not return, or whose load failed, is given up at once. Stale marks
// and early refresh stay GetOrLoad's: the multi-get serves a value marked
// stale (Invalidate) as GetMulti does, until it expires after the lease
// TTL, and WithRefreshAhead does not refresh what it reads.
//
// It returns the values found or loaded, and an error when some keys
// have neither a value nor a known absence: a *MultiError naming each such
// key with its error (load's error, unwrapped, for each key of a load that
// failed; ErrTimeout's error after WithLoadTimeout; a backend failure with
// WithFailClosed), with the values of the other keys. A malformed key is
// returned at once, before any I/O, and so is ctx.Err() when ctx ends. If
// load panics, every caller sharing one of its keys panics with a
// *cacheprop.PanicError, as in GetOrLoad.
//
// Backend failures are absorbed as GetOrLoad absorbs them (fail open, see
// GetOrLoad): when the multi-get fails the keys are loaded, returned and
// not stored, and the failure is reported once, with the first key; in a
// partial answer (a server down among several) the keys the backend did
// not answer for are loaded without being stored. WithFailClosed returns
// those keys' failure instead.
func (s *Store[T]) GetOrLoadMulti(ctx context.Context, keys []string, load func(ctx context.Context, keys []string) (map[string]T, error), opts ...CallOption) (_ map[string]T, err error) {
	ctx, cl := s.obs.begin(ctx, OpGetOrLoadMulti, "", len(keys))
	defer func() { cl.end(ctx, err) }()
	ctx = s.withCallOptions(ctx, opts)
	b, err := s.newBatch(keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]T, len(b.keys))
	if len(b.keys) == 0 {
		return out, nil
	}
	snapshot := s.loadsEnded.Load()
	if err := s.readBatch(ctx, b, b.all(), true); err != nil {
		return nil, err
	}
	failed := make(map[string]error)
	var toLoad []string
	for i, key := range b.keys {
		switch st := &b.slots[i]; st.state {
		case slotValue:
			out[key] = st.v
		case slotFailed:
			if !errors.Is(st.err, ErrNotFound) { // a remembered absence is no failure
				failed[key] = st.err
			}
		case slotLoad:
			toLoad = append(toLoad, key)
		}
	}
	if len(toLoad) == 0 {
		return out, newMultiError("getorloadmulti", failed)
	}
	lead := s.obs.newLoadLead()
	vals, errs := s.loads.DoMulti(ctx, toLoad, s.loadTimeout, func(ctx context.Context, claimed []string) ([]T, []error) {
		lead.ran()
		defer s.loadsEnded.Add(1)
		return s.loadBatch(ctx, b, claimed, snapshot, load)
	})
	s.obs.joined(ctx, lead)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for i, key := range toLoad {
		switch err := errs[i]; {
		case err == nil:
			out[key] = vals[i]
		case errors.Is(err, ErrNotFound):
		case errors.Is(err, flight.ErrTimeout), errors.Is(err, flight.ErrGoexit):
			failed[key] = fmt.Errorf("memcache: GetOrLoadMulti %s: %w", quoteKey(key), err)
		default:
			failed[key] = err
		}
	}
	return out, newMultiError("getorloadmulti", failed)
}

// A batch is the keys of one GetOrLoadMulti call, without duplicates, and
// what became of each.
type batch[T any] struct {
	keys  []string       // the caller's keys
	slots []slot[T]      // by index in keys
	index map[string]int // of each caller's key in keys
}

// A slot is one key of a batch.
type slot[T any] struct {
	k     string // the memcached key
	state slotState
	v     T
	err   error
	store bool // slotLoad: store what load returns (false: the read failed, the store fails open)
	// bad is the CAS token of the item the first read could not decode,
	// if any: read again unchanged, it is not decoded (nor reported) twice.
	bad uint64
}

type slotState uint8

const (
	slotLoad   slotState = iota // to load
	slotValue                   // v is the value
	slotFailed                  // err is the key's outcome: a failure, or a remembered absence
)

// newBatch maps keys to memcached keys, dropping duplicates; a malformed
// key is returned at once.
func (s *Store[T]) newBatch(keys []string) (*batch[T], error) {
	b := &batch[T]{index: make(map[string]int, len(keys))}
	for _, key := range keys {
		if _, dup := b.index[key]; dup {
			continue
		}
		k, err := s.keys.storeKey(key)
		if err != nil {
			return nil, err
		}
		b.index[key] = len(b.keys)
		b.keys = append(b.keys, key)
		b.slots = append(b.slots, slot[T]{k: k, store: true})
	}
	return b, nil
}

// all returns the indexes of every key of b.
func (b *batch[T]) all() []int {
	idx := make([]int, len(b.keys))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// readBatch reads the keys of b at idx in one multi-get and settles each
// slot: a value, a remembered absence, or a key to load (and whether to
// store it), by GetOrLoad's rules (see afterMiss). first says whether this
// is the call's first read, whose outcomes are recorded and whose total
// failure ends the call with WithFailClosed (readBatch returns it then).
// A later read that fails leaves its keys to load as they were.
func (s *Store[T]) readBatch(ctx context.Context, b *batch[T], idx []int, first bool) error {
	ks := make([]string, len(idx))
	for j, i := range idx {
		ks[j] = b.slots[i].k
	}
	resp, err := s.handler(ctx, &Request{Op: OpGetMulti, Keys: ks})
	items := resp.items()
	if err != nil && len(items) == 0 {
		if !first {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		store, err := s.afterMiss(ctx, b.keys[idx[0]], err)
		if err != nil {
			return err
		}
		for _, i := range idx {
			b.slots[i].store = store
		}
		return nil
	}
	if err != nil && first {
		// A partial answer: the keys not in it may be on the failing
		// server.
		s.report(ctx, b.keys[idx[0]], err)
	}
	misses := 0
	for _, i := range idx {
		st, key := &b.slots[i], b.keys[i]
		it := items[st.k]
		if it == nil || isPlaceholder(it) {
			switch {
			case err == nil:
				misses++
			case s.failClosed:
				st.state, st.err = slotFailed, err
			default:
				st.store = false
			}
			continue
		}
		if !first && st.bad != 0 && it.CAS == st.bad {
			continue
		}
		v, rerr := s.read(ctx, key, st.k, it)
		if first {
			s.obs.outcome(ctx, rerr)
			if rerr != nil {
				st.bad = it.CAS
			}
		}
		s.settle(ctx, key, st, v, rerr)
	}
	if misses > 0 && first {
		s.obs.record(ctx, Event{Kind: EventMiss, Count: misses})
	}
	return nil
}

// settle records in st the read of key that gave v or err.
func (s *Store[T]) settle(ctx context.Context, key string, st *slot[T], v T, err error) {
	if err == nil {
		st.state, st.v = slotValue, v
		return
	}
	store, err := s.afterMiss(ctx, key, err)
	if err != nil {
		st.state, st.err = slotFailed, err
		return
	}
	st.store = store
}

// loadBatch is the load of the keys a GetOrLoadMulti call claimed, run
// detached: it reads them again if a shared load ended since the first
// read (snapshot), takes their leases over a Leaser, calls load once with
// the keys still missing, stores its values (and negative entries), and
// returns one value and one error per claimed key.
func (s *Store[T]) loadBatch(ctx context.Context, b *batch[T], claimed []string, snapshot uint64, load func(context.Context, []string) (map[string]T, error)) ([]T, []error) {
	idx := make([]int, len(claimed))
	for j, key := range claimed {
		idx[j] = b.index[key]
	}
	l, leased := s.leaser()
	var (
		leases  map[int]uint64 // placeholder CAS tokens won, by slot
		waiting []int          // slots another process is loading
	)
	switch {
	case leased:
		leases, waiting = s.leaseBatch(ctx, l, b, idx)
	case s.loadsEnded.Load() != snapshot:
		var again []int
		for _, i := range idx {
			if b.slots[i].store {
				again = append(again, i)
			}
		}
		if len(again) > 0 {
			_ = s.readBatch(ctx, b, again, false)
		}
	}
	var wg sync.WaitGroup
	var panicked any
	var panicOnce sync.Once
	for _, i := range waiting {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					panicOnce.Do(func() { panicked = p })
				}
			}()
			st, key := &b.slots[i], b.keys[i]
			st.v, st.err = s.leasedLoad(ctx, l, key, nil, loadOne(key, load))
			st.state = slotFailed
			if st.err == nil {
				st.state = slotValue
			}
		})
	}
	waitingSet := make(map[int]bool, len(waiting))
	for _, i := range waiting {
		waitingSet[i] = true
	}
	var batchIdx []int
	for _, i := range idx {
		if b.slots[i].state == slotLoad && !waitingSet[i] {
			batchIdx = append(batchIdx, i)
		}
	}
	func() {
		defer wg.Wait() // a panic of load waits for the others too
		s.loadAndStoreBatch(ctx, l, b, batchIdx, leases, load)
	}()
	if panicked != nil {
		panic(panicked)
	}
	vals, errs := make([]T, len(idx)), make([]error, len(idx))
	for j, i := range idx {
		switch st := &b.slots[i]; st.state {
		case slotValue:
			vals[j] = st.v
		default:
			errs[j] = st.err
		}
	}
	return vals, errs
}

// leaseBatch asks for the lease of each key of b at idx, as GetOrLoad's
// shared load does (see leasedLoad): a key that holds a value is read, one
// whose lease this call wins is loaded under it (its placeholder's CAS
// token is returned, to give the lease up if the load does not store),
// and one another process is loading is returned among the waiting. The
// leases are asked for leaseAskers at a time over the network, since no
// Leaser batches them, and one after the other in process.
func (s *Store[T]) leaseBatch(ctx context.Context, l Leaser, b *batch[T], idx []int) (leases map[int]uint64, waiting []int) {
	opts := LeaseOptions{LeaseTTL: seconds(s.leaseTTL())}
	type asked struct {
		le  Lease
		err error
	}
	res := make([]asked, len(idx))
	ask := func(j int) {
		if st := &b.slots[idx[j]]; st.store { // else the backend failed its read: no lease, no write
			res[j].le, res[j].err = s.getLease(ctx, l, st.k, opts)
		}
	}
	if _, inProcess := l.(*Embedded); inProcess {
		for j := range idx {
			ask(j)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(leaseAskers, len(idx)) {
			wg.Go(func() {
				for j := int(next.Add(1) - 1); j < len(idx); j = int(next.Add(1) - 1) {
					ask(j)
				}
			})
		}
		wg.Wait()
	}
	leases = make(map[int]uint64)
	for j, i := range idx {
		st, key := &b.slots[i], b.keys[i]
		if !st.store {
			continue
		}
		switch le, err := res[j].le, res[j].err; {
		case err != nil:
			var zero T
			s.settle(ctx, key, st, zero, err)
		case le.Item != nil && !isPlaceholder(le.Item):
			if st.bad != 0 && le.Item.CAS == st.bad {
				continue // the value the first read could not decode: load over it
			}
			v, err := s.read(ctx, key, st.k, le.Item)
			s.settle(ctx, key, st, v, err)
		case le.Won:
			s.obs.record(ctx, Event{Kind: EventLeaseWon})
			leases[i] = le.CAS
		default:
			waiting = append(waiting, i)
		}
	}
	return leases, waiting
}

// leaseAskers is how many of a batch's leases are asked for at once over
// the network.
const leaseAskers = 8

// loadAndStoreBatch calls load once with the keys of b at idx, stores what
// it returns (values through SetMulti's path, and negative entries for the
// keys it does not return when the store caches absence) for the slots
// that store, and settles each slot. It gives up every lease of leases
// whose key it did not write, whatever happened (an error, a panic, a
// key load left out).
func (s *Store[T]) loadAndStoreBatch(ctx context.Context, l Leaser, b *batch[T], idx []int, leases map[int]uint64, load func(context.Context, []string) (map[string]T, error)) {
	written := make(map[int]bool, len(leases))
	defer func() {
		for i, cas := range leases {
			if written[i] {
				continue
			}
			if err := s.releaseLease(context.WithoutCancel(ctx), l, b.slots[i].k, cas); err != nil && !isCacheOutcome(err) {
				s.report(ctx, b.keys[i], err)
			}
		}
	}()
	if len(idx) == 0 {
		return
	}
	keys := make([]string, len(idx))
	for j, i := range idx {
		keys[j] = b.keys[i]
	}
	start := s.obs.startLoad()
	got, err := load(ctx, keys)
	s.obs.loaded(ctx, start, err)
	if errors.Is(err, ErrNotFound) {
		got, err = nil, nil // none of the keys exists
	}
	if err != nil {
		for _, i := range idx {
			b.slots[i].state, b.slots[i].err = slotFailed, err
		}
		return
	}
	values := make(map[string]T)
	var negatives []*Item
	var negOf []int
	for _, i := range idx {
		st, key := &b.slots[i], b.keys[i]
		v, ok := got[key]
		if !ok {
			st.state, st.err = slotFailed, notLoaded(key)
			if st.store && s.fresh.negativeTTL > 0 {
				negatives, negOf = append(negatives, s.negativeItem(st.k)), append(negOf, i)
			}
			continue
		}
		st.state, st.v = slotValue, v
		if st.store {
			values[key] = v
		}
	}
	if ctx.Err() != nil {
		// After the batch's deadline a fresh load may have stored these
		// keys: a late batch must not replace them (see loadAndStore).
		return
	}
	var me *MultiError
	if err := s.SetMulti(ctx, values, s.callOptions(ctx)...); !errors.As(err, &me) {
		me = &MultiError{} // nil: every value stored
	}
	for key := range values {
		i := b.index[key]
		if err := me.Errs[key]; err != nil {
			s.writeFailed(ctx, key, &b.slots[i], err)
			continue
		}
		written[i] = true
	}
	errs := s.setItems(ctx, negatives)
	for j, i := range negOf {
		if errs != nil && errs[j] != nil {
			s.writeFailed(ctx, b.keys[i], &b.slots[i], errs[j])
			continue
		}
		written[i] = true
	}
}

// writeFailed settles the slot of key, whose write failed with err, as
// GetOrLoad does: fail open, the value (or absence) stands and err goes to
// the error handler; fail closed, err is the key's outcome.
func (s *Store[T]) writeFailed(ctx context.Context, key string, st *slot[T], err error) {
	if s.failClosed {
		var zero T
		st.state, st.v, st.err = slotFailed, zero, err
		return
	}
	s.report(ctx, key, err)
}

// notLoaded is the outcome of a key that a batch load did not return.
func notLoaded(key string) error {
	return fmt.Errorf("memcache: GetOrLoadMulti: load returned no value for %s: %w", quoteKey(key), ErrNotFound)
}

// loadOne is load for key alone, in GetOrLoad's form, for a key that a
// batch loads on its own.
func loadOne[T any](key string, load func(context.Context, []string) (map[string]T, error)) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		var zero T
		got, err := load(ctx, []string{key})
		if err != nil {
			return zero, err
		}
		v, ok := got[key]
		if !ok {
			return zero, notLoaded(key)
		}
		return v, nil
	}
}
