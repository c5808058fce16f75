package memcache

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
)

// A SizeGuard checks encoded values against a memcached item size limit
// before any network I/O, and explains a rejection field by field. Its zero
// value checks against a default memcached (-I 1m).
type SizeGuard struct {
	// ItemSizeMax is the server's item_size_max; zero means
	// DefaultItemSizeMax (1 MiB).
	ItemSizeMax int
	// TopFields is how many of the biggest fields a TooLargeError lists;
	// zero means 5.
	TopFields int
}

// Limit returns the largest value the server accepts under the memcached
// key with the given flags (MaxValueLen of the guard's item_size_max).
func (g SizeGuard) Limit(key string, flags uint32) int {
	max := g.ItemSizeMax
	if max <= 0 {
		max = DefaultItemSizeMax
	}
	return MaxValueLen(max, key, flags)
}

// Check returns nil if size bytes fit under the memcached key with the
// given flags, and otherwise a *TooLargeError for the caller's key
// userKey, whose Fields explain the size of v as encoded by c.
func (g SizeGuard) Check(c codec.Codec, userKey, key string, size int, flags uint32, v any) error {
	limit := g.Limit(key, flags)
	if size <= limit {
		return nil
	}
	top := g.TopFields
	if top <= 0 {
		top = 5
	}
	return newTooLargeError(c, userKey, size, limit, v, top)
}

// newTooLargeError returns the TooLargeError of v, with its breakdown.
func newTooLargeError(c codec.Codec, userKey string, size, limit int, v any, top int) *TooLargeError {
	fields, partial := breakdown(c, v, top)
	return &TooLargeError{Key: userKey, Size: size, Limit: limit, Codec: c.Name(), Fields: fields, Partial: partial}
}

// A TooLargeError is returned by a Store's writes, before any network I/O,
// when the encoded value does not fit the server's item size limit. It
// carries the biggest contributors, so the person reading the log knows
// which field to strip. errors.Is(err, ErrTooLarge) holds.
type TooLargeError struct {
	Key    string      // the caller's key
	Size   int         // the value's size as it would be sent (after compression)
	Limit  int         // the largest value the server accepts under this key
	Codec  string      // the codec that encoded it
	Fields []FieldSize // the biggest fields by encoded size, largest first
	// Partial says the breakdown stopped early, at its budget (see
	// Breakdown): Fields lists the biggest of the parts it measured.
	Partial bool
}

// Error gives the key, the size, the limit and the biggest fields.
func (e *TooLargeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "memcache: value for %s is %s encoded with %s, over the limit of %s", quoteKey(e.Key), FormatBytes(e.Size), e.Codec, FormatBytes(e.Limit))
	if len(e.Fields) > 0 {
		b.WriteString("; biggest fields")
		if e.Partial {
			b.WriteString(" (breakdown stopped early, at its budget)")
		}
		b.WriteString(": ")
		for i, f := range e.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.String())
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrTooLarge) hold.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// FieldSize is the encoded size of one part of a value.
type FieldSize struct {
	// Path names the part the way Go code would reach it, from the type's
	// name: Product.Reviews[3].Body, Product.Attributes["color"].
	Path string
	// Size is the part's size encoded on its own by the codec, before
	// compression.
	Size int
}

// String renders the part as "Path: size", as a TooLargeError lists it.
func (f FieldSize) String() string { return f.Path + ": " + FormatBytes(f.Size) }

// FormatBytes renders a byte count the way the guard's messages do:
// 512 B, 41.3 KB, 1.2 MB (powers of 1024).
func FormatBytes(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
}

// Breakdown returns the top parts of v by encoded size with c, largest
// first, walking fields, elements and map entries into every part that
// holds at least a twentieth of the whole. Unexported fields are skipped,
// and so are cached properties when c strips them
// (codec.StripsCachedProperties): what is listed is what is on the wire. A part is left out when one of
// its own parts accounts for nearly all of it, so the list names the field
// to act on rather than each of its parents.
//
// Breakdown encodes each part on its own, so it is meant for error paths and
// tests, not for every write. It is bounded by the bytes it encodes: at
// most breakdownFactor times the value's own encoding (plus one part's),
// and by 20,000 encodings; it looks at no more than 1,000 elements of any
// one slice or map. A deep value, each of whose parts holds nearly all of
// it, thus costs a few encodings of the whole, not one per level; a
// TooLargeError says when its breakdown stopped early.
func Breakdown(c codec.Codec, v any, top int) []FieldSize {
	fields, _ := breakdown(c, v, top)
	return fields
}

// breakdown is Breakdown that also reports whether it stopped early.
func breakdown(c codec.Codec, v any, top int) ([]FieldSize, bool) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return nil, false
	}
	w := breakdownWalk{c: c, encodings: maxBreakdownEncodings, strips: codec.StripsCachedProperties(c)}
	total := w.size(rv, 0)
	if total <= 0 {
		return nil, false
	}
	w.bytes = breakdownFactor * total
	w.min = total / 20
	w.expand(rv, rootName(rv.Type()), total)
	sort.SliceStable(w.out, func(i, j int) bool { return w.out[i].Size > w.out[j].Size })
	if len(w.out) > top {
		w.out = w.out[:top]
	}
	return w.out, w.stopped
}

type breakdownWalk struct {
	c         codec.Codec
	strips    bool // c leaves cached properties out
	min       int  // parts smaller than this are not walked into
	encodings int  // encodings left, so a huge value cannot stall an error path
	bytes     int  // bytes left to encode, for the same reason
	stopped   bool // a part went unmeasured for want of budget
	out       []FieldSize
}

const (
	maxBreakdownElems     = 1000
	maxBreakdownEncodings = 20000
	// breakdownFactor bounds the bytes a breakdown encodes, as a multiple
	// of the value's encoded size.
	breakdownFactor = 4
)

func rootName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() != "" {
		return t.Name()
	}
	return "value"
}

// size is v's encoded size on its own, or -1 if it cannot be encoded alone
// or the budget does not allow a part of a whole of parent bytes (a part
// is encoded only while the bytes left would cover the whole again).
func (w *breakdownWalk) size(v reflect.Value, parent int) int {
	if !v.CanInterface() {
		return -1
	}
	if w.encodings <= 0 || w.bytes < parent {
		w.stopped = true
		return -1
	}
	w.encodings--
	b, err := w.c.Marshal(v.Interface())
	if err != nil {
		return -1
	}
	w.bytes -= len(b)
	return len(b)
}

// expand records v's parts under path and walks into the big ones. It
// reports whether one part holds nearly all of v.
func (w *breakdownWalk) expand(v reflect.Value, path string, size int) (dominated bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	type part struct {
		v    reflect.Value
		path string
	}
	var parts []part
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || (w.strips && cacheprop.IsCached(f)) {
				continue
			}
			parts = append(parts, part{v.Field(i), path + "." + f.Name})
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len() && i < maxBreakdownElems; i++ {
			parts = append(parts, part{v.Index(i), fmt.Sprintf("%s[%d]", path, i)})
		}
	case reflect.Map:
		it := v.MapRange()
		for n := 0; n < maxBreakdownElems && it.Next(); n++ {
			parts = append(parts, part{it.Value(), fmt.Sprintf("%s[%#v]", path, it.Key().Interface())})
		}
	}
	for _, p := range parts {
		n := w.size(p.v, size)
		if n < 0 {
			continue
		}
		if n >= size*9/10 && size > 0 {
			dominated = true
		}
		inner := false
		if n >= w.min && n > 0 {
			inner = w.expand(p.v, p.path, n)
		}
		if !inner {
			w.out = append(w.out, FieldSize{Path: p.path, Size: n})
		}
	}
	return dominated
}
