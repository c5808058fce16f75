package memcache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/leancache/leancache/codec"
)

// Get returns the value stored under key, or an error: ErrCacheMiss if there
// is none (or it was chunked and a chunk is gone), a *FormatError if it was
// written with another codec (or under another schema fingerprint, see
// WithFingerprint: then errors.Is(err, ErrCacheMiss) holds too), a
// *DecodeError naming the key if its bytes do not decode, an error for
// which both ErrCacheMiss and ErrNotFound hold if it holds a negative entry
// (see WithNegativeTTL), and the backend's failure otherwise.
func (s *Store[T]) Get(ctx context.Context, key string) (_ T, err error) {
	ctx, cl := s.obs.begin(ctx, OpGet, key, 1)
	defer func() { cl.end(ctx, err) }()
	k, it, err := s.getItem(ctx, key)
	if err != nil {
		s.obs.outcome(ctx, err)
		var zero T
		return zero, err
	}
	v, err := s.read(ctx, key, k, it)
	s.obs.outcome(ctx, err)
	return v, err
}

// read decodes an item read under the caller's key and the memcached key
// k, fetching its chunks if it is the index of a chunked value.
func (s *Store[T]) read(ctx context.Context, key, k string, it *Item) (T, error) {
	kind, comp, body, err := s.open(key, it)
	if err != nil {
		var zero T
		return zero, err
	}
	if kind == kindIndex {
		x, err := s.parseIndex(key, body)
		if err != nil {
			var zero T
			return zero, err
		}
		if body, err = s.fetchChunks(ctx, k, x); err != nil {
			var zero T
			return zero, err
		}
	}
	return s.decodePayload(key, comp, body)
}

// getItem reads the item under key, and returns it with its memcached key.
func (s *Store[T]) getItem(ctx context.Context, key string) (string, *Item, error) {
	k, err := s.keys.storeKey(key)
	if err != nil {
		return "", nil, err
	}
	if s.direct {
		it, err := s.backend.Get(ctx, k)
		if err != nil {
			return "", nil, err
		}
		if isPlaceholder(it) {
			return "", nil, ErrCacheMiss // a load in progress under a lease
		}
		return k, it, nil
	}
	resp, err := s.handler(ctx, &Request{Op: OpGet, Keys: []string{k}})
	if err != nil {
		return "", nil, err
	}
	it := resp.items()[k]
	if it == nil || isPlaceholder(it) {
		return "", nil, ErrCacheMiss
	}
	return k, it, nil
}

// items returns the items of r, which may be nil.
func (r *Response) items() map[string]*Item {
	if r == nil {
		return nil
	}
	return r.Items
}

// GetMulti returns the values found among keys, by the caller's keys; a key
// with no value is absent from the map. Values that fail to decode are left
// out of the map and reported together in the error (errors.Join of their
// *FormatError or *DecodeError), so one bad value does not hide the others;
// so are the keys of a failing server when the backend answered for the
// others, and the chunked values whose chunks it failed to return (the
// values decoded before that failure are kept).
func (s *Store[T]) GetMulti(ctx context.Context, keys []string) (_ map[string]T, err error) {
	ctx, cl := s.obs.begin(ctx, OpGetMulti, "", len(keys))
	defer func() { cl.end(ctx, err) }()
	byStoreKey := make(map[string]string, len(keys))
	storeKeys := make([]string, 0, len(keys))
	for _, key := range keys {
		k, err := s.keys.storeKey(key)
		if err != nil {
			return nil, err
		}
		if _, dup := byStoreKey[k]; !dup {
			storeKeys = append(storeKeys, k)
		}
		byStoreKey[k] = key
	}
	out := make(map[string]T, len(keys))
	if len(storeKeys) == 0 {
		return out, nil
	}
	resp, err := s.handler(ctx, &Request{Op: OpGetMulti, Keys: storeKeys})
	if err != nil && len(resp.items()) == 0 {
		return nil, err
	}
	if n := len(storeKeys) - len(resp.items()); n > 0 && err == nil {
		// (In a partial answer, which keys missed and which failed is not
		// known: the call's error shows the failure.)
		s.obs.record(ctx, Event{Kind: EventMiss, Count: n})
	}
	// A backend error with items is a partial answer (a server down among
	// several): keep what came back and report the error with the rest.
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	type chunked struct {
		key, k string
		comp   uint32
		index  chunkIndex
	}
	var pending []chunked
	// decoded puts the value of key, whose payload body reading returned
	// with err, in out, or its error in errs (a miss in neither).
	decoded := func(key string, comp uint32, body []byte, err error) {
		var v T
		if err == nil {
			v, err = s.decodePayload(key, comp, body)
		}
		if err != nil {
			s.obs.outcome(ctx, err)
			if !errors.Is(err, ErrCacheMiss) {
				errs = append(errs, err)
			}
			return
		}
		out[key] = v
	}
	for k, it := range resp.items() {
		key, ok := byStoreKey[k]
		if !ok || isPlaceholder(it) {
			continue
		}
		kind, comp, body, err := s.open(key, it)
		if err == nil && kind == kindIndex {
			var x chunkIndex
			if x, err = s.parseIndex(key, body); err == nil {
				pending = append(pending, chunked{key, k, comp, x})
				continue
			}
		}
		decoded(key, comp, body, err)
	}
	// lost is the error of a failed fetch of chunks: the backend is
	// failing, so the fetch stops there, and the values it did not read
	// (those of the batch, and those not fetched yet) are named; the
	// values decoded so far are kept.
	lost := func(err error, values []chunked) error {
		keys := make([]string, len(values))
		for i, p := range values {
			keys[i] = quoteKey(p.key)
		}
		slices.Sort(keys)
		return fmt.Errorf("memcache: GetMulti: chunks of %s: %w", strings.Join(keys, ", "), err)
	}
	// The chunks of the chunked values found: those of values with few
	// chunks together, chunkBatch keys at most per multi-get, and each
	// value with more on its own, in batches (see fetchChunks).
	for len(pending) > 0 {
		if int(pending[0].index.count) > chunkBatch {
			p := pending[0]
			pending = pending[1:]
			body, err := s.fetchChunks(ctx, p.k, p.index)
			if err != nil && !isCacheOutcome(err) {
				errs = append(errs, lost(err, append(pending, p)))
				break
			}
			decoded(p.key, p.comp, body, err)
			continue
		}
		var batch []chunked
		var keys []string
		for len(pending) > 0 && int(pending[0].index.count) <= chunkBatch-len(keys) {
			p := pending[0]
			pending = pending[1:]
			batch = append(batch, p)
			keys = p.index.appendKeys(keys, s.keys.prefix, p.k, 0, int(p.index.count))
		}
		resp, err := s.handler(ctx, &Request{Op: OpGetMulti, Keys: keys})
		if err != nil {
			errs = append(errs, lost(err, append(pending, batch...)))
			break
		}
		for _, p := range batch {
			n := int(p.index.count)
			a := s.newAssembly(p.index)
			a.add(keys[:n], resp.items())
			keys = keys[n:]
			body, err := s.assembled(a)
			if err == nil {
				s.obs.record(ctx, Event{Kind: EventChunkedRead, Count: n})
			}
			decoded(p.key, p.comp, body, err)
		}
	}
	if len(out) > 0 {
		s.obs.record(ctx, Event{Kind: EventHit, Count: len(out)})
	}
	return out, errors.Join(errs...)
}

// open checks an item read under the caller's key: its flags, then its
// fingerprint. It returns the item's kind, the compression of its payload,
// and its value after the fingerprint. A value written under another
// fingerprint, or without one, is a miss (counted) when the store
// fingerprints its values.
func (s *Store[T]) open(key string, it *Item) (kind, comp uint32, body []byte, err error) {
	if s.interop != 0 {
		return s.openInterop(key, it)
	}
	u, err := s.unwrap(key, it)
	if err != nil {
		return 0, 0, nil, err
	}
	switch {
	case !s.fingerprinted:
	case !u.fingerprinted:
		return 0, 0, nil, s.schemaMiss(key, it.Flags, "without a schema fingerprint")
	case u.fingerprint != s.fingerprint:
		return 0, 0, nil, s.schemaMiss(key, it.Flags, "under schema fingerprint "+u.fingerprint.String())
	}
	if u.kind == kindNegative {
		return 0, 0, nil, &negativeError{key: key, miss: true}
	}
	return u.kind, u.comp, u.body, nil
}

// An unwrapped item is what its flags and trailer say, before the store
// compares its fingerprint.
type unwrapped struct {
	kind, comp    uint32
	body          []byte // the payload, or a chunked value's index
	fingerprint   Fingerprint
	fingerprinted bool // format version 2: the item carries a fingerprint
}

// unwrap reads an item's flags and trailer (see the package
// documentation): a value of this store's codec and a format it knows, or a
// *FormatError; a version-2 value whose trailer does not state its length
// is a *DecodeError.
func (s *Store[T]) unwrap(key string, it *Item) (unwrapped, error) {
	f := it.Flags
	v := flagsVersionOf(f)
	u := unwrapped{kind: flagsKind(f), comp: flagsCompression(f), body: it.Value}
	if f>>24 != flagsMarker || v != flagsVersion && v != flagsV2 || !s.readsCodec(f) || u.kind != kindValue && u.kind != kindIndex && u.kind != kindNegative {
		return u, &FormatError{Key: key, Flags: f, Want: "with codec " + s.codec.Name(), Got: describeFlags(f)}
	}
	if u.comp != compressNone && u.comp != compressS2 {
		return u, &FormatError{Key: key, Flags: f, Want: "with codec " + s.codec.Name(), Got: fmt.Sprintf("with unknown compression %d", u.comp)}
	}
	if v == flagsV2 {
		cut := len(u.body) - trailerLen
		if cut < 0 || int64(binary.BigEndian.Uint32(u.body[cut:])) != int64(cut) {
			return u, &DecodeError{Key: key, Codec: s.codec.Name(), Err: errTrailer}
		}
		u.fingerprint = Fingerprint(binary.BigEndian.Uint64(u.body[cut+4:]))
		u.body, u.fingerprinted = u.body[:cut:cut], true
	}
	return u, nil
}

// schemaMiss counts a value of another schema and returns the miss it
// reads as.
func (s *Store[T]) schemaMiss(key string, flags uint32, got string) error {
	s.counters.count(schemaMisses)
	return &FormatError{Key: key, Flags: flags, Want: "under schema fingerprint " + s.fingerprint.String(), Got: got, schema: true}
}

// parseIndex reads the index of a chunked value, and checks it against
// its own length, the store's chunk capacity and maximum decoded size
// before any chunk is fetched.
func (s *Store[T]) parseIndex(key string, body []byte) (chunkIndex, error) {
	x, err := parseChunkIndex(body)
	if err == nil {
		err = x.check(chunkCapacity(int(s.itemSizeMax.Load())), s.maxDecodedSize())
	}
	if err != nil {
		return x, s.decodeError(key, err)
	}
	return x, nil
}

// readsCodec reports whether flags name the store's codec, by the id it
// writes or by the one earlier versions wrote.
func (s *Store[T]) readsCodec(flags uint32) bool {
	id := flags & 0xff
	return id == s.codecID || id == s.legacyID
}

// newAssembly starts joining the chunks of x.
func (s *Store[T]) newAssembly(x chunkIndex) *assembly {
	return &assembly{index: x, codecID: s.codecID, legacyID: s.legacyID}
}

// fetchChunks reads the chunks of the chunked value under store key k,
// chunkBatch at a time, and stops at the first batch that shows a chunk
// gone or the index false: a forged index costs one batch.
func (s *Store[T]) fetchChunks(ctx context.Context, k string, x chunkIndex) ([]byte, error) {
	a := s.newAssembly(x)
	var keys []string
	for from := 0; from < int(x.count) && a.ok(); from += chunkBatch {
		keys = x.appendKeys(keys[:0], s.keys.prefix, k, from, min(from+chunkBatch, int(x.count)))
		resp, err := s.handler(ctx, &Request{Op: OpGetMulti, Keys: keys})
		if err != nil {
			return nil, err
		}
		a.add(keys, resp.items())
	}
	body, err := s.assembled(a)
	if err == nil {
		s.obs.record(ctx, Event{Kind: EventChunkedRead, Count: int(x.count)})
	}
	return body, err
}

// assembled returns the value a has joined, or ErrCacheMiss (counted) if a
// chunk is gone or belongs to another write.
func (s *Store[T]) assembled(a *assembly) ([]byte, error) {
	body, ok := a.done()
	if !ok {
		s.counters.count(chunkMisses)
		return nil, ErrCacheMiss
	}
	s.counters.count(chunkedReads)
	return body, nil
}

// maxDecodedSize is the largest value the store reads (and, chunked,
// writes).
func (s *Store[T]) maxDecodedSize() int { return s.compress.maxDecodedSize() }

// decodeError wraps what made a value under the caller's key unreadable,
// and counts it in Counters.OverBudget if it was over the decode budget.
func (s *Store[T]) decodeError(key string, err error) *DecodeError {
	if errors.Is(err, codec.ErrBudget) {
		s.counters.count(overBudget)
	}
	return &DecodeError{Key: key, Codec: s.codec.Name(), Err: err}
}

// decodePayload decompresses and decodes the payload of a value read under
// the caller's key.
func (s *Store[T]) decodePayload(key string, comp uint32, data []byte) (T, error) {
	var v T
	if comp == compressS2 {
		var err error
		if data, err = s.compress.decompress(data); err != nil {
			return v, s.decodeError(key, err)
		}
	} else if comp != compressNone {
		var err error
		if data, err = s.decompressInterop(comp, data); err != nil {
			return v, s.decodeError(key, err)
		}
	}
	if err := s.codec.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, s.decodeError(key, err)
	}
	return v, nil
}

var errTrailer = errors.New("value cut short or corrupt: its trailer does not state its length")

// An Entry is a value read with its compare-and-swap token, for
// CompareAndSwap.
type Entry[T any] struct {
	Key   string // the caller's key
	Value T
	cas   uint64
}

// GetEntry is Get that also remembers the value's compare-and-swap token.
func (s *Store[T]) GetEntry(ctx context.Context, key string) (_ *Entry[T], err error) {
	ctx, cl := s.obs.begin(ctx, OpGet, key, 1)
	defer func() { cl.end(ctx, err) }()
	k, it, err := s.getItem(ctx, key)
	if err != nil {
		s.obs.outcome(ctx, err)
		return nil, err
	}
	v, err := s.read(ctx, key, k, it)
	s.obs.outcome(ctx, err)
	if err != nil {
		return nil, err
	}
	return &Entry[T]{Key: key, Value: v, cas: it.CAS}, nil
}
