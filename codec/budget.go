package codec

import (
	"errors"
	"fmt"
)

// Every Unmarshal of this package's codecs runs within a decode budget, so
// that bytes found in a cache (which anyone who can reach memcached may have
// written) cost a reader memory, stack and time in proportion to their
// length, as a legitimate value of that length would, and never crash it.
//
// The budget of one Unmarshal of n bytes:
//   - values nest at most [DefaultMaxDepth] levels (arrays, maps, structs,
//     pointers and interfaces each count one), as encoding/json allows;
//   - decoding allocates at most [DefaultAllocFactor]·n + [AllocSlack]
//     bytes: input that declares more elements than that can hold, given the
//     size of the Go values it decodes into, is refused before decoding.
//
// Input over budget is refused with a *[BudgetError], which wraps
// [ErrBudget]; the target is left as it was or zeroed, never half-filled
// with attacker-chosen sizes. [WithBudget] gives a codec other limits.
//
// [Msgpack] and [CBOR] hold the budget with a pre-scan: before the library
// decodes anything, the codec walks the input alongside the target's type
// and adds up what decoding it would allocate (a slice's declared elements
// times the element's size, msgpack's slices twice; a map's header, first
// group and entries; a string's bytes; a pointee; what the library builds
// for an interface: []any, map[string]any or map[any]any, boxed values;
// a value of a recursive type its slot re-entry), refusing the input as
// soon as the sum exceeds the budget, or as soon as arrays, maps and CBOR
// tags nest deeper than its depth. The walk covers the whole input once,
// from the top, so both limits hold across the codec's re-entries into the
// library through slots (which restart cbor's own count of levels). The
// estimate is conservative: what an accepted input really allocates,
// library overhead included, stays within it (measured with
// runtime.MemStats.TotalAlloc, see budget_mc_test.go); an item the
// pre-scan cannot place in the type (an unknown field's, one of the wrong
// kind) is charged the most an item of its kind costs anywhere in the
// type, and so is every item of a value too small to exceed the budget
// however it were placed, which the pre-scan counts without walking the
// type. A type's own
// UnmarshalBinary, DecodeMsgpack or UnmarshalCBOR method may allocate what
// it likes: the budget charges its input as an interface's. For these two
// codecs a MaxDepth above 65535 counts as 65535: cbor's own maximum, and
// about what the libraries' recursion can take on a goroutine's stack.

// DefaultMaxDepth is how deeply values may nest in the input of every
// codec's Unmarshal unless [WithBudget] says otherwise: encoding/json's own
// limit.
const DefaultMaxDepth = 10000

// DefaultAllocFactor is the multiple of the input's length that one
// Unmarshal may allocate (plus [AllocSlack]) unless [WithBudget] says
// otherwise.
const DefaultAllocFactor = 16

// AllocSlack is the allocation every Unmarshal may make whatever the
// input's length: the libraries' own fixed costs (decoder state, gob's
// compiled type descriptions) and the target value's own size.
const AllocSlack = 1 << 20

// A Budget bounds what one Unmarshal may cost. The zero value means the
// defaults.
type Budget struct {
	// MaxDepth bounds nesting; zero means DefaultMaxDepth.
	MaxDepth int
	// AllocFactor bounds allocation to AllocFactor·len(input) + AllocSlack
	// bytes; zero means DefaultAllocFactor.
	AllocFactor int
}

// Depth returns the nesting limit b stands for.
func (b Budget) Depth() int {
	if b.MaxDepth > 0 {
		return b.MaxDepth
	}
	return DefaultMaxDepth
}

// MaxAlloc returns how many bytes decoding n bytes of input may allocate
// under b.
func (b Budget) MaxAlloc(n int) int64 {
	f := b.AllocFactor
	if f <= 0 {
		f = DefaultAllocFactor
	}
	return int64(f)*int64(n) + AllocSlack
}

// ErrBudget is wrapped by every error that refuses input over its decode
// budget: errors.Is(err, ErrBudget) tells such input from other bad input.
var ErrBudget = errors.New("codec: input over the decode budget")

// A BudgetError is returned by Unmarshal for input whose decoding would
// exceed the codec's budget. It wraps [ErrBudget].
type BudgetError struct {
	// Codec is the codec's name, such as "msgpack".
	Codec string
	// Limit names what would be exceeded: "depth" or "allocation".
	Limit string
	// Max is the budget's limit: levels for depth, bytes for allocation.
	Max int64
	// Need is what the input asks for, as far as it was read before it
	// was refused (at least Max+1).
	Need int64
}

// Error says which limit the input exceeds and by how much.
func (e *BudgetError) Error() string {
	unit := " bytes"
	if e.Limit == "depth" {
		unit = " levels"
	}
	return fmt.Sprintf("codec: %s: input over the decode budget: %s of at least %d%s, limit %d%s", e.Codec, e.Limit, e.Need, unit, e.Max, unit)
}

// Unwrap returns ErrBudget.
func (e *BudgetError) Unwrap() error { return ErrBudget }

// Is reports whether target is [ErrMsgpackDepth] and e refuses msgpack
// input for its depth: that error predates the budget, and callers test
// for it.
func (e *BudgetError) Is(target error) bool {
	return target == ErrMsgpackDepth && e.Codec == "msgpack" && e.Limit == "depth"
}

// maxScanDepth is the deepest nesting a Budget may allow msgpack and CBOR:
// cbor's own maximum (its DecOptions refuse more), and about what the
// libraries' recursion can take on a goroutine's stack.
const maxScanDepth = 65535

// clampDepth returns b with MaxDepth at most maxScanDepth.
func (b Budget) clampDepth() Budget {
	b.MaxDepth = min(b.MaxDepth, maxScanDepth)
	return b
}

// budgeted is implemented by this package's codecs.
type budgeted interface {
	withBudget(Budget) Codec
}

// WithBudget returns a codec that behaves as c, under the same name, with
// Unmarshal bounded by b instead of the default budget. c must be one of
// this package's codecs (or a codec WithBudget returned); for any other it
// returns c and false.
//
// Codecs returned by WithBudget are distinct values: compare codecs by
// Name, not with ==.
func WithBudget(c Codec, b Budget) (Codec, bool) {
	if bc, ok := c.(budgeted); ok {
		return bc.withBudget(b), true
	}
	return c, false
}
