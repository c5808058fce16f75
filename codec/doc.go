// Package codec encodes values without their cached properties.
//
// A cached property (see package cacheprop) is a struct field that holds
// data derived from the rest of the object: a field tagged cacheprop, or a
// cacheprop.Lazy cell. Such data belongs to the process that computed it,
// not to the cache or the session it is stored in. The codecs of this
// package leave every cached property out of what they write, however deeply
// it is nested (in structs, through pointers, slices, arrays, map values,
// embedded structs, recursive types), and after decoding they reset every
// cached property of the value decoded into, so that no stale derived data
// survives a round trip and a Lazy recomputes on first use.
//
// [JSON], [Msgpack] and [CBOR] wrap encoding/json,
// github.com/vmihailenco/msgpack/v5 and github.com/fxamacker/cbor/v2. Their
// output is byte for byte what the library writes for the same value whose
// type simply lacks the cached fields, with every other tag option honoured
// (names, omitempty, omitzero, msgpack's as_array, inline and noinline, cbor's
// toarray and keyasint, cbor's fallback to json tags). Types that the
// library encodes with their own methods (MarshalJSON, MarshalText,
// MarshalBinary, msgpack's CustomEncoder and Marshaler, cbor.Marshaler and
// cbor's special types, including methods promoted from an embedded field
// such as time.Time) are left to those methods, exactly where the library
// calls them: encoding/json calls pointer-receiver methods only on
// addressable values, and elsewhere walks the struct, which the codec then
// strips. Unmarshal decodes as the library decodes into the type without
// the cached fields. [Gob] wraps encoding/gob; its own documentation says
// how it differs.
//
// # How
//
// For each type that reaches a cached property the codec builds, once, a
// view: a type made with reflect.StructOf that has the same size, field
// offsets and pointer layout as the original, in which every cached
// property is renamed to a blank field "_" (which the libraries skip) and
// every nested type that reaches one is replaced by its own view. The value
// is then handed to the library as its view, in place: nothing is copied,
// and the library runs at its usual speed. Views are cached per type and
// codec, like encoding/json's encoders; a type that reaches no cached
// property and no interface goes straight to the library after one cache
// lookup. Embedded structs whose fields the library promotes are rebuilt
// too, as method-less copies (reflect.StructOf must never embed a type with
// methods). A struct or array field tagged omitzero or omitempty is
// omitted exactly when the twin's field would be: the libraries test a
// view by the fields they encode (msgpack's and cbor's omitempty) or by
// reflect's zero test (omitzero without an IsZero method), which skips the
// view's cached fields because they are blank ("_"); a view that would be
// comparable is made incomparable through one cached field's type, so that
// reflect tests it field by field rather than by an equality that compares
// blank fields too. Recursive types, which reflect.StructOf cannot build, are
// unrolled into nested views (8 levels deep for a type that refers to
// itself once, fewer for more) and then closed by a slot: a field type of
// the same layout with marshaler methods that re-enter the library; values
// nested deeper than that pay for a re-entry at every so many levels (see
// the benchmarks). Because every re-entry
// restarts encoding/json's count of nested pointers, by which it reports a
// value that refers to itself, [JSON] first walks a value whose view holds
// slots or interface boxes and reports such a cycle the way encoding/json
// does (msgpack and cbor do not detect cycles at all).
//
// # Interface-typed fields
//
// A struct held in an interface-typed field (any, map[string]any, []any,
// common in sessions) loses its cached properties too, with all three
// codecs: an empty-interface field is encoded through a box of the same
// layout whose marshaler method passes the content back through the codec,
// and whose IsZero keeps omitempty and omitzero meaning what they mean for
// the interface. This costs a call per non-nil interface value. When
// decoding, the library fills interfaces as it always does (generic maps
// and slices, or, for json and msgpack, the value an interface already
// points to), and the codec then resets the cached properties of every
// struct it can reach through them. Interfaces with methods (fmt.Stringer,
// error) are encoded as the library encodes them, contents unstripped.
//
// # Limitations
//
// Each of these gets an [UnsupportedTypeError] naming the type and the field
// path, never a panic and never wrong output:
//   - a map whose key type holds cached properties;
//   - a struct or array field held by value, whose type reaches cached
//     properties and has an IsZero method the library calls for omitzero
//     (json, cbor; not on a cbor toarray struct) or omitempty (msgpack): a
//     view, a type built by reflect, has no methods. Point to it instead: a
//     pointer field keeps its IsZero;
//   - the same field tagged omitzero (json, cbor), without an IsZero
//     method, when reflect's zero test, which the library then applies,
//     would count cached fields in the view: a struct held in it by value
//     that the library encodes by its own methods yet has cached fields, or
//     a comparable struct whose alignment is below a pointer's or that has
//     no cached field starting on a pointer boundary;
//   - a process that needs more than 256 slots of one layout (pointer or
//     map, slice): each recursive field type takes one slot per codec and
//     direction (for json, per addressability too), about seven in all. A
//     type whose build fails takes none, and this error alone is not
//     remembered: the type is built again once slots are free. Every other
//     error of a type is its shape's and is returned at once thereafter.
//
// And these behave differently from the library on the type without the
// cached fields:
//   - decoding into a nil embedded pointer to an unexported struct type:
//     encoding/json refuses it and msgpack panics, the codecs allocate it;
//   - errors of decoding name the view where the library would name the
//     struct type (encoding/json's UnmarshalTypeError.Struct is empty);
//   - input over the decode budget (see Hostile input below) is refused,
//     where the library would decode it or run out of memory or stack;
//   - msgpack: where msgpack v5 panics on odd input (a map repeating the
//     key of an interface field) Unmarshal returns [ErrMsgpackPanic]
//     instead;
//   - msgpack: a type given its encoder by msgpack.Register or
//     RegisterExtEncoder without methods of its own is not recognised, and is
//     encoded field by field when it holds cached properties.
//
// Values of recursive types nested deeper than their unrolled views (long
// lists, deep trees) cross a slot every few levels, which costs a call into
// the library per slot: they encode and decode in time linear in their
// encoding, however deep, a little slower than the library alone. JSON and
// CBOR Marshal let each slot write a placeholder and splice the slots'
// encodings in afterwards, in one pass, so that the library does not copy
// and check each level's output again at every level around it; a value
// that refers to itself is reported as encoding/json reports it (JSON) or
// with [ErrCycle] (CBOR, where cbor alone would exhaust the stack). JSON
// and CBOR Unmarshal decode such a type into the type itself, where the
// input's keys allow it (input from this package always does), so that
// slots do not re-enter the library, which would check and skip again all
// that lies below each.
//
// # Hostile input
//
// Bytes read from a cache may have been written by anyone who can reach
// it, so every Unmarshal runs within a decode budget ([Budget]; the
// defaults are [DefaultMaxDepth] levels of nesting and
// [DefaultAllocFactor]·n + [AllocSlack] bytes allocated for n bytes of
// input, and [WithBudget] sets others). Input over it is refused with a
// *[BudgetError], which wraps [ErrBudget], before anything is decoded: no
// input can make a reader allocate out of proportion to its length,
// exhaust its stack, or fill a target with attacker-chosen sizes. The
// budget is measured against what a legitimate value of the same length
// costs: a value with many tiny maps or nils decoded into large structs
// (more than 16 bytes built per byte read) is refused even if it was
// written honestly; give such a type a roomier budget. [Msgpack] and
// [CBOR] check it with a pre-scan that knows the target type's element
// sizes (budget.go says what it charges); msgpack's [MsgpackMaxDepth] and
// [ErrMsgpackDepth] and CBOR's [CBORMaxNestedLevels] are the budget's
// depth.
//
// # Wire schemas
//
// [WireSchema] renders what decides the bytes a codec writes for a type
// (the fields it writes, under the names and with the tag options it uses,
// recursively) and [SchemaFingerprint] hashes it, so that a cache can tell
// a value written under another shape from one it can read (memcache's
// Store WithFingerprint does). The schema comes from the same rules the
// views are built with: each library's field classification, tag parsing
// and own-method detection are written once, in this package.
//
// # Invariants
//
// The views rest on these, each checked by a test in invariants_test.go
// (or named there):
//   - Same layout: a view has its type's size, alignment and field offsets,
//     hence its pointer layout (sameLayout, checked on every struct view
//     built; TestViewsKeepTheLayout).
//   - Published before use: a slot's information (what it stands for, its
//     view) is written before any view using the slot is published through
//     the codecs' caches, which is what lets slotAt read it without a lock
//     (TestSlotInfoIsPublishedFirst, under -race).
//   - A failed build returns everything it took: views, slot memos and the
//     slots themselves, also when it panics (TestFailedBuildReturnsItsSlots,
//     TestBuildRecoversOnlyReflectPanics).
//   - Only reflect's own panics are recovered (a type reflect cannot
//     build); any other is a bug and goes on (TestBuildRecoversOnlyReflectPanics).
//   - Slot types are generated: slots_list.go is written by go generate
//     (gen_slots.go), and entry i of each list has index i
//     (TestSlotListIsGenerated).
//
// msgpack and cbor write map entries in Go's random iteration order, with
// or without this package: identical bytes means identical for the same
// order.
package codec

//go:generate go run gen_slots.go
