package codec

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/leancache/leancache/cacheprop"
)

// Schema fingerprints.
//
// A deploy that changes a struct leaves the old bytes in a cache, and most
// codecs decode them into the new shape without a word: a renamed field
// reads as zero, a changed type fails at random. So a cache (memcache's
// Store WithFingerprint) records, with every value, a fingerprint of the
// wire schema of its type under its codec, and a value written under
// another fingerprint reads as a miss. The schema is the codec's: it is
// derived from the same per-library rules (field classification, tag
// options, own-method detection) with which the codecs build their views,
// so that what the fingerprint counts is what the codec writes.
//
// The wire schema is what decides the bytes: the fields the codec writes
// (cached properties and unexported fields are not written), their names
// as that codec writes them, their types and the tag options that change
// the bytes, recursively. It is rendered as a canonical text (see
// WireSchema) and the fingerprint is the first 8 bytes of its SHA-256. Go
// type names do not appear except for types that a codec encodes with
// their own methods (time.Time, a MarshalJSON), whose bytes only their
// name can stand for; nor do field order (the four codecs match fields by
// name, except in array layouts, where order is kept) or pointers (all
// four write *T as T or null). A change that leaves the bytes alone thus
// keeps the fingerprint, and with it the cache: adding a cached property
// or reordering fields does not invalidate anything.
//
// What the schema cannot see: the types of the values an interface field
// holds (known per value only), what a type's own marshal method does (only
// its name counts, so a change of its output needs a new name or a new
// namespace version), msgpack extensions registered with RegisterExt, and
// the options of a codec configured otherwise than package codec's
// defaults. The rules follow encoding/json, encoding/gob,
// vmihailenco/msgpack v5 (msgpack tags only, no json fallback, as
// [Msgpack] uses it) and fxamacker/cbor v2 (cbor tags, else json tags).
//
// Gob writes a recursive type that holds cached properties in its table
// format (see [Gob]), which a reader of the type without them cannot
// decode: the schema of such a type says so ("tables(...)"), so that
// adding the first cached property to a recursive type changes its gob
// fingerprint and old readers miss instead of failing to decode.

// A Fingerprint identifies the wire schema of a type under a codec: the
// first 8 bytes, big-endian, of the SHA-256 of its canonical text.
type Fingerprint uint64

// String returns the fingerprint as 16 lower-case hex digits.
func (f Fingerprint) String() string { return fmt.Sprintf("%016x", uint64(f)) }

// A SchemaDescriber is a codec that describes its own wire schema. The
// four codecs of this package are described by their names ("json", "gob",
// "msgpack", "cbor"); a codec of another name has a schema only if it
// implements SchemaDescriber (memcache's Store writes the values of any
// other codec without a fingerprint).
type SchemaDescriber interface {
	// WireSchema returns a text that changes whenever the bytes the codec
	// writes for values of type t change their meaning, and does not
	// depend on anything else (no addresses, nothing per process).
	WireSchema(t reflect.Type) string
}

// schemaFormat heads every canonical text: a change to the algorithm must
// change every fingerprint, so it bumps this.
const schemaFormat = "leancache-schema/1"

// WireSchema returns the canonical text of t's wire schema under c, and
// false if c's schema is unknown (a codec with a name other than json,
// gob, msgpack or cbor that is not a SchemaDescriber).
//
// The text is "leancache-schema/1 <codec> <type>", where <type> is one of:
//
//	bool int int8 int16 int32 int64 uint uint8 uint16 uint32 uint64 uintptr
//	float32 float64 complex64 complex128 string
//	[]T  [N]T  map[K]V      slices, arrays, maps; a pointer is its element
//	any                     an interface: what it holds is known per value
//	m("pkg/path.Name")      a type the codec encodes with its own methods
//	m(go{"Field" T;...})    an unnamed struct that has such methods from an
//	                        embedded field, by its Go fields
//	{"name" T opts;...}     a struct whose fields are keyed by name, sorted
//	tuple{"name" T opts;...} a struct written as an array, in order
//	^N                      the struct, slice, array or map N levels up (a
//	                        recursive type)
//	unsupported(kind)       a chan, func or unsafe.Pointer
//	tables(T)               gob only: T written in gob's table format
//
// and opts are the field's byte-changing options, each as ",option".
func WireSchema(t reflect.Type, c Codec) (string, bool) {
	if d, ok := c.(SchemaDescriber); ok {
		return schemaFormat + " " + c.Name() + " " + d.WireSchema(t), true
	}
	d := schemaDialects[c.Name()]
	if d == nil {
		return "", false
	}
	w := schemaWalk{d: d, memo: map[schemaFrame]string{}}
	desc, _ := w.describe(t, false)
	if d.name == "gob" && gobTables(t) {
		desc = "tables(" + desc + ")"
	}
	return schemaFormat + " " + d.name + " " + desc, true
}

// gobTables reports whether Gob writes values of type t (or of what t's
// pointers point to, as Marshal is handed either) in its table format.
func gobTables(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return gobPlanFor(t).route == gobFlat
}

// fingerprintKey names one cached fingerprint. Codecs are told apart by
// name, as the item flags do.
type fingerprintKey struct {
	t     reflect.Type
	codec string
}

type fingerprintResult struct {
	fp Fingerprint
	ok bool
}

var fingerprintCache sync.Map // map[fingerprintKey]fingerprintResult

// SchemaFingerprint returns the fingerprint of WireSchema(t, c), computed
// once per type and codec name, and false if c's schema is unknown.
func SchemaFingerprint(t reflect.Type, c Codec) (Fingerprint, bool) {
	key := fingerprintKey{t, c.Name()}
	if r, ok := fingerprintCache.Load(key); ok {
		r := r.(fingerprintResult)
		return r.fp, r.ok
	}
	// A race computes the same value twice; that costs less than a lock.
	text, ok := WireSchema(t, c)
	var r fingerprintResult
	if ok {
		sum := sha256.Sum256([]byte(text))
		r = fingerprintResult{Fingerprint(binary.BigEndian.Uint64(sum[:8])), true}
	}
	fingerprintCache.Store(key, r)
	return r.fp, r.ok
}

// A schemaDialect is how one codec maps Go types to bytes, told in the
// terms of the codec's own view dialect wherever that has the rule.
type schemaDialect struct {
	name string
	// own reports whether the codec encodes a value of type t
	// (addressable or not) with t's own methods or as a built-in type.
	own func(t reflect.Type, addr bool) bool
	// addrMethods: own depends on addressability (encoding/json).
	addrMethods bool
	// fields returns the fields of struct type t as the codec writes them,
	// and whether it writes them as an array.
	fields func(t reflect.Type, addr bool) (fields []wireField, array bool)
}

// A wireField is one struct field as a codec writes it.
type wireField struct {
	name string
	typ  reflect.Type
	addr bool     // whether the codec sees the field's value as addressable
	opts []string // options that change the bytes, in a fixed order
}

var schemaDialects = map[string]*schemaDialect{
	"json": {
		name:        "json",
		own:         jsonDialect.encMethods,
		addrMethods: true,
		fields: func(t reflect.Type, addr bool) ([]wireField, bool) {
			return keyedFields(t, addr, jsonFieldTag), false
		},
	},
	"cbor": {
		name: "cbor",
		own: func(t reflect.Type, addr bool) bool {
			// math/big's other types and cbor's own have no method cbor
			// calls, but their bytes are only theirs to decide.
			return cborDialect.encMethods(t, addr) || t.PkgPath() == "math/big" || t.PkgPath() == "github.com/fxamacker/cbor/v2"
		},
		fields: func(t reflect.Type, addr bool) ([]wireField, bool) {
			return keyedFields(t, addr, cborFieldTag), cborToArray(t)
		},
	},
	"msgpack": {
		name:   "msgpack",
		own:    msgpackEnc,
		fields: msgpackFields,
	},
	"gob": {
		name:   "gob",
		own:    func(t reflect.Type, _ bool) bool { return gobMarshals(t) },
		fields: gobFields,
	},
}

// A schemaFrame is a type on the path of a walk.
type schemaFrame struct {
	t    reflect.Type
	addr bool
}

// schemaWalk renders a type's canonical text.
type schemaWalk struct {
	d *schemaDialect
	// stack holds the composite types being described, outermost first,
	// so that a recursive type refers back instead of going on forever.
	stack []schemaFrame
	// memo holds the texts of types that do not refer above themselves,
	// which read the same wherever they occur.
	memo map[schemaFrame]string
}

var basicKinds = map[reflect.Kind]string{
	reflect.Bool: "bool", reflect.Int: "int", reflect.Int8: "int8", reflect.Int16: "int16",
	reflect.Int32: "int32", reflect.Int64: "int64", reflect.Uint: "uint", reflect.Uint8: "uint8",
	reflect.Uint16: "uint16", reflect.Uint32: "uint32", reflect.Uint64: "uint64",
	reflect.Uintptr: "uintptr", reflect.Float32: "float32", reflect.Float64: "float64",
	reflect.Complex64: "complex64", reflect.Complex128: "complex128", reflect.String: "string",
}

// describe returns t's text and the lowest stack index the text refers
// back to (len(w.stack) if none).
func (w *schemaWalk) describe(t reflect.Type, addr bool) (string, int) {
	none := len(w.stack)
	// Pointers are written as their element, and the element is
	// addressable; a pointer type that is its own element has no end.
	for seen := 0; t.Kind() == reflect.Pointer; seen++ {
		if seen > 64 {
			return "unsupported(pointer cycle)", none
		}
		t, addr = t.Elem(), true
	}
	if t.Kind() == reflect.Interface {
		// Checked before methods: an interface type lists its methods,
		// but the codec encodes whatever it holds.
		return "any", none
	}
	if w.d.own(t, addr) {
		if t.Name() == "" {
			// An unnamed type with methods has them from an embedded
			// field: describe its fields as Go declares them.
			return "m(" + w.goFields(t, addr) + ")", none
		}
		return ownText(t), none
	}
	if name, ok := basicKinds[t.Kind()]; ok {
		return name, none
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return "unsupported(" + t.Kind().String() + ")", none
	}
	if !w.d.addrMethods {
		addr = false // so that the memo does not hold one text twice
	}
	frame := schemaFrame{t, addr}
	// A type met again on its own path refers back, whatever the
	// addressability: a value and a pointer to it are one recursion.
	for i := len(w.stack) - 1; i >= 0; i-- {
		if w.stack[i].t == t {
			return "^" + strconv.Itoa(len(w.stack)-i), i
		}
	}
	if text, ok := w.memo[frame]; ok {
		return text, none
	}
	self := len(w.stack)
	w.stack = append(w.stack, frame)
	var b strings.Builder
	low := none
	sub := func(t reflect.Type, addr bool) {
		text, ref := w.describe(t, addr)
		b.WriteString(text)
		low = min(low, ref)
	}
	switch t.Kind() {
	case reflect.Slice:
		b.WriteString("[]")
		sub(t.Elem(), true)
	case reflect.Array:
		b.WriteString("[" + strconv.Itoa(t.Len()) + "]")
		sub(t.Elem(), addr)
	case reflect.Map:
		b.WriteString("map[")
		sub(t.Key(), false)
		b.WriteString("]")
		sub(t.Elem(), false)
	case reflect.Struct:
		fields, array := w.d.fields(t, addr)
		if array {
			b.WriteString("tuple")
		} else {
			sort.SliceStable(fields, func(i, j int) bool { return fields[i].name < fields[j].name })
		}
		b.WriteString("{")
		for i, f := range fields {
			if i > 0 {
				b.WriteString(";")
			}
			b.WriteString(strconv.Quote(f.name) + " ")
			sub(f.typ, f.addr)
			for _, o := range f.opts {
				b.WriteString("," + o)
			}
		}
		b.WriteString("}")
	}
	w.stack = w.stack[:self]
	text := b.String()
	if low >= self {
		w.memo[frame] = text
		low = none
	}
	return text, low
}

// ownText stands for a named type the codec encodes itself.
func ownText(t reflect.Type) string {
	return "m(" + strconv.Quote(t.PkgPath()+"."+t.Name()) + ")"
}

// goFields describes an unnamed struct (or other unnamed type) by its Go
// declaration: field names and the texts of their types.
func (w *schemaWalk) goFields(t reflect.Type, addr bool) string {
	if t.Kind() != reflect.Struct {
		return basicKinds[t.Kind()]
	}
	var b strings.Builder
	b.WriteString("go{")
	n := 0
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if cacheprop.IsCached(f) {
			continue
		}
		if n++; n > 1 {
			b.WriteString(";")
		}
		text, _ := w.describe(f.Type, addr)
		b.WriteString(strconv.Quote(f.Name) + " " + text)
	}
	b.WriteString("}")
	return b.String()
}

// A keyedField is a candidate field of the encoding/json (and cbor)
// algorithm: found at some depth of embedding, tagged or not.
type keyedField struct {
	wireField
	index  []int // the field's index sequence, for the codec's order
	depth  int
	tagged bool
	asInt  bool // cbor keyasint: the key is written as an integer
}

// A fieldTag interprets one struct field for a keyed codec: whether the
// codec writes it at all, as a field named name (empty: the Go name),
// whether its struct type is embedded with its fields promoted, and the
// options that change the bytes.
type fieldTag func(sf reflect.StructField) (name string, write, promote, tagged, asInt bool, opts []string)

// keyedFields follows encoding/json's typeFields, which cbor copies:
// fields of embedded structs are promoted breadth first; of the fields
// with one name, the shallowest wins, then the only tagged one, and
// otherwise none.
func keyedFields(t reflect.Type, addr bool, tag fieldTag) []wireField {
	type level struct {
		t     reflect.Type
		index []int
		addr  bool
	}
	var all []keyedField
	current := []level{{t, nil, addr}}
	visited := map[reflect.Type]bool{}
	for len(current) > 0 {
		count := map[reflect.Type]int{}
		for _, l := range current {
			count[l.t]++
		}
		var next []level
		for _, l := range current {
			if visited[l.t] {
				continue
			}
			visited[l.t] = true
			for i := 0; i < l.t.NumField(); i++ {
				sf := l.t.Field(i)
				if cacheprop.IsCached(sf) {
					continue
				}
				name, write, promote, tagged, asInt, opts := tag(sf)
				if !write {
					continue
				}
				if promote {
					et, ea := sf.Type, l.addr
					for et.Kind() == reflect.Pointer {
						et, ea = et.Elem(), true
					}
					next = append(next, level{et, append(slices.Clip(l.index), i), ea})
					continue
				}
				if name == "" {
					name = sf.Name
				}
				index := append(slices.Clip(l.index), i)
				f := keyedField{wireField: wireField{name, sf.Type, l.addr, opts}, index: index, depth: len(index), tagged: tagged, asInt: asInt}
				all = append(all, f)
				// Two embedded structs of one type at one level collide
				// on every field: encoding/json and cbor drop them all.
				if count[l.t] > 1 {
					all = append(all, f)
				}
			}
		}
		current = next
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if a.asInt != b.asInt {
			return !a.asInt
		}
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		return a.tagged && !b.tagged
	})
	var kept []keyedField
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name && all[j].asInt == all[i].asInt {
			j++
		}
		group := all[i:j]
		if len(group) == 1 || group[0].depth < group[1].depth || group[0].tagged && !group[1].tagged {
			kept = append(kept, group[0])
		}
		i = j
	}
	// In the codec's order, which an array layout keeps.
	slices.SortFunc(kept, func(a, b keyedField) int { return slices.Compare(a.index, b.index) })
	out := make([]wireField, len(kept))
	for i, f := range kept {
		out[i] = f.wireField
		if f.asInt {
			out[i].name = "#" + f.name // an integer key is not the string of its digits
		}
	}
	return out
}

// jsonFieldTag follows encoding/json, by jsonClassify.
func jsonFieldTag(sf reflect.StructField) (name string, write, promote, tagged, asInt bool, opts []string) {
	switch jsonClassify(sf) {
	case classSkip:
		return "", false, false, false, false, nil
	case classInline:
		return "", true, true, false, false, nil
	}
	name, raw := tagOptions(sf.Tag.Get("json"))
	if !jsonValidTag(name) {
		name = ""
	}
	opts = keptOptions(raw, "omitempty", "omitzero")
	if hasOption(raw, "string") {
		ft := sf.Type
		if ft.Name() == "" && ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64, reflect.String:
			opts = append(opts, "string")
		}
	}
	return name, true, false, name != "", false, opts
}

// cborFieldTag follows fxamacker/cbor v2, by cborClassify: the cbor tag,
// else the json tag.
func cborFieldTag(sf reflect.StructField) (name string, write, promote, tagged, asInt bool, opts []string) {
	switch cborClassify(sf) {
	case classSkip:
		return "", false, false, false, false, nil
	case classInline:
		return "", true, true, false, false, nil
	}
	_, tag := cborTag(sf.Tag)
	name, raw := tagOptions(tag)
	opts = keptOptions(raw, "omitempty", "omitzero")
	if hasOption(raw, "keyasint") {
		if n, err := strconv.Atoi(name); err == nil {
			name, asInt = strconv.Itoa(n), true
		}
	}
	return name, true, false, tag != "", asInt, opts
}

// cborToArray reports the toarray option on the struct's "_" field.
func cborToArray(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Name == "_" && f.Tag.Get("cbor") != "-" {
			_, opts := tagOptions(f.Tag.Get("cbor"))
			return hasOption(opts, "toarray")
		}
	}
	return false
}

// msgpackFields follows vmihailenco/msgpack v5's getFields as
// msgpack.Marshal uses it, by msgpackClassify and msgpackOmit: the msgpack
// tag only ([Msgpack] sets no fallback tag), Go names otherwise, embedded
// structs inlined when msgpack would encode them field by field and, unless
// their tag says inline, none of their fields is shadowed.
func msgpackFields(t reflect.Type, addr bool) ([]wireField, bool) {
	var out []wireField
	seen := map[string]bool{}
	add := func(f wireField) {
		if !seen[f.name] {
			seen[f.name] = true
			out = append(out, f)
		}
	}
	array := false
	if f, ok := t.FieldByName("_msgpack"); ok {
		_, raw := tagOptions(f.Tag.Get("msgpack"))
		array = hasOption(raw, "as_array") || hasOption(raw, "asArray")
	}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		class := msgpackClassify(sf)
		if cacheprop.IsCached(sf) || class == classSkip {
			continue
		}
		name, raw := tagOptions(sf.Tag.Get("msgpack"))
		if name == "" {
			name = sf.Name
		}
		var opts []string
		if empty, _ := msgpackOmit(sf, t); empty {
			opts = append(opts, "omitempty")
		}
		if hasOption(raw, "intern") {
			opts = append(opts, "intern")
		}
		if class == classInline {
			et, ea := sf.Type, addr
			for et.Kind() == reflect.Pointer {
				et, ea = et.Elem(), true
			}
			inner, _ := msgpackFields(et, ea)
			shadowed := false
			for _, f := range inner {
				shadowed = shadowed || seen[f.name]
			}
			if hasOption(raw, "inline") || !shadowed {
				for _, f := range inner {
					add(f)
				}
				continue
			}
		}
		add(wireField{name, sf.Type, addr, opts})
	}
	return out, array
}

// gobFields follows encoding/gob: exported fields by Go name, embedded
// structs as fields of their type's name, chan and func fields left out.
func gobFields(t reflect.Type, addr bool) ([]wireField, bool) {
	var out []wireField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if cacheprop.IsCached(sf) || !sf.IsExported() || !gobSends(sf.Type) {
			continue
		}
		out = append(out, wireField{sf.Name, sf.Type, addr, nil})
	}
	return out, false
}
