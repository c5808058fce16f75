package codec

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
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
	m       map[spliceKey]*spliceEntry
	seq     uint64
	calls   map[uint64]uint64 // running Marshal calls: id → seq at start
	orphans bool              // a call failed since the last full sweep
}{
	rng: func() *rand.ChaCha8 {
		var seed [32]byte
		crand.Read(seed[:]) // never fails (crypto/rand crashes the process instead)
		return rand.NewChaCha8(seed)
	}(),
	m:     map[spliceKey]*spliceEntry{},
	calls: map[uint64]uint64{},
}

// spliceMarker starts every placeholder, so that Marshal finds them with
// bytes.Index; it is random so that ordinary data rarely matches it (data
// that does is only looked up, and left alone).
var spliceMarker = func() (m [8]byte) {
	crand.Read(m[:])
	return m
}()

// hold records the slot at p (of type slot, standing for si) and returns
// its key.
func hold(si *slotInfo, slot reflect.Type, p unsafe.Pointer) spliceKey {
	e := &spliceEntry{si: si, slot: slot}
	// Copied through reflect, so the GC's write barriers see the pointer.
	reflect.NewAt(si.view, unsafe.Pointer(&e.mem)).Elem().Set(si.value(p))
	var k spliceKey
	t := &spliceTab
	t.mu.Lock()
	for {
		t.rng.Read(k[:])
		if t.m[k] == nil {
			break
		}
	}
	t.seq++
	e.seq = t.seq
	t.m[k] = e
	t.mu.Unlock()
	return k
}

// claim removes and returns the entry named k, or nil.
func claim(k spliceKey) *spliceEntry {
	t := &spliceTab
	t.mu.Lock()
	e := t.m[k]
	delete(t.m, k)
	t.mu.Unlock()
	return e
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

// A spliceFormat is how one codec writes and finds placeholders.
type spliceFormat struct {
	// prefix starts every placeholder; the key follows, then suffix.
	prefix, suffix []byte
	hexKey         bool // the key is written in hex (JSON), else raw
	marshal        func(any) ([]byte, error)
	// wrap reports err from below a slot of type slot as the library
	// reports an error of a marshaler.
	wrap func(slot reflect.Type, err error) error
	// cycle is the error for v, which refers to itself.
	cycle func(v reflect.Value) error
}

func (f *spliceFormat) keyLen() int {
	if f.hexKey {
		return 2 * len(spliceKey{})
	}
	return len(spliceKey{})
}

// size is the length of a placeholder.
func (f *spliceFormat) size() int { return len(f.prefix) + f.keyLen() + len(f.suffix) }

// placeholder returns the placeholder of k.
func (f *spliceFormat) placeholder(k spliceKey) []byte {
	b := make([]byte, 0, f.size())
	b = append(b, f.prefix...)
	if f.hexKey {
		b = hex.AppendEncode(b, k[:])
	} else {
		b = append(b, k[:]...)
	}
	return append(b, f.suffix...)
}

// A splicePart is one encoding, and the placeholders in it that name
// entries (claimed): holes[i] at b[at[i]:].
type splicePart struct {
	b     []byte
	at    []int
	holes []*spliceEntry
	next  int // the hole to fill next
	pos   int // what of b is written
	key   splicePath
	slot  reflect.Type
}

// A splicePath names what a part encodes.
type splicePath struct {
	si *slotInfo
	p  unsafe.Pointer
	n  int
}

// part finds and claims the placeholders of b.
func (f *spliceFormat) part(b []byte) splicePart {
	p := splicePart{b: b}
	for i := 0; ; {
		j := bytes.Index(b[i:], f.prefix)
		if j < 0 {
			return p
		}
		i += j
		if e := f.entryAt(b[i:]); e != nil {
			p.at = append(p.at, i)
			p.holes = append(p.holes, e)
			i += f.size()
		} else {
			i++
		}
	}
}

// entryAt claims the entry whose placeholder starts b, if b starts with
// one.
func (f *spliceFormat) entryAt(b []byte) *spliceEntry {
	b = b[len(f.prefix):]
	var k spliceKey
	kl := f.keyLen()
	if len(b) < kl+len(f.suffix) || !bytes.Equal(b[kl:kl+len(f.suffix)], f.suffix) {
		return nil
	}
	if f.hexKey {
		if _, err := hex.Decode(k[:], b[:kl]); err != nil {
			return nil
		}
	} else {
		copy(k[:], b[:kl])
	}
	return claim(k)
}

// marshalSpliced encodes v (a view that may hold slots) with f.marshal,
// then, depth first, what each slot met stands for, writing each encoding
// with its placeholders filled. The parts on the path are kept (without
// recursion: a list's parts nest as deep as the list), and so are the
// slots they stand for: meeting one of those again inside itself is a
// cycle, which the library would report, or recurse on forever.
func (f *spliceFormat) marshalSpliced(v any) (out []byte, err error) {
	id := spliceBegin()
	defer func() { spliceEnd(id, err != nil) }()
	root, err := f.marshal(v)
	if err != nil {
		return nil, err
	}
	stack := []splicePart{f.part(root)}
	if len(stack[0].holes) == 0 {
		return root, nil
	}
	out = make([]byte, 0, 2*len(root))
	path := map[splicePath]bool{}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next == len(top.holes) {
			out = append(out, top.b[top.pos:]...)
			delete(path, top.key)
			stack = stack[:len(stack)-1]
			continue
		}
		e, at := top.holes[top.next], top.at[top.next]
		top.next++
		out = append(out, top.b[top.pos:at]...)
		top.pos = at + f.size()
		// A slot and its memory (a pointer, a map, or a slice's array
		// and length) name what it encodes.
		key := splicePath{e.si, e.mem.p, e.mem.n}
		x := reflect.NewAt(e.si.view, unsafe.Pointer(&e.mem)).Elem()
		var b []byte
		if path[key] {
			// Reported from the outermost slot, as a walk from there
			// would find it.
			outer := e.slot
			if len(stack) > 1 {
				outer = stack[1].slot
			}
			return nil, f.wrap(outer, f.cycle(x))
		}
		if b, err = f.marshal(x.Interface()); err != nil {
			err = f.wrap(e.slot, err)
			for i := len(stack) - 1; i > 0; i-- {
				err = f.wrap(stack[i].slot, err)
			}
			return nil, err
		}
		path[key] = true
		p := f.part(b)
		p.key, p.slot = key, e.slot
		stack = append(stack, p)
	}
	return out, nil
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
