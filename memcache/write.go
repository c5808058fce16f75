package memcache

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// An encoded value is what a write sends: the item under the value's key,
// after its chunks if it is the index of a chunked value.
type encoded struct {
	item   *Item
	chunks []*Item
}

// encode turns a value into the items to write under the memcached key k,
// expiring at exp: one item if it fits the size guard, else chunks and
// their index if the store chunks, else a *TooLargeError.
func (s *Store[T]) encode(key, k string, v T, exp int32) (encoded, error) {
	if s.interop != 0 {
		return s.encodeInterop(key, k, v, exp)
	}
	data, err := s.codec.Marshal(v)
	if err != nil {
		return encoded{}, &EncodeError{Key: key, Codec: s.codec.Name(), Err: err}
	}
	rawLen := len(data)
	// Package codec's codecs return a slice of their own, as does S2, so
	// the fingerprint can be appended to it; another codec may return
	// memory its caller still holds (the value itself, for []byte).
	owned := s.ownsOutput
	comp := uint32(compressNone)
	if out, ok := s.compress.compress(data); ok {
		data, comp, owned = out, compressS2, true
	}
	version, trailer := uint32(flagsVersion), 0
	if s.fingerprinted {
		version, trailer = flagsV2, trailerLen
	}
	flags := makeFlagsOf(version, kindValue, comp, s.codecID)
	guard := s.SizeGuard()
	if trailer+len(data) <= guard.Limit(k, flags) {
		return encoded{item: &Item{Key: k, Value: s.withFingerprint(data, owned), Flags: flags, Expiration: exp}}, nil
	}
	maxSize := s.maxDecodedSize()
	if capacity := chunkCapacity(guard.ItemSizeMax); s.chunking && rawLen <= maxSize && chunkable(len(data), capacity) {
		chunks, x := splitChunks(s.keys.prefix, k, data, capacity, makeFlagsOf(version, kindChunk, 0, s.codecID), exp)
		index := s.withFingerprint(x.appendTo(make([]byte, 0, chunkIndexLen+trailerLen)), true)
		return encoded{item: &Item{Key: k, Value: index, Flags: makeFlagsOf(version, kindIndex, comp, s.codecID), Expiration: exp}, chunks: chunks}, nil
	}
	s.counters.count(rejected)
	if s.chunking {
		return encoded{}, newTooLargeError(s.codec, key, rawLen, maxSize, v, cmp.Or(max(s.topFields, 0), 5))
	}
	return encoded{}, guard.Check(s.codec, key, k, trailer+len(data), flags, v)
}

// withFingerprint returns data followed by the trailer with its length and
// the store's fingerprint, or data itself when the store writes none. It
// appends to data only if owned (nobody else holds data's memory);
// otherwise it copies.
func (s *Store[T]) withFingerprint(data []byte, owned bool) []byte {
	if !s.fingerprinted {
		return data
	}
	if !owned {
		data = append(make([]byte, 0, len(data)+trailerLen), data...)
	}
	data = binary.BigEndian.AppendUint32(data, uint32(len(data)))
	return binary.BigEndian.AppendUint64(data, uint64(s.fingerprint))
}

// expirationAt converts a lifetime to memcached's expiration field as of
// the store's clock.
func (s *Store[T]) expirationAt(d time.Duration) int32 { return Expiration(d, s.now()) }

// Set stores v under key. An oversized value is refused with a
// *TooLargeError before any network I/O, and, as memcached itself does for a
// too-large set, the previous value under key is deleted so that no stale
// value outlives the write that failed. opts may set the value's lifetime
// (TTL).
func (s *Store[T]) Set(ctx context.Context, key string, v T, opts ...CallOption) error {
	return s.write(ctx, OpSet, key, v, 0, opts)
}

// Add stores v under key only if key holds no value; otherwise it returns
// ErrNotStored. opts may set the value's lifetime (TTL).
func (s *Store[T]) Add(ctx context.Context, key string, v T, opts ...CallOption) error {
	return s.write(ctx, OpAdd, key, v, 0, opts)
}

// Replace stores v under key only if key already holds a value; otherwise
// it returns ErrNotStored. opts may set the value's lifetime (TTL).
func (s *Store[T]) Replace(ctx context.Context, key string, v T, opts ...CallOption) error {
	return s.write(ctx, OpReplace, key, v, 0, opts)
}

func (s *Store[T]) write(ctx context.Context, op Op, key string, v T, cas uint64, opts []CallOption) (err error) {
	ctx, cl := s.obs.begin(ctx, op, key, 1)
	defer func() { cl.end(ctx, err) }()
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	enc, err := s.encode(key, k, v, s.writeExpiration(opts))
	if err != nil {
		s.obs.refused(ctx, err)
		if op == OpSet && errors.Is(err, ErrTooLarge) {
			if derr := s.backend.Delete(ctx, k); derr != nil && !errors.Is(derr, ErrCacheMiss) {
				return errors.Join(err, derr)
			}
		}
		return err
	}
	if len(enc.chunks) > 0 {
		if err := s.writeChunks(ctx, enc.chunks); err != nil {
			return err
		}
	}
	enc.item.CAS = cas
	err = s.put(ctx, op, enc.item)
	if err == nil {
		s.obs.wrote(ctx, enc)
	}
	if len(enc.chunks) > 0 {
		switch {
		case err == nil:
			s.counters.count(chunkedWrites)
		case isCacheOutcome(err):
			// The server is fine but refused the index (Add, Replace,
			// CompareAndSwap): its chunks can go now.
			dropChunks(ctx, s.handler, enc.chunks)
		}
	}
	return err
}

// put sends a write: straight to the backend when the store has no
// middleware, so that a plain store pays for no Request on its hot path.
func (s *Store[T]) put(ctx context.Context, op Op, it *Item) error {
	if !s.direct {
		_, err := s.handler(ctx, &Request{Op: op, Keys: []string{it.Key}, Item: it})
		return err
	}
	switch op {
	case OpSet:
		return s.backend.Set(ctx, it)
	case OpAdd:
		return s.backend.Add(ctx, it)
	case OpReplace:
		return s.backend.Replace(ctx, it)
	case OpCAS:
		return s.backend.CompareAndSwap(ctx, it)
	}
	return &OpError{Op: string(op), Key: it.Key, Err: errUnknownOp}
}

// CompareAndSwap stores e.Value under e.Key only if the value has not
// changed since e was read by GetEntry: otherwise it returns ErrCASConflict,
// or ErrCacheMiss if the value is gone.
func (s *Store[T]) CompareAndSwap(ctx context.Context, e *Entry[T]) error {
	return s.write(ctx, OpCAS, e.Key, e.Value, e.cas, nil)
}

// Delete removes key's value; ErrCacheMiss if there was none. Of a chunked
// value it removes the index, which makes the value a miss at once; the
// chunks are left to eviction.
func (s *Store[T]) Delete(ctx context.Context, key string) (err error) {
	ctx, cl := s.obs.begin(ctx, OpDelete, key, 1)
	defer func() { cl.end(ctx, err) }()
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	_, err = s.handler(ctx, &Request{Op: OpDelete, Keys: []string{k}})
	return err
}

// Touch sets key's value to expire after d (zero: never) without reading
// it; ErrCacheMiss if there is none. A store WithChunking does read the
// item first, so that a chunked value's chunks get the new expiration as
// well (and do not expire before their index).
func (s *Store[T]) Touch(ctx context.Context, key string, d time.Duration) (err error) {
	ctx, cl := s.obs.begin(ctx, OpTouch, key, 1)
	defer func() { cl.end(ctx, err) }()
	k, err := s.keys.storeKey(key)
	if err != nil {
		return err
	}
	exp := s.expirationAt(d)
	if s.chunking {
		if err := s.touchChunks(ctx, key, k, exp); err != nil {
			return err
		}
	}
	_, err = s.handler(ctx, &Request{Op: OpTouch, Keys: []string{k}, Expiration: exp})
	return err
}

// touchChunks gives the chunks of the chunked value under key, if that is
// what it holds, the expiration exp. The item is read as the read path
// reads it, whatever fingerprint it carries: its chunks are its own. A
// value that is not a chunked one of this store, or whose index does not
// hold, is left to the touch of its key.
func (s *Store[T]) touchChunks(ctx context.Context, key, k string, exp int32) error {
	_, it, err := s.getItem(ctx, key)
	if err != nil {
		if isCacheOutcome(err) {
			return nil // the touch of the key reports the miss
		}
		return err
	}
	u, err := s.unwrap(key, it)
	if err != nil || u.kind != kindIndex {
		return nil
	}
	x, err := s.parseIndex(key, u.body)
	if err != nil {
		return nil
	}
	// A few chunks at a time; a chunk gone makes the value a miss, so the
	// rest need no touch.
	err = sendChunks(ctx, s.handler, int(x.count), func(i int) *Request {
		return &Request{Op: OpTouch, Keys: []string{chunkKey(s.keys.prefix, k, i, x.token)}, Expiration: exp}
	})
	if err != nil && !errors.Is(err, ErrCacheMiss) {
		return err
	}
	return nil
}

// writeChunks writes the chunks of one value: in one batch when the
// backend pipelines (see batchSetter), else a few at a time in parallel.
func (s *Store[T]) writeChunks(ctx context.Context, chunks []*Item) error {
	if m, ok := s.batchSetter(); ok {
		return errors.Join(m.SetMulti(ctx, chunks)...)
	}
	return writeChunks(ctx, s.handler, chunks)
}

// batchSetter returns the backend's MultiSetter if the store sends it
// batches (see pipelines).
func (s *Store[T]) batchSetter() (MultiSetter, bool) {
	m, ok := s.backend.(MultiSetter)
	return m, ok && s.pipelines()
}

// pipelines reports whether the store sends batches to its backend's
// MultiSetter and MultiDeleter: not through middleware, which sees one
// request per item, and not to the Client or the Embedded backend, whose
// batches only loop (slower than the parallel chunk writes).
func (s *Store[T]) pipelines() bool {
	return s.direct && !loopsBatches(s.backend)
}

// setItems sets items, one error per item or nil as MultiSetter does: in
// one batch on a pipelining backend, else one Set at a time.
func (s *Store[T]) setItems(ctx context.Context, items []*Item) []error {
	if len(items) == 0 {
		return nil
	}
	if m, ok := s.batchSetter(); ok {
		return m.SetMulti(ctx, items)
	}
	return loop(len(items), func(i int) error { return s.put(ctx, OpSet, items[i]) })
}

// deleteItems deletes memcached keys, one error per key or nil as
// MultiDeleter does: in one batch on a pipelining backend, else one Delete
// at a time.
func (s *Store[T]) deleteItems(ctx context.Context, keys []string) []error {
	if len(keys) == 0 {
		return nil
	}
	if m, ok := s.backend.(MultiDeleter); ok && s.pipelines() {
		return m.DeleteMulti(ctx, keys)
	}
	return loop(len(keys), func(i int) error {
		_, err := s.handler(ctx, &Request{Op: OpDelete, Keys: []string{keys[i]}})
		return err
	})
}

// SetMulti stores every value of values under its key, as Set does, in one
// pipelined batch when the backend sends batches in one (memcache/meta's
// Client, in a store without middleware), else one Set at a time (the
// gomemcache Client). Each value is checked against the size guard on its
// own: an oversized one fails, and its previous value is deleted, as with
// Set, without holding back the others. The chunks of chunked values go in
// the same batch as the plain values, and their indexes in a second one
// once their chunks are stored.
//
// opts may set the values' lifetime (TTL); with WithTTLJitter each value's
// is drawn on its own.
//
// It returns nil when every value was stored, and otherwise a *MultiError
// naming each key that failed with its error.
func (s *Store[T]) SetMulti(ctx context.Context, values map[string]T, opts ...CallOption) error {
	failed := make(map[string]error)
	var (
		first, second   []*Item
		owner, idxOwner []string // the caller's key of each item of first and second
		stale, staleOf  []string // memcached keys to clear after a refused write, and their callers' keys
		indexes         = make(map[string]*Item)
	)
	for _, key := range slices.Sorted(maps.Keys(values)) {
		k, err := s.keys.storeKey(key)
		if err == nil {
			var enc encoded
			if enc, err = s.encode(key, k, values[key], s.writeExpiration(opts)); err == nil {
				if len(enc.chunks) == 0 {
					first, owner = append(first, enc.item), append(owner, key)
					continue
				}
				for _, c := range enc.chunks {
					first, owner = append(first, c), append(owner, key)
				}
				indexes[key] = enc.item
				continue
			}
			if errors.Is(err, ErrTooLarge) {
				stale, staleOf = append(stale, k), append(staleOf, key)
			}
		}
		failed[key] = err
	}
	for i, err := range s.setItems(ctx, first) {
		if err != nil && failed[owner[i]] == nil {
			failed[owner[i]] = err
		}
	}
	for _, key := range slices.Sorted(maps.Keys(indexes)) {
		if failed[key] == nil {
			second, idxOwner = append(second, indexes[key]), append(idxOwner, key)
		}
	}
	errs := s.setItems(ctx, second)
	for i, key := range idxOwner {
		if errs != nil && errs[i] != nil {
			failed[key] = errs[i]
			continue
		}
		s.counters.count(chunkedWrites)
	}
	for i, err := range s.deleteItems(ctx, stale) {
		if err != nil && !errors.Is(err, ErrCacheMiss) {
			failed[staleOf[i]] = errors.Join(failed[staleOf[i]], err)
		}
	}
	return newMultiError("setmulti", failed)
}

// DeleteMulti removes the values of keys, as Delete does, in one pipelined
// batch when the backend sends batches in one, else one Delete at a time.
// A key that held nothing is not a failure: it holds nothing now, as asked
// (Delete tells a miss apart). It returns nil when every key was deleted,
// and otherwise a *MultiError naming each key that failed with its error.
func (s *Store[T]) DeleteMulti(ctx context.Context, keys []string) error {
	failed := make(map[string]error)
	ks := make([]string, 0, len(keys))
	owner := make([]string, 0, len(keys))
	for _, key := range keys {
		k, err := s.keys.storeKey(key)
		if err != nil {
			failed[key] = err
			continue
		}
		ks, owner = append(ks, k), append(owner, key)
	}
	for i, err := range s.deleteItems(ctx, ks) {
		if err != nil && !errors.Is(err, ErrCacheMiss) {
			failed[owner[i]] = err
		}
	}
	return newMultiError("deletemulti", failed)
}

// A MultiError reports the keys a call on many keys (SetMulti, DeleteMulti)
// failed on. errors.Is and errors.As look into each key's error.
type MultiError struct {
	Op   string           // the call: "setmulti", "deletemulti"
	Errs map[string]error // by the caller's key
}

// newMultiError returns a *MultiError of failed, or nil if it is empty.
func newMultiError(op string, failed map[string]error) error {
	if len(failed) == 0 {
		return nil
	}
	return &MultiError{Op: op, Errs: failed}
}

// Keys returns the keys that failed, sorted.
func (e *MultiError) Keys() []string { return slices.Sorted(maps.Keys(e.Errs)) }

func (e *MultiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "memcache: %s: %d keys failed", e.Op, len(e.Errs))
	for i, key := range e.Keys() {
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		fmt.Fprintf(&b, "%s%s: %v", sep, quoteKey(key), e.Errs[key])
	}
	return b.String()
}

// Unwrap returns each key's error, in the order of Keys.
func (e *MultiError) Unwrap() []error {
	errs := make([]error, 0, len(e.Errs))
	for _, key := range e.Keys() {
		errs = append(errs, e.Errs[key])
	}
	return errs
}
