package memcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
)

// A Recorder is told what a Store does, so that metrics, traces and logs
// can show it: every call as it starts and ends, and the events within
// (hits, misses, loads, fail-open answers, ...). Set one with WithRecorder;
// packages of their own adapt it to OpenTelemetry and Prometheus, and
// Recorders combines several.
//
// A Store without a Recorder makes none of these calls and pays nothing for
// them. Methods are called from the goroutine of the Store call, may be
// called from many goroutines at once, and should return quickly: they are
// on the cache's hot path.
//
// Calls carry the memcached key (prefixed, see Store.Key), never the
// value. Keys can be session tokens: an implementation must not record or
// log a key in clear (HashKey gives a stable digest for users who opt in to
// keys).
type Recorder interface {
	// StartCall is called when a Store call starts, with the call's
	// context; the call goes on with the context it returns (one carrying
	// a span, say), and later events and EndCall of the call get that
	// context.
	StartCall(ctx context.Context, c Call) context.Context
	// Record is told of one event of a call.
	Record(ctx context.Context, e Event)
	// EndCall is called when the call started with StartCall returns,
	// with its duration and its error (nil, or a miss, or a failure: see
	// FailureReason).
	EndCall(ctx context.Context, c Call, took time.Duration, err error)
}

// A StoreRecorder is a Recorder that prepares for each store it is given
// to: NewStore calls ForStore once, with the store's StoreInfo, and tells
// the Recorder it returns instead. What every call of one store shares
// (its attribute sets, its labelled series) is then built once per store,
// not looked up by name on every call, which on the hot path costs more
// than the recording itself. The Calls and Events the returned Recorder
// is told still carry the StoreInfo.
type StoreRecorder interface {
	Recorder
	ForStore(info StoreInfo) Recorder
}

// forStore returns what a store of info tells: what rec's ForStore
// returns if it has one (rec itself if that is nil).
func forStore(rec Recorder, info StoreInfo) Recorder {
	if sr, ok := rec.(StoreRecorder); ok {
		if r := sr.ForStore(info); r != nil {
			return r
		}
	}
	return rec
}

// A Call describes a Store call to a Recorder.
type Call struct {
	StoreInfo
	// Op is the Store call: OpGet, OpGetMulti, OpSet, OpAdd, OpReplace,
	// OpCAS, OpDelete, OpTouch or OpGetOrLoad.
	Op Op
	// Key is the memcached key of a call on one key, empty for GetMulti.
	// Never record it in clear (see HashKey).
	Key string
	// Keys is how many keys the call is for.
	Keys int
}

// StoreInfo names the Store an event comes from.
type StoreInfo struct {
	Name      string // set with WithName; empty if not set
	Namespace string // WithNamespace's namespace, empty if none
	Codec     string // the codec's Name
}

// OpGetOrLoad is the operation of a GetOrLoad call as a Recorder sees it.
// Its reads of the cache are events of its own (a hit, a miss, a load);
// its write is a Set call, within it.
const OpGetOrLoad Op = "getorload"

// An EventKind says what happened in an Event.
type EventKind uint8

// The events of a Store. Counts are of the caller's keys and values, not of
// items on the wire: a chunked value read whole is one hit.
const (
	// EventHit: a value found and read (Event.Count values).
	EventHit EventKind = iota + 1
	// EventMiss: no value, or one that reads as a miss (Event.Count keys);
	// a schema miss or a chunk gone is a miss too, with an event of its
	// own besides.
	EventMiss
	// EventSchemaMiss: a value written under another schema fingerprint,
	// read as a miss (see WithFingerprint).
	EventSchemaMiss
	// EventDecodeError: a value found that would not decode; Event.Err is
	// its *DecodeError or *FormatError.
	EventDecodeError
	// EventWrite: a value written (Event.Size bytes on the wire).
	EventWrite
	// EventTooLarge: a write refused by the size guard before any I/O;
	// Event.Size is the value's encoded size.
	EventTooLarge
	// EventChunkedRead: a chunked value read whole (Event.Count chunks).
	EventChunkedRead
	// EventChunkedWrite: a value written in chunks (Event.Count chunks).
	EventChunkedWrite
	// EventLoad: a GetOrLoad loader returned (Event.Duration, Event.Err:
	// nil, its error, or a timeout).
	EventLoad
	// EventSharedLoad: a GetOrLoad caller got the value another caller's
	// load was already fetching (Event.Count callers).
	EventSharedLoad
	// EventFailOpen: GetOrLoad answered from the loader after absorbing a
	// failure (Event.Err): a backend down, a value that would not decode
	// or not fit.
	EventFailOpen
	// EventLeaseWon: a caller won the lease to recompute a value.
	EventLeaseWon
	// EventLeaseWaited: a caller waited for another's lease.
	EventLeaseWaited
	// EventServeStale: a stale value was answered while another caller
	// recomputes it.
	EventServeStale
	// EventServerDown: a server was marked down (Event.Server).
	EventServerDown
	// EventServerUp: a server came back (Event.Server).
	EventServerUp
	// EventNearHit: values served by the near cache (WithNearCache)
	// without a call to the backend (Event.Count keys), besides their
	// EventHit.
	EventNearHit
)

var eventNames = [...]string{
	EventHit:          "hit",
	EventMiss:         "miss",
	EventSchemaMiss:   "schema_miss",
	EventDecodeError:  "decode_error",
	EventWrite:        "write",
	EventTooLarge:     "too_large",
	EventChunkedRead:  "chunked_read",
	EventChunkedWrite: "chunked_write",
	EventLoad:         "load",
	EventSharedLoad:   "shared_load",
	EventFailOpen:     "fail_open",
	EventLeaseWon:     "lease_won",
	EventLeaseWaited:  "lease_waited",
	EventServeStale:   "serve_stale",
	EventServerDown:   "server_down",
	EventServerUp:     "server_up",
	EventNearHit:      "near_hit",
}

// String returns the event's name in snake case, as metrics label it.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// An Event is one thing a Store did, within a call (Op) of the store
// StoreInfo names. Which other fields are set depends on Kind.
type Event struct {
	Kind EventKind
	StoreInfo
	Op Op
	// Server is the server concerned, for EventServerDown and EventServerUp.
	Server   string
	Size     int           // bytes, for EventWrite and EventTooLarge
	Count    int           // values, keys, chunks or callers (see Kind); at least 1
	Duration time.Duration // for EventLoad
	Err      error         // for EventDecodeError, EventLoad and EventFailOpen
}

// WithName names the store for its Recorder and its logs ("users",
// "sessions"), so that dashboards can tell stores on one server apart.
func WithName(name string) Option { return func(o *storeConfig) { o.name = name } }

// WithRecorder tells r what the store does (see Recorder). Without one, a
// store logs its failures by itself to log/slog's default logger at
// warning level, at most one of each kind per FailureLogInterval: backend
// failures, and the failures GetOrLoad absorbs when it fails open and no
// error handler (WithErrorHandler) is told of them. With one, r shows
// them instead. A StoreRecorder is prepared for the store first (see
// StoreRecorder).
func WithRecorder(r Recorder) Option { return func(o *storeConfig) { o.recorder = r } }

// Recorders returns a Recorder that tells each of rs in turn, skipping nil
// ones; the context the first returns from StartCall goes to the second,
// and so on. It returns nil if all of rs are, so that a store given it
// keeps its own failure log.
func Recorders(rs ...Recorder) Recorder {
	var out multiRecorder
	for _, r := range rs {
		if r != nil {
			out = append(out, r)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

type multiRecorder []Recorder

// ForStore prepares each recorder that can for the store.
func (m multiRecorder) ForStore(info StoreInfo) Recorder {
	out := make(multiRecorder, len(m))
	for i, r := range m {
		out[i] = forStore(r, info)
	}
	return out
}

func (m multiRecorder) StartCall(ctx context.Context, c Call) context.Context {
	for _, r := range m {
		ctx = r.StartCall(ctx, c)
	}
	return ctx
}

func (m multiRecorder) Record(ctx context.Context, e Event) {
	for _, r := range m {
		r.Record(ctx, e)
	}
}

func (m multiRecorder) EndCall(ctx context.Context, c Call, took time.Duration, err error) {
	for _, r := range m {
		r.EndCall(ctx, c, took, err)
	}
}

// ServerStateRecorder returns a function for ketama.Config.OnStateChange
// that tells r of servers marked down and up, as EventServerDown and
// EventServerUp of the store info (the cluster's name, say). A function,
// so that the selector need not know this package.
func ServerStateRecorder(r Recorder, info StoreInfo) func(addr net.Addr, down bool) {
	return func(addr net.Addr, down bool) {
		e := Event{Kind: EventServerUp, StoreInfo: info, Server: addr.String(), Count: 1}
		if down {
			e.Kind = EventServerDown
		}
		r.Record(context.Background(), e)
	}
}

// Failure reasons, as FailureReason returns them: the names grafana/dskit's
// memcached client gives its failures, so that dashboards built for it work.
const (
	ReasonTimeout      = "timeout"
	ReasonCanceled     = "canceled"
	ReasonMalformedKey = "malformed-key"
	ReasonTooLarge     = "max-item-size"
	ReasonServerError  = "server-error"
	ReasonNetworkError = "network-error"
	ReasonNoServers    = "no-servers"
	ReasonDecode       = "decode-error"
	ReasonEncode       = "encode-error"
	ReasonOther        = "other"
)

// FailureReason classifies the error of a Store call: "" for nil and for
// the cache's own answers (a miss, not stored, a CAS conflict, a schema
// miss) and a loader's ErrNotFound (an answer about the data, see
// WithNegativeTTL), else one of the Reason constants. It looks through wrapping and
// joined errors, and never at keys.
func FailureReason(err error) string {
	switch {
	case err == nil, isCacheOutcome(err), errors.Is(err, ErrNotFound):
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	case errors.Is(err, ErrMalformedKey):
		return ReasonMalformedKey
	case errors.Is(err, ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, ErrNoServers):
		return ReasonNoServers
	case errors.Is(err, ErrFormat):
		return ReasonDecode
	case errors.Is(err, gomemcache.ErrServerError):
		return ReasonServerError
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// A connection the server closed: it went away.
		return ReasonNetworkError
	}
	// The targets of errors.As go to the heap: only failures get this far.
	if de := (*DecodeError)(nil); errors.As(err, &de) {
		return ReasonDecode
	}
	if ee := (*EncodeError)(nil); errors.As(err, &ee) {
		return ReasonEncode
	}
	if ne := net.Error(nil); errors.As(err, &ne) {
		if ne.Timeout() {
			return ReasonTimeout
		}
		return ReasonNetworkError
	}
	return ReasonOther
}

// HashKey returns a stable digest of key ("sha256:" and 16 hex digits),
// for recorders and logs that show keys: the same key always has the same
// digest, and the digest does not reveal the key (a session token, say).
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// observer is how a Store tells its Recorder, or without one the failure
// log, what it does. With no Recorder its methods do nothing on success and
// allocate nothing, so a store without one pays for a nil check.
type observer struct {
	rec  Recorder
	info StoreInfo
	keys keyMapper
	log  *failureLog // nil with a Recorder: the recorder shows failures
}

func newObserver(rec Recorder, info StoreInfo, keys keyMapper) observer {
	o := observer{info: info, keys: keys}
	if rec == nil {
		o.log = new(failureLog)
	} else {
		o.rec = forStore(rec, info)
	}
	return o
}

// A call is one Store call in progress, as begin started it.
type call struct {
	o     *observer
	c     Call
	key   string // the caller's key, for the failure log
	start time.Time
}

// begin starts the Store call op on the caller's key (empty for several
// keys, of which there are n), and returns the context the call goes on
// with. End the call with end.
func (o *observer) begin(ctx context.Context, op Op, key string, n int) (context.Context, call) {
	cl := call{o: o, key: key}
	cl.c.Op = op
	if o.rec == nil {
		return ctx, cl
	}
	cl.c.StoreInfo, cl.c.Keys = o.info, n
	if key != "" {
		cl.c.Key, _ = o.keys.storeKey(key)
	}
	cl.start = time.Now()
	ctx = context.WithValue(ctx, callOpKey{}, op)
	return o.rec.StartCall(ctx, cl.c), cl
}

// callOpKey is the context key of the operation of the Store call in
// progress, so that the events of helpers shared by several calls name
// the call they serve.
type callOpKey struct{}

// end ends the call with its error: it tells the Recorder, or logs a
// backend failure (rate-limited) when the store has none.
func (cl call) end(ctx context.Context, err error) {
	if cl.o.rec != nil {
		cl.o.rec.EndCall(ctx, cl.c, time.Since(cl.start), err)
		return
	}
	if err != nil && isBackendFailure(err) {
		cl.o.warn(ctx, logBackend, cl.c.Op, cl.key, err)
	}
}

// record tells the Recorder of an event of the call in progress in ctx
// (StoreInfo and Op are filled in, and a zero Count made 1).
func (o *observer) record(ctx context.Context, e Event) {
	if o.rec == nil {
		return
	}
	e.StoreInfo = o.info
	e.Op, _ = ctx.Value(callOpKey{}).(Op)
	if e.Count == 0 {
		e.Count = 1
	}
	o.rec.Record(ctx, e)
}

// outcome tells of how a read of one value ended with err: a hit, a miss
// (a schema miss too, if it was one), a value that would not decode, or
// nothing for a failure, which the call's end shows.
func (o *observer) outcome(ctx context.Context, err error) {
	if o.rec == nil {
		return
	}
	switch {
	case err == nil:
		o.record(ctx, Event{Kind: EventHit})
	case errors.Is(err, ErrCacheMiss):
		// Declared here: errors.As's target goes to the heap, and a hit
		// should not pay for it.
		var fe *FormatError
		if errors.As(err, &fe) && fe.schema {
			o.record(ctx, Event{Kind: EventSchemaMiss})
		}
		o.record(ctx, Event{Kind: EventMiss})
	case FailureReason(err) == ReasonDecode:
		o.record(ctx, Event{Kind: EventDecodeError, Err: err})
	}
}

// refused tells of a write the size guard refused, with its size.
func (o *observer) refused(ctx context.Context, err error) {
	var tl *TooLargeError
	if o.rec != nil && errors.As(err, &tl) {
		o.record(ctx, Event{Kind: EventTooLarge, Size: tl.Size})
	}
}

// wrote tells of a value written, as enc.
func (o *observer) wrote(ctx context.Context, enc encoded) {
	if o.rec == nil {
		return
	}
	size := len(enc.item.Value)
	for _, c := range enc.chunks {
		size += len(c.Value)
	}
	o.record(ctx, Event{Kind: EventWrite, Size: size})
	if len(enc.chunks) > 0 {
		o.record(ctx, Event{Kind: EventChunkedWrite, Count: len(enc.chunks)})
	}
}

// startLoad returns the time a load starts, for loaded; the zero time
// without a Recorder, which has no use for it.
func (o *observer) startLoad() time.Time {
	if o.rec == nil {
		return time.Time{}
	}
	return time.Now()
}

// loaded tells of a load that started at start and returned err.
func (o *observer) loaded(ctx context.Context, start time.Time, err error) {
	if o.rec != nil {
		o.record(ctx, Event{Kind: EventLoad, Duration: time.Since(start), Err: err})
	}
}

// A loadLead notes whether a GetOrLoad caller's own load ran, so that one
// that got another's can be told of; nil without a Recorder.
type loadLead struct{ atomic.Bool }

func (o *observer) newLoadLead() *loadLead {
	if o.rec == nil {
		return nil
	}
	return new(loadLead)
}

// ran notes that the caller's load ran.
func (l *loadLead) ran() {
	if l != nil {
		l.Store(true)
	}
}

// joined tells of a caller whose load did not run, but which got the
// answer of another's: it waited for that load without giving up.
func (o *observer) joined(ctx context.Context, l *loadLead) {
	if l != nil && !l.Load() && ctx.Err() == nil {
		o.record(ctx, Event{Kind: EventSharedLoad})
	}
}

// failOpen tells of a failure GetOrLoad absorbed, answering from the
// loader: the Recorder, or else the log when the user set no error handler
// to be told.
func (o *observer) failOpen(ctx context.Context, key string, err error, handled bool) {
	if o.rec != nil {
		o.record(ctx, Event{Kind: EventFailOpen, Err: err})
		return
	}
	if !handled {
		o.warn(ctx, logFailOpen, OpGetOrLoad, key, err)
	}
}

// warn logs a failure of kind, of the call op on the caller's key.
func (o *observer) warn(ctx context.Context, kind int, op Op, key string, err error) {
	k, _ := o.keys.storeKey(key)
	o.log.warn(ctx, kind, o.info, op, key, k, err)
}

// isBackendFailure reports whether err, returned by a Store call, says the
// cache is failing (a server down, slow or in error) rather than that the
// caller asked for something wrong or a value was bad: the failures a
// store logs by itself.
func isBackendFailure(err error) bool {
	switch FailureReason(err) {
	case ReasonTimeout, ReasonNetworkError, ReasonServerError, ReasonNoServers, ReasonOther:
		return true
	}
	return false
}
