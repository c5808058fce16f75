package memcache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"sync"

	"github.com/leancache/leancache/codec"
)

// Chunked values: the format is in the package documentation (# Chunked
// values).
//
// A read checks the index first: n must be what the payload length needs
// in chunks of at least minChunkCapacity bytes and at most the store's
// chunk capacity, and the length at most the store's maximum decoded size.
// It then fetches the chunks with multi-gets of at most chunkBatch keys,
// and checks the token and number in every chunk, that all chunks but the
// last are as long as the first and the count is what that length needs,
// and the length and checksum of the whole. It stops at the first chunk
// that fails, so a forged index costs a reader one multi-get.

const (
	chunkTokenLen  = 8
	chunkHeaderLen = chunkTokenLen + 4
	chunkIndexLen  = chunkTokenLen + 12
	// maxChunks bounds what an index may claim, so a corrupt one cannot
	// make a reader build millions of keys.
	maxChunks = 1 << 16
	// minChunkCapacity is the least payload a chunk must hold to be worth
	// its key and header (an item size limit set absurdly low).
	minChunkCapacity = 1 << 10
	// chunkWriters is how many chunks a write (or a Touch) sends at once.
	chunkWriters = 4
	// chunkBatch is the most keys a read asks for in one multi-get of
	// chunks: a 64 MiB value in 1 MiB items is one batch and a chunk more.
	chunkBatch = 64
)

// chunkKeyPrefix starts the digest input of a hashed chunk key, so it can
// never equal the digest of a caller's key.
const chunkKeyPrefix = "chunk\x00"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// chunkIndex is the content of an index item before its trailer.
type chunkIndex struct {
	token  [chunkTokenLen]byte
	count  uint32 // chunks
	length uint32 // payload bytes
	sum    uint32 // CRC-32C of the payload
}

func (x chunkIndex) appendTo(b []byte) []byte {
	b = append(b, x.token[:]...)
	b = binary.BigEndian.AppendUint32(b, x.count)
	b = binary.BigEndian.AppendUint32(b, x.length)
	return binary.BigEndian.AppendUint32(b, x.sum)
}

var errBadIndex = errors.New("malformed chunk index")

func parseChunkIndex(b []byte) (chunkIndex, error) {
	var x chunkIndex
	if len(b) != chunkIndexLen {
		return x, errBadIndex
	}
	copy(x.token[:], b)
	b = b[chunkTokenLen:]
	x.count = binary.BigEndian.Uint32(b)
	x.length = binary.BigEndian.Uint32(b[4:])
	x.sum = binary.BigEndian.Uint32(b[8:])
	if x.count == 0 || x.count > maxChunks || x.count > x.length {
		return x, errBadIndex
	}
	return x, nil
}

// chunkKey returns the key of chunk i of a value under store key k,
// written with token. k is legal, and so is what is appended; only the
// length can be too much.
func chunkKey(prefix, k string, i int, token [chunkTokenLen]byte) string {
	key := k + ":c" + strconv.Itoa(i) + ":" + hex.EncodeToString(token[:])
	if len(key) <= MaxKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(chunkKeyPrefix + key))
	return prefix + string(hashedKeyMarker) + base64.RawURLEncoding.EncodeToString(sum[:])
}

// check refuses an index whose count and length no write of a store with
// chunks of capacity bytes and the maximum decoded size maxDecoded makes.
func (x chunkIndex) check(capacity, maxDecoded int) error {
	if int64(x.length) > int64(maxDecoded) {
		return &codec.BudgetError{Codec: "chunk index", Limit: "maximum decoded size", Max: int64(maxDecoded), Need: int64(x.length)}
	}
	// A store whose item size leaves chunks too small to write reads them
	// as chunks of minChunkCapacity (and never divides by zero).
	capacity = max(capacity, minChunkCapacity)
	least, most := ceilDiv(int64(x.length), int64(capacity)), ceilDiv(int64(x.length), minChunkCapacity)
	if int64(x.count) < least || int64(x.count) > most {
		return fmt.Errorf("%w: %d chunks for %d bytes, where chunks of %d to %d bytes make %d to %d", errBadIndex, x.count, x.length, minChunkCapacity, capacity, least, most)
	}
	return nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// appendKeys appends the keys of x's chunks from to to (excluded) under
// store key k.
func (x chunkIndex) appendKeys(keys []string, prefix, k string, from, to int) []string {
	for i := from; i < to; i++ {
		keys = append(keys, chunkKey(prefix, k, i, x.token))
	}
	return keys
}

// chunkCapacity is how much payload one chunk holds on a server with the
// given item_size_max: what fits under the longest possible key.
func chunkCapacity(itemSizeMax int) int {
	if itemSizeMax <= 0 {
		itemSizeMax = DefaultItemSizeMax
	}
	return itemSizeMax - itemOverhead - MaxKeyLen - flagsOverhead - chunkHeaderLen
}

// chunkable reports whether a payload of n bytes can be cut into chunks of
// capacity bytes that an index can name.
func chunkable(n, capacity int) bool {
	return capacity >= minChunkCapacity && int64(n) <= math.MaxUint32 && (n+capacity-1)/capacity <= maxChunks
}

// splitChunks cuts payload into chunk items for store key k and returns
// them with the index that names them.
func splitChunks(prefix, k string, payload []byte, capacity int, flags uint32, expiration int32) ([]*Item, chunkIndex) {
	x := chunkIndex{
		count:  uint32((len(payload) + capacity - 1) / capacity),
		length: uint32(len(payload)),
		sum:    crc32.Checksum(payload, castagnoli),
	}
	rand.Read(x.token[:]) // never fails (crypto/rand, Go 1.24+)
	// One buffer for all chunks: a piece of payload behind each header.
	buf := make([]byte, 0, len(payload)+int(x.count)*chunkHeaderLen)
	chunks := make([]*Item, x.count)
	for i := range chunks {
		piece := payload[i*capacity : min((i+1)*capacity, len(payload))]
		start := len(buf)
		buf = append(buf, x.token[:]...)
		buf = binary.BigEndian.AppendUint32(buf, uint32(i))
		buf = append(buf, piece...)
		chunks[i] = &Item{Key: chunkKey(prefix, k, i, x.token), Value: buf[start:len(buf):len(buf)], Flags: flags, Expiration: expiration}
	}
	return chunks, x
}

// An assembly joins the chunks of one index as they arrive, in order, and
// fails at the first that is missing, is not a chunk of this store's codec
// or of this write, or has a length the index rules out.
type assembly struct {
	index             chunkIndex
	codecID, legacyID uint32 // the store's (see codecIDs)
	next              int    // the number of the next chunk
	piece             int    // the length of every chunk but the last: the first's
	out               []byte
	failed            bool
}

func (a *assembly) ok() bool { return !a.failed }

// add joins the chunks found in items under keys, the next ones of the
// index.
func (a *assembly) add(keys []string, items map[string]*Item) {
	x := a.index
	for _, k := range keys {
		if a.failed {
			return
		}
		it := items[k]
		i := a.next
		if it == nil || it.Flags>>24 != flagsMarker || flagsKind(it.Flags) != kindChunk || it.Flags&0xff != a.codecID && it.Flags&0xff != a.legacyID ||
			len(it.Value) < chunkHeaderLen || string(it.Value[:chunkTokenLen]) != string(x.token[:]) ||
			binary.BigEndian.Uint32(it.Value[chunkTokenLen:]) != uint32(i) {
			a.failed = true
			return
		}
		piece := it.Value[chunkHeaderLen:]
		if i == 0 {
			// The first chunk tells the writer's chunk size: the index
			// must need exactly its count of such chunks.
			a.piece = len(piece)
			if a.piece == 0 || ceilDiv(int64(x.length), int64(a.piece)) != int64(x.count) {
				a.failed = true
				return
			}
			a.out = make([]byte, 0, x.length)
		}
		want := a.piece
		if i == int(x.count)-1 {
			want = int(x.length) - i*a.piece
		}
		if len(piece) != want {
			a.failed = true
			return
		}
		a.out = append(a.out, piece...)
		a.next++
	}
}

// done returns the whole value, and false if a chunk failed, some are
// still to come, or the whole does not match the index's checksum.
func (a *assembly) done() ([]byte, bool) {
	if a.failed || a.next != int(a.index.count) || crc32.Checksum(a.out, castagnoli) != a.index.sum {
		return nil, false
	}
	return a.out, true
}

// writeChunks stores chunks through h, a few at a time, and returns the
// first failure.
func writeChunks(ctx context.Context, h Handler, chunks []*Item) error {
	return sendChunks(ctx, h, len(chunks), func(i int) *Request {
		return &Request{Op: OpSet, Keys: []string{chunks[i].Key}, Item: chunks[i]}
	})
}

// sendChunks sends the requests req(0) to req(n-1) through h, chunkWriters
// at a time, stops sending at the first failure and returns it.
func sendChunks(ctx context.Context, h Handler, n int, req func(i int) *Request) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan *Request)
	)
	for range min(chunkWriters, n) {
		wg.Go(func() {
			for r := range next {
				if _, err := h(ctx, r); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		next <- req(i)
	}
	close(next)
	wg.Wait()
	return first
}

// dropChunks deletes chunks that no index names, after a write of the
// index was refused; failures are ignored (eviction takes them anyway).
func dropChunks(ctx context.Context, h Handler, chunks []*Item) {
	ctx = context.WithoutCancel(ctx)
	for _, it := range chunks {
		h(ctx, &Request{Op: OpDelete, Keys: []string{it.Key}})
	}
}
