package codec

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"sync"
	"unsafe"
)

// encoding/json validates and compacts what every MarshalJSON returns, and
// cbor checks what every MarshalCBOR returns, so a slot that re-entered the
// library and returned its whole encoding would have it copied and checked
// again by every slot around it: a deep list would cost the square of its
// depth. Instead a slot's marshaler returns a short placeholder (a JSON
// string, a CBOR byte string) naming an entry of a side table that holds
// what the slot stands for; Marshal then encodes each entry once, with the
// library, and splices the encodings into the placeholders in one pass.
// The output is the library's, byte for byte: JSON and CBOR writers embed
// a marshaler's output unchanged (it is already compact, and cbor's arrays
// and maps count items, not bytes; no slot is ever inside a definite-length
// byte string, since nothing of a view is encoded as one).
//
// A slot's method is called from inside the library, with no way to tell
// which Marshal call it serves, so the table is shared and each entry is
// named by 128 random bits from a CSPRNG seeded by crypto/rand: user data
// in the output cannot name an entry it does not know, and a placeholder
// that names no entry is left as it is (it was data).

// ErrCycle is wrapped by the error [CBOR]'s Marshal returns for a value
// that refers to itself through a recursive type (where cbor alone would
// exhaust the stack, which kills the process). [JSON] reports such a value
// as encoding/json does, with a *json.UnsupportedValueError.
var ErrCycle = errors.New("codec: the value refers to itself")

// spliceKey names an entry of the splice table.
type spliceKey [16]byte

// slotMem holds a copy of a slot's memory: a pointer, a map or a slice
// header, where the GC sees the pointer.
type slotMem struct {
	p      unsafe.Pointer
	n, cap int
}

// A spliceEntry is a slot met while encoding: what it stands for.
type spliceEntry struct {
	si   *slotInfo
	slot reflect.Type // the slot's type, for errors as json reports them
	mem  slotMem
	seq  uint64 // when it was made, for sweeping orphans
}

// spliceTab is the shared side table. Entries are claimed, and removed, by
// the Marshal that finds their placeholders in its output. An entry made
// for an encoding that failed is never claimed: once every Marshal that
// was running when it was made has returned, it is swept.
var spliceTab = struct {
	mu      sync.Mutex
	rng     *rand.ChaCha8
	m       map[spliceKey]spliceEntry
	seq     uint64
	calls   map[uint64]uint64 // running Marshal calls: id → seq at start
	orphans bool              // a call failed since the last full sweep
}{
	rng: func() *rand.ChaCha8 {
		var seed [32]byte
		crand.Read(seed[:]) // never fails (crypto/rand crashes the process instead)
		return rand.NewChaCha8(seed)
	}(),
	m:     map[spliceKey]spliceEntry{},
	calls: map[uint64]uint64{},
}

// spliceMarker is in every placeholder, so that Marshal finds them with
// bytes.Index; it is random so that ordinary data rarely matches it (data
// that does is only looked up, and left alone).
var spliceMarker = func() (m [8]byte) {
	crand.Read(m[:])
	return m
}()

// hold records the slot at p (of type slot, standing for si) and returns
// its key.
func hold(si *slotInfo, slot reflect.Type, p unsafe.Pointer) spliceKey {
	e := spliceEntry{si: si, slot: slot}
	// Copied through reflect, so the GC's write barriers see the pointer.
	reflect.NewAt(si.view, unsafe.Pointer(&e.mem)).Elem().Set(si.value(p))
	var k spliceKey
	t := &spliceTab
	t.mu.Lock()
	for {
		t.rng.Read(k[:])
		if _, ok := t.m[k]; !ok {
			break
		}
	}
	t.seq++
	e.seq = t.seq
	t.m[k] = e
	t.mu.Unlock()
	return k
}

// claim removes and returns the entry named k, if there is one.
func claim(k spliceKey) (spliceEntry, bool) {
	t := &spliceTab
	t.mu.Lock()
	e, ok := t.m[k]
	delete(t.m, k)
	t.mu.Unlock()
	return e, ok
}

// spliceBegin registers a running Marshal and returns its id.
func spliceBegin() uint64 {
	t := &spliceTab
	t.mu.Lock()
	t.seq++
	id := t.seq
	t.calls[id] = id
	t.mu.Unlock()
	return id
}

// spliceEnd unregisters Marshal call id, and sweeps the entries no running
// call can claim if some call failed.
func spliceEnd(id uint64, failed bool) {
	t := &spliceTab
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.calls, id)
	t.orphans = t.orphans || failed
	if !t.orphans {
		return
	}
	// An entry is made during the call it serves; made before every
	// running call began, its call has returned without claiming it.
	oldest := t.seq + 1
	for _, start := range t.calls {
		oldest = min(oldest, start)
	}
	left := false
	for k, e := range t.m {
		if e.seq < oldest {
			delete(t.m, k)
		} else {
			left = true
		}
	}
	t.orphans = left && len(t.calls) > 0
}

// A spliceFormat is how one codec writes and finds placeholders. A
// placeholder is lead, then 0xff and the marker (what Marshal looks for:
// json never writes 0xff, which is not UTF-8, and replaces it in strings;
// cbor writes it only inside data), then the key, then suffix.
type spliceFormat struct {
	lead, suffix []byte
	hexKey       bool // the marker and key are written in hex (JSON), else raw
	// newEncoder returns the library's encoder, writing to w what its
	// Marshal returns, followed by trail bytes.
	newEncoder func(w io.Writer) interface{ Encode(any) error }
	trail      int
	// wrap reports err from below a slot of type slot as the library
	// reports an error of a marshaler.
	wrap func(slot reflect.Type, err error) error
	// cycle is the error for v, which refers to itself.
	cycle func(v reflect.Value) error

	once   sync.Once
	marker []byte
}

// mark is what Marshal looks for.
func (f *spliceFormat) mark() []byte {
	f.once.Do(func() {
		if f.hexKey {
			f.marker = append([]byte{0xff}, hex.EncodeToString(spliceMarker[:])...)
		} else {
			f.marker = append([]byte{0xff}, spliceMarker[:]...)
		}
	})
	return f.marker
}

func (f *spliceFormat) keyLen() int {
	if f.hexKey {
		return 2 * len(spliceKey{})
	}
	return len(spliceKey{})
}

// size is the length of a placeholder.
func (f *spliceFormat) size() int {
	return len(f.lead) + len(f.mark()) + f.keyLen() + len(f.suffix)
}

// placeholder returns the placeholder of k.
func (f *spliceFormat) placeholder(k spliceKey) []byte {
	b := make([]byte, 0, f.size())
	b = append(append(b, f.lead...), f.mark()...)
	if f.hexKey {
		b = hex.AppendEncode(b, k[:])
	} else {
		b = append(b, k[:]...)
	}
	return append(b, f.suffix...)
}

// A splicePart is one encoding, arena[start:end], and the placeholders in
// it that name entries (claimed): holes[i] at arena[at[i]:].
type splicePart struct {
	start, end int
	at         []int
	holes      []spliceEntry
	next       int // the hole to fill next
	pos        int // what of the part is written
	key        splicePath
	slot       reflect.Type
}

// A splicePath names what a part encodes.
type splicePath struct {
	si *slotInfo
	p  unsafe.Pointer
	n  int
}

// part finds and claims the placeholders of arena[start:].
func (f *spliceFormat) part(arena []byte, start int, mark []byte) splicePart {
	p := splicePart{start: start, end: len(arena), pos: start}
	size := f.size()
	for i := start + len(f.lead); i < len(arena); {
		j := bytes.Index(arena[i:], mark)
		if j < 0 {
			return p
		}
		i += j
		at := i - len(f.lead)
		if at >= start && len(arena)-at >= size && bytes.Equal(arena[at:i], f.lead) {
			if e, ok := f.entryAt(arena[i+len(mark) : at+size]); ok {
				p.at = append(p.at, at)
				p.holes = append(p.holes, e)
				i = at + size
				continue
			}
		}
		i++
	}
	return p
}

// entryAt claims the entry whose key and suffix are b, if there is one.
func (f *spliceFormat) entryAt(b []byte) (spliceEntry, bool) {
	var k spliceKey
	kl := f.keyLen()
	if !bytes.Equal(b[kl:], f.suffix) {
		return spliceEntry{}, false
	}
	if f.hexKey {
		if _, err := hex.Decode(k[:], b[:kl]); err != nil {
			return spliceEntry{}, false
		}
	} else {
		copy(k[:], b[:kl])
	}
	return claim(k)
}

// marshalSpliced encodes v (a view that may hold slots) with the library,
// then, depth first, what each slot met stands for, writing each encoding
// with its placeholders filled. The encodings on the path are kept, at the
// end of one arena (without recursion: a list's parts nest as deep as the
// list), and so are the slots they stand for: meeting one of those again
// inside itself is a cycle, which the library would report, or recurse on
// forever.
func (f *spliceFormat) marshalSpliced(v any) (out []byte, err error) {
	id := spliceBegin()
	defer func() { spliceEnd(id, err != nil) }()
	bufs := spliceBufs.Get().(*spliceBuf)
	defer bufs.put()
	arena := &bufs.arena
	enc := f.newEncoder(arena)
	if err = enc.Encode(v); err != nil {
		return nil, err
	}
	arena.Truncate(arena.Len() - f.trail)
	mark := f.mark()
	stack := []splicePart{f.part(arena.Bytes(), 0, mark)}
	if len(stack[0].holes) == 0 {
		return bytes.Clone(arena.Bytes()), nil
	}
	w := bufs.out[:0] // what is written; out is only the result
	defer func() { bufs.out = w }()
	path := map[splicePath]bool{}
	size := f.size()
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		b := arena.Bytes()
		if top.next == len(top.holes) {
			w = append(w, b[top.pos:top.end]...)
			delete(path, top.key)
			arena.Truncate(top.start)
			stack = stack[:len(stack)-1]
			continue
		}
		e, at := &top.holes[top.next], top.at[top.next]
		top.next++
		w = append(w, b[top.pos:at]...)
		top.pos = at + size
		// A slot and its memory (a pointer, a map, or a slice's array
		// and length) name what it encodes.
		key := splicePath{e.si, e.mem.p, e.mem.n}
		x := reflect.NewAt(e.si.view, unsafe.Pointer(&e.mem)).Elem()
		if path[key] {
			// Reported from the outermost slot, as a walk from there
			// would find it.
			outer := e.slot
			if len(stack) > 1 {
				outer = stack[1].slot
			}
			return nil, f.wrap(outer, f.cycle(x))
		}
		start := arena.Len()
		if err = enc.Encode(x.Interface()); err != nil {
			err = f.wrap(e.slot, err)
			for i := len(stack) - 1; i > 0; i-- {
				err = f.wrap(stack[i].slot, err)
			}
			return nil, err
		}
		arena.Truncate(arena.Len() - f.trail)
		path[key] = true
		p := f.part(arena.Bytes(), start, mark)
		p.key, p.slot = key, e.slot
		stack = append(stack, p)
	}
	return bytes.Clone(w), nil
}

// A spliceBuf holds the buffers of one Marshal, reused as the libraries
// reuse theirs: the result is copied out of them, once.
type spliceBuf struct {
	arena bytes.Buffer
	out   []byte
}

var spliceBufs = sync.Pool{New: func() any { return new(spliceBuf) }}

// spliceBufKeep is the largest buffer kept for reuse: a rare huge value
// does not stay in memory.
const spliceBufKeep = 4 << 20

func (b *spliceBuf) put() {
	if b.arena.Cap() > spliceBufKeep || cap(b.out) > spliceBufKeep {
		return
	}
	b.arena.Reset()
	spliceBufs.Put(b)
}

// spliceTypes caches mayHoldSlot by view type.
var spliceTypes sync.Map // map[reflect.Type]bool

// mayHoldSlot reports whether encoding v, a view, may meet a slot (in its
// type or in what an interface box of it holds), and so needs splicing.
func mayHoldSlot(v any) bool {
	t := reflect.TypeOf(v)
	if t == nil {
		return false
	}
	if h, ok := spliceTypes.Load(t); ok {
		return h.(bool)
	}
	h := holdsWrapper(t, map[reflect.Type]bool{})
	spliceTypes.Store(t, h)
	return h
}
