package codec

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
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

// value returns what the entry stands for, as the slot's marshaler would
// have handed it to the library.
func (e *spliceEntry) value() any {
	return reflect.NewAt(e.si.view, unsafe.Pointer(&e.mem)).Elem().Interface()
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
	// check, if set, is run on what an entry stands for before it is
	// encoded, for the entries the top-level encoding meets (it covers
	// everything below them): JSON's cycle walk.
	check func(any) error
	// wrap reports err from below a slot of type slot as the library
	// reports an error of a marshaler.
	wrap func(slot reflect.Type, err error) error
}

func (f *spliceFormat) keyLen() int {
	if f.hexKey {
		return 2 * len(spliceKey{})
	}
	return len(spliceKey{})
}

// placeholder returns the placeholder of k.
func (f *spliceFormat) placeholder(k spliceKey) []byte {
	b := make([]byte, 0, len(f.prefix)+f.keyLen()+len(f.suffix))
	b = append(b, f.prefix...)
	if f.hexKey {
		b = hex.AppendEncode(b, k[:])
	} else {
		b = append(b, k[:]...)
	}
	return append(b, f.suffix...)
}

// A splicePart is one encoding with the placeholders in it.
type splicePart struct {
	b     []byte
	holes []spliceHole
}

// A spliceHole is a placeholder at b[at:at+n] filled by parts[part].
type spliceHole struct{ at, part int }

// holes finds the placeholders in b that name entries, claims them, and
// returns them with their entries.
func (f *spliceFormat) holes(b []byte) ([]int, []*spliceEntry) {
	n := len(f.prefix) + f.keyLen() + len(f.suffix)
	var at []int
	var es []*spliceEntry
	for i := 0; ; {
		j := bytes.Index(b[i:], f.prefix)
		if j < 0 {
			return at, es
		}
		i += j
		if e := f.entryAt(b[i:]); e != nil {
			at = append(at, i)
			es = append(es, e)
			i += n
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
// then every entry its slots made, breadth first, and returns the
// encodings spliced together.
func (f *spliceFormat) marshalSpliced(v any) (out []byte, err error) {
	id := spliceBegin()
	defer func() { spliceEnd(id, err != nil) }()
	root, err := f.marshal(v)
	if err != nil {
		return nil, err
	}
	// parts[0] is v's encoding; parents[i] is the part whose hole parts[i]
	// fills, for wrapping errors as nested marshalers would.
	parts := []splicePart{{b: root}}
	parents := []int{-1}
	slots := []reflect.Type{nil}
	size := len(root)
	n := len(f.prefix) + f.keyLen() + len(f.suffix)
	for i := 0; i < len(parts); i++ {
		at, es := f.holes(parts[i].b)
		for j, e := range es {
			k := len(parts)
			parts[i].holes = append(parts[i].holes, spliceHole{at[j], k})
			parts = append(parts, splicePart{})
			parents = append(parents, i)
			slots = append(slots, e.slot)
			if err != nil {
				continue // claim the rest: they are orphans now
			}
			x := e.value()
			if i == 0 && f.check != nil {
				err = f.check(x)
			}
			if err == nil {
				parts[k].b, err = f.marshal(x)
			}
			if err != nil {
				for p := k; p > 0; p = parents[p] {
					err = f.wrap(slots[p], err)
				}
			}
			size += len(parts[k].b) - n
		}
		if err != nil {
			// Claim what the parts already made hold, so it is not
			// left to the sweep.
			for _, p := range parts[i+1:] {
				f.holes(p.b)
			}
			return nil, err
		}
	}
	if len(parts) == 1 {
		return root, nil
	}
	return f.splice(parts, size, n), nil
}

// splice writes parts[0] with every hole filled, depth first without
// recursion (a list's parts nest as deep as the list).
func (f *spliceFormat) splice(parts []splicePart, size, n int) []byte {
	out := make([]byte, 0, size)
	type frame struct{ part, hole, pos int }
	stack := []frame{{}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		p := &parts[top.part]
		if top.hole == len(p.holes) {
			out = append(out, p.b[top.pos:]...)
			stack = stack[:len(stack)-1]
			continue
		}
		h := p.holes[top.hole]
		out = append(out, p.b[top.pos:h.at]...)
		top.hole++
		top.pos = h.at + n
		stack = append(stack, frame{part: h.part})
	}
	return out
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
