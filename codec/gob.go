package codec

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
)

// Gob is the codec for encoding/gob, registered as "gob".
//
// Marshal writes one self-contained gob stream per value (type descriptors
// first, then the value), as a cache needs: each value is decoded on its
// own. Cached properties are left out, deeply. Plain encoding/gob decodes the
// result into the type without the cached fields, and Unmarshal decodes what
// plain gob wrote for that type; a struct holding an exported
// cacheprop.Lazy, which plain gob refuses ("has no exported fields"),
// simply works. Unmarshal decodes as gob does (fields absent from the
// stream keep their values) and then resets every cached property it can
// reach, so no stale derived data survives.
//
// Types that gob encodes with their own methods (GobEncode, then
// MarshalBinary, including methods promoted from an embedded field such as
// time.Time) are left to those methods, cached fields or not.
//
// Recursive types (trees, lists) that hold cached properties take another
// route: the value is copied into tables, one row per struct of the
// recursive type, with pointers turned into row numbers. Such a stream
// round-trips through Gob, shared pointers and cycles included, but it is
// not what plain gob writes for the type without cached fields, and
// Unmarshal overwrites the target's data fields instead of merging into
// them. Where the type recurses through pointers, Unmarshal makes its
// structs together, one block per type (their slices of pointers too), so
// a node kept after the rest of its value is dropped keeps the whole block
// alive, the way a subslice keeps its array. Unmarshal still reads plain
// gob of the type without cached fields into a recursive type, as gob
// does. The table format is part of the type's wire schema ([WireSchema]
// writes it "tables(...)"), so adding the first cached property to a
// recursive type, or removing the last, changes its gob fingerprint: a
// reader of the other shape misses instead of failing to decode (the one
// change of cached properties that does not keep a fingerprinted gob
// cache; JSON, Msgpack and CBOR keep it).
//
// Values held in interface-typed fields (any, map[string]any) are written
// by gob with their own types, which gob needs registered (gob.Register)
// and which cannot be swapped for views (gob maps a registered name to one
// type). Gob strips them another way: it hands gob a copy of the paths
// leading to such values in which their cached properties are zero. gob
// leaves zero fields out, so none of the derived data is written, and plain
// gob decodes them into the same registered types with those fields empty;
// the type descriptor still names the cached fields. The user's value is
// never modified, and a value whose interfaces hold no cached data is not
// copied. A struct with an exported Lazy behind an interface is still
// refused by gob ("has no exported fields"): its type is what gob rejects.
// After Unmarshal, the cached properties of what was decoded into
// interfaces are reset like all others.
//
// Errors: Marshal and Unmarshal return an *[UnsupportedTypeError] (Codec
// "gob") for a type whose cached properties cannot be left out: a map key
// type that holds them, or a struct with nothing left to send once they are
// gone, other than as a field (such a field is simply not sent). Errors
// from encoding/gob are wrapped with the user's type. Unmarshal of a
// recursive type whose row numbers do not fit returns an error wrapping
// [ErrGobCorrupt], and Marshal of a value with a cycle through interfaces
// one wrapping [ErrGobTooDeep]. Neither panics: a nil pointer given to
// Marshal is an error, where gob.Encoder panics. Garbage input is an error.
//
// Unmarshal runs within the decode budget (see [Budget]; [WithBudget] sets
// another). Before gob reads a stream, the codec walks its wire format (the
// type definitions, then the value, interface values and their own type
// definitions included) and refuses, with a *[BudgetError], a value nested
// deeper than the budget allows (gob recurses once per level, and a stack
// overflow kills the process) or one whose counts would make gob allocate
// more than the budget, charging each element, map entry and struct as the
// largest the target type can hold; a length or count that claims more
// bytes than its message has, which gob would believe up to about 10 MB,
// is refused as corrupt. Registered types behind interfaces are charged a
// fixed size, as gob's registry cannot be asked for theirs.
var Gob Codec = gobCodec{}

func init() {
	if err := Register(Gob); err != nil {
		panic(err)
	}
}

// gobCodec's zero value decodes within the default budget.
type gobCodec struct{ budget Budget }

func (c gobCodec) withBudget(b Budget) Codec { return gobCodec{budget: b} }

// StripsCachedProperties reports true: a budget does not change what is
// written, and codecs from [WithBudget] are not == [Gob].
func (gobCodec) StripsCachedProperties() bool { return true }

func (gobCodec) Name() string { return "gob" }

// gobRoute says how a type is encoded.
type gobRoute uint8

const (
	gobDirect gobRoute = iota // nothing to strip: encoding/gob as it is
	gobView                   // a view type over the user's memory
	gobFlat                   // recursive: copied into tables
	gobFail                   // err says why
)

// A gobPlan is the per-type work of Gob, done once.
type gobPlan struct {
	route gobRoute
	view  reflect.Type // gobView: the view of the plan's type
	flat  *gobFlatPlan
	err   error
	// ifaces: what the encoded value holds in interfaces may need its
	// cached properties zeroed (gob_iface.go).
	ifaces bool
	// size is the length of the last encoding, so the next one starts with
	// a buffer that fits instead of growing one several times.
	size atomic.Int64
	// decs keeps decoders that have read the type definitions of earlier
	// streams (gob_stream.go).
	decs sync.Pool // *gobStreamDec
}

var gobPlans sync.Map // map[reflect.Type]*gobPlan

// gobPlanFor returns the plan for values of type t, building it once. Two
// goroutines may build the same plan at once; the first stored wins.
func gobPlanFor(t reflect.Type) *gobPlan {
	if p, ok := gobPlans.Load(t); ok {
		return p.(*gobPlan)
	}
	p := buildGobPlan(t)
	actual, _ := gobPlans.LoadOrStore(t, p)
	return actual.(*gobPlan)
}

func buildGobPlan(t reflect.Type) *gobPlan {
	if !reachesCached(t) {
		return &gobPlan{route: gobDirect, ifaces: gobReachesIface(t)}
	}
	v, err := newGobViewBuilder(t).view(t, "")
	switch {
	case err == nil:
		if v == t {
			return &gobPlan{route: gobDirect, ifaces: gobReachesIface(t)}
		}
		return &gobPlan{route: gobView, view: v, ifaces: gobReachesIface(t)}
	case errors.Is(err, errGobRecursive):
		fp, err := newGobFlatPlan(t)
		if err != nil {
			return &gobPlan{route: gobFail, err: err}
		}
		return &gobPlan{route: gobFlat, flat: fp, ifaces: gobReachesIface(fp.msg)}
	default:
		return &gobPlan{route: gobFail, err: err}
	}
}

func (gobCodec) Marshal(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return nil, errors.New("codec: gob: cannot encode nil value")
	}
	// The plan is for the type pointed to, so that gob can be handed a
	// pointer into the user's value.
	var t reflect.Type
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			// gob.Encoder panics here; a codec returns an error.
			return nil, fmt.Errorf("codec: gob: cannot encode nil pointer of type %v", rv.Type())
		}
		t = rv.Type().Elem()
	} else {
		t = rv.Type()
	}
	p := gobPlanFor(t)
	if p.route == gobFail {
		return nil, p.err
	}
	var buf bytes.Buffer
	if n := p.size.Load(); n > 0 {
		buf.Grow(int(n) + int(n)/8)
	}
	enc := gob.NewEncoder(&buf)
	var err error
	if p.route == gobDirect && !p.ifaces {
		err = enc.Encode(v)
	} else {
		err = p.encode(enc, rv, t)
	}
	if err != nil {
		return nil, gobWrap("marshal", t, err)
	}
	p.size.Store(int64(buf.Len()))
	return buf.Bytes(), nil
}

// encode is Marshal for the routes that need more than gob: rv holds a
// value of type t or points to one.
func (p *gobPlan) encode(enc *gob.Encoder, rv reflect.Value, t reflect.Type) error {
	x := rv
	if rv.Kind() == reflect.Pointer {
		x = rv.Elem()
	}
	if p.route == gobFlat {
		if !x.CanAddr() {
			c := reflect.New(t).Elem()
			c.Set(x)
			x = c
		}
		msg, err := p.flat.encode(x)
		if err == nil && p.ifaces {
			msg, err = gobStripIfaces(msg)
		}
		if err != nil {
			return err
		}
		return enc.EncodeValue(msg)
	}
	if p.ifaces {
		var err error
		if x, err = gobStripIfaces(x); err != nil {
			return err
		}
	}
	if p.route == gobDirect {
		return enc.EncodeValue(x)
	}
	if !x.CanAddr() {
		// A view needs an address; a value passed by value has none.
		c := reflect.New(t).Elem()
		c.Set(x)
		x = c
	}
	return enc.EncodeValue(reflect.NewAt(p.view, x.Addr().UnsafePointer()))
}

// gobStripIfaces returns x, or the copy of it that gob_iface.go makes when
// its interfaces hold cached properties.
func gobStripIfaces(x reflect.Value) (reflect.Value, error) {
	c, changed, err := (&gobStripper{}).strip(x, false)
	if err != nil || !changed {
		return x, err
	}
	return c, nil
}

func (c gobCodec) Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if err := gobCheckFraming(data); err != nil {
		return gobWrap("unmarshal", reflect.TypeOf(v), err)
	}
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		// Whatever gob says about nil and non-pointers is the answer.
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
			return gobWrap("unmarshal", reflect.TypeOf(v), err)
		}
		return nil
	}
	t := rv.Type().Elem()
	p := gobPlanFor(t)
	sizes := gobSizesOf(t)
	if p.route == gobFlat {
		// A row of a table, and the user's struct made from it with the
		// decode's bookkeeping for it (gobFlatDec).
		sizes = sizes.add(gobSizesOf(p.flat.msg))
		sizes.ptr += 40
	}
	lead, err := gobCheckBudget(data, t, sizes, c.budget)
	if err != nil && p.route != gobFail {
		return gobWrap("unmarshal", t, err)
	}
	if p.route == gobFail {
		return p.err
	}
	sd := p.decoder(data, lead)
	dec := sd.dec
	// Only what gob decodes through a view or the tables can skip the
	// reset walk (see decodesFresh): the type itself has cached fields
	// gob fills.
	fresh := p.route != gobDirect && decodesFresh(v)
	switch p.route {
	case gobDirect:
		err = dec.Decode(v)
	case gobView:
		err = dec.DecodeValue(reflect.NewAt(p.view, rv.UnsafePointer()))
	case gobFlat:
		if s := p.flat.slab; s != nil && (fresh || !s.rootNested) {
			msg := reflect.New(s.msg)
			if err = dec.DecodeValue(msg); err == nil {
				err = s.decode(msg.Elem(), rv.Elem(), fresh)
			}
			// The slab decode leaves nothing stale but what interfaces
			// hold (see copyTo).
			fresh = fresh || (err == nil && !p.ifaces)
		} else {
			msg := reflect.New(p.flat.msg)
			if err = dec.DecodeValue(msg); err == nil {
				err = p.flat.decode(msg.Elem(), rv.Elem(), c.budget)
			}
		}
		if err != nil {
			// Not the table format: perhaps plain gob of the type without
			// cached fields, which gob decodes into the user's type itself
			// (it handles recursive types; only building views of them is
			// impossible). The table error is the one reported.
			fresh, sd.reuse = false, false
			if gob.NewDecoder(bytes.NewReader(data)).Decode(v) == nil {
				err = nil
			}
		}
	}
	if err == nil {
		p.release(sd)
	}
	// Reset even after a failed decode: it may have written part of the
	// target, and what it left must not pass for fresh derived data.
	if !fresh {
		resetCached(rv)
	}
	if err != nil {
		return gobWrap("unmarshal", t, err)
	}
	return nil
}

// gobWrap puts the operation and the user's type in front of an error from
// gob, which would otherwise name the view type.
func gobWrap(op string, t reflect.Type, err error) error {
	var ue *UnsupportedTypeError
	if errors.As(err, &ue) {
		return err
	}
	if t == nil {
		return fmt.Errorf("codec: gob: %s: %w", op, err)
	}
	return fmt.Errorf("codec: gob: %s %v: %w", op, t, err)
}

// gobCheckFraming checks each message length in a gob stream against the
// bytes that follow it. gob believes a length and, for one that claims more
// than 10 MB, allocates and reads 10 MB before it finds the input short: six
// bytes of garbage would cost that much. Every stream an encoder writes
// passes; only the truncated or corrupt fail, as gob would fail them.
func gobCheckFraming(data []byte) error {
	for len(data) > 0 {
		n, w := gobUint(data)
		if w == 0 {
			return nil // a malformed count: gob says what is wrong with it
		}
		data = data[w:]
		if n > uint64(len(data)) {
			return fmt.Errorf("message claims %d bytes, %d left: %w", n, len(data), io.ErrUnexpectedEOF)
		}
		data = data[n:]
	}
	return nil
}

// gobUint decodes one of gob's unsigned integers: a byte below 0x80 is the
// value, otherwise its negation is the count of big-endian bytes that
// follow. w is 0 if data does not hold a whole one.
func gobUint(data []byte) (n uint64, w int) {
	if data[0] < 0x80 {
		return uint64(data[0]), 1
	}
	k := -int(int8(data[0]))
	if k > 8 || k >= len(data) {
		return 0, 0
	}
	for _, b := range data[1 : 1+k] {
		n = n<<8 | uint64(b)
	}
	return n, 1 + k
}
