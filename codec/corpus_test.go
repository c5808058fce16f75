package codec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/leancache/leancache/cacheprop"
)

// The conformance corpus: types that reach cached properties in every way
// the codecs must handle, each with a hand-written twin that lacks the
// cached fields and is otherwise the same (names, tags, methods). Any codec's
// test can range over conformanceCorpus().

// A corpusCase is one conformance case.
type corpusCase struct {
	Name string
	// Value returns a pointer to a fresh value whose cached properties all
	// hold computed (stale, once on the wire) data.
	Value func() any
	// Twin returns a pointer to the same data in the twin type.
	Twin func() any
	// Skip names codecs the case does not apply to, with the reason.
	Skip map[string]string
}

// ccLeaf is the basic unit: data, a tagged cached field and a Lazy.
type ccLeaf struct {
	Name  string              `json:"name" msgpack:"name" cbor:"name"`
	Count int                 `json:"count,omitempty" msgpack:"count,omitempty" cbor:"count,omitempty"`
	HTML  string              `cacheprop:"cached" json:"html"`
	Score cacheprop.Lazy[int] `json:"score"`
	Tags  []string            `json:"tags,omitempty" msgpack:"tags,omitempty" cbor:"tags,omitempty"`
}

type ccLeafTwin struct {
	Name  string   `json:"name" msgpack:"name" cbor:"name"`
	Count int      `json:"count,omitempty" msgpack:"count,omitempty" cbor:"count,omitempty"`
	Tags  []string `json:"tags,omitempty" msgpack:"tags,omitempty" cbor:"tags,omitempty"`
}

func ccL(name string, count int) *ccLeaf {
	return &ccLeaf{Name: name, Count: count, Tags: []string{name + "-t"}}
}

func ccLT(name string, count int) *ccLeafTwin {
	return &ccLeafTwin{Name: name, Count: count, Tags: []string{name + "-t"}}
}

// ccNested reaches leaves through every container.
type ccNested struct {
	Leaf     ccLeaf
	Ptr      *ccLeaf
	Nil      *ccLeaf
	Slice    []ccLeaf
	PtrSlice []*ccLeaf
	Array    [2]ccLeaf
	Map      map[string]ccLeaf
	PtrMap   map[string]*ccLeaf
	NilMap2  map[string]*ccLeaf
	Deep     map[string][]*ccLeaf
	Grid     [][2]ccLeaf
	Plain    []int
	Cache    []string       `cacheprop:""`
	Index    map[string]int `cacheprop:"cached" json:"index"`
	Counter  cacheprop.Lazy[string]
	Empty    []ccLeaf          `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
	NilMap   map[string]ccLeaf `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
}

type ccNestedTwin struct {
	Leaf     ccLeafTwin
	Ptr      *ccLeafTwin
	Nil      *ccLeafTwin
	Slice    []ccLeafTwin
	PtrSlice []*ccLeafTwin
	Array    [2]ccLeafTwin
	Map      map[string]ccLeafTwin
	PtrMap   map[string]*ccLeafTwin
	NilMap2  map[string]*ccLeafTwin
	Deep     map[string][]*ccLeafTwin
	Grid     [][2]ccLeafTwin
	Plain    []int
	Empty    []ccLeafTwin          `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
	NilMap   map[string]ccLeafTwin `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
}

func ccNestedValue() any {
	return &ccNested{
		Leaf:     ccLeaf{Name: "leaf", Count: 1, Tags: []string{"leaf-t"}},
		Ptr:      ccL("ptr", 2),
		Slice:    []ccLeaf{ccLeaf{Name: "s0", Count: 0, Tags: []string{"s0-t"}}, ccLeaf{Name: "s1", Count: 3, Tags: []string{"s1-t"}}},
		PtrSlice: []*ccLeaf{ccL("p0", 4), nil},
		Array:    [2]ccLeaf{ccLeaf{Name: "a0", Count: 5, Tags: []string{"a0-t"}}, ccLeaf{Name: "a1", Count: 6, Tags: []string{"a1-t"}}},
		Map:      map[string]ccLeaf{"k": {Name: "m", Count: 7, Tags: []string{"m-t"}}},
		PtrMap:   map[string]*ccLeaf{"k": ccL("pm", 9)},
		NilMap2:  map[string]*ccLeaf{"nil": nil},
		Deep:     map[string][]*ccLeaf{"d": {ccL("d0", 10)}},
		Grid:     [][2]ccLeaf{{ccLeaf{Name: "g0", Count: 11, Tags: []string{"g0-t"}}, ccLeaf{Name: "g1", Count: 12, Tags: []string{"g1-t"}}}},
		Plain:    []int{1, 2, 3},
		Cache:    []string{"stale"},
		Index:    map[string]int{"stale": 1},
		Empty:    []ccLeaf{},
	}
}

func ccNestedTwinValue() any {
	return &ccNestedTwin{
		Leaf:     *ccLT("leaf", 1),
		Ptr:      ccLT("ptr", 2),
		Slice:    []ccLeafTwin{*ccLT("s0", 0), *ccLT("s1", 3)},
		PtrSlice: []*ccLeafTwin{ccLT("p0", 4), nil},
		Array:    [2]ccLeafTwin{*ccLT("a0", 5), *ccLT("a1", 6)},
		Map:      map[string]ccLeafTwin{"k": *ccLT("m", 7)},
		PtrMap:   map[string]*ccLeafTwin{"k": ccLT("pm", 9)},
		NilMap2:  map[string]*ccLeafTwin{"nil": nil},
		Deep:     map[string][]*ccLeafTwin{"d": {ccLT("d0", 10)}},
		Grid:     [][2]ccLeafTwin{{*ccLT("g0", 11), *ccLT("g1", 12)}},
		Plain:    []int{1, 2, 3},
		Empty:    []ccLeafTwin{},
	}
}

// Embedded structs, by value and by pointer, exported and not, with and
// without methods, and embedded non-struct types.

type CCBase struct {
	ID   int
	Memo string `cacheprop:"cached"`
}
type CCBaseTwin struct{ ID int }

type CCPtrBase struct {
	Kind string `json:"kind" msgpack:"kind" cbor:"kind"`
	L    cacheprop.Lazy[[]byte]
}
type CCPtrBaseTwin struct {
	Kind string `json:"kind" msgpack:"kind" cbor:"kind"`
}

type ccInner struct {
	Inner string
	Memo2 string `cacheprop:"cached"`
}
type ccInnerTwin struct{ Inner string }

// CCStringer has a method that no library uses: embedding it must still
// never put a type with methods into a built type.
type CCStringer struct {
	Said string
	Memo string `cacheprop:"cached"`
}

func (s CCStringer) String() string { return s.Said }

type CCStringerTwin struct{ Said string }

func (s CCStringerTwin) String() string { return s.Said }

type CCLabel string

type ccCode int

type ccEmbed struct {
	CCBase
	*CCPtrBase
	ccInner
	CCStringer
	CCLabel
	ccCode
	Own  string
	Memo string `cacheprop:"cached"`
}

type ccEmbedTwin struct {
	CCBaseTwin
	*CCPtrBaseTwin
	ccInnerTwin
	CCStringerTwin
	CCLabel
	ccCode
	Own string
}

// ccEmbedNil embeds a nil pointer, and an unexported one.
type ccEmbedNil struct {
	*CCPtrBase
	*ccInner
	X int
}

type ccEmbedNilTwin struct {
	*CCPtrBaseTwin
	*ccInnerTwin
	X int
}

// Types with their own encoding methods, each holding a cached field that
// only the methods decide about.

// ccJSONM marshals itself for json (value receiver); msgpack and cbor walk it.
type ccJSONM struct {
	Name string
	Memo string `cacheprop:"cached"`
}

func ccMarshalName(prefix, name string) ([]byte, error) { return json.Marshal(prefix + name) }

func ccUnmarshalName(prefix string, b []byte, name *string) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*name = strings.TrimPrefix(s, prefix)
	return nil
}

func (m ccJSONM) MarshalJSON() ([]byte, error)      { return ccMarshalName("jsonm:", m.Name) }
func (m *ccJSONM) UnmarshalJSON(b []byte) error     { return ccUnmarshalName("jsonm:", b, &m.Name) }
func (m ccJSONMTwin) MarshalJSON() ([]byte, error)  { return ccMarshalName("jsonm:", m.Name) }
func (m *ccJSONMTwin) UnmarshalJSON(b []byte) error { return ccUnmarshalName("jsonm:", b, &m.Name) }

type ccJSONMTwin struct{ Name string }

// ccPtrM marshals itself for json through a pointer receiver: json calls it
// on addressable values only and walks the struct elsewhere (map values).
type ccPtrM struct {
	Name string
	Memo string `cacheprop:"cached"`
}

type ccPtrMTwin struct{ Name string }

func (m *ccPtrM) MarshalJSON() ([]byte, error)     { return ccMarshalName("ptrm:", m.Name) }
func (m *ccPtrM) UnmarshalJSON(b []byte) error     { return ccUnmarshalName("ptrm:", b, &m.Name) }
func (m *ccPtrMTwin) MarshalJSON() ([]byte, error) { return ccMarshalName("ptrm:", m.Name) }
func (m *ccPtrMTwin) UnmarshalJSON(b []byte) error { return ccUnmarshalName("ptrm:", b, &m.Name) }

// ccText is a TextMarshaler (json, msgpack use it; cbor walks it).
type ccText struct {
	Name string
	Memo string `cacheprop:"cached"`
}
type ccTextTwin struct{ Name string }

func (m ccText) MarshalText() ([]byte, error) { return []byte("text:" + m.Name), nil }
func (m *ccText) UnmarshalText(b []byte) error {
	m.Name = strings.TrimPrefix(string(b), "text:")
	return nil
}
func (m ccTextTwin) MarshalText() ([]byte, error) { return []byte("text:" + m.Name), nil }
func (m *ccTextTwin) UnmarshalText(b []byte) error {
	m.Name = strings.TrimPrefix(string(b), "text:")
	return nil
}
func (m ccBin) MarshalBinary() ([]byte, error) { return []byte("bin:" + m.Name), nil }
func (m *ccBin) UnmarshalBinary(b []byte) error {
	m.Name = strings.TrimPrefix(string(b), "bin:")
	return nil
}
func (m ccBinTwin) MarshalBinary() ([]byte, error) { return []byte("bin:" + m.Name), nil }
func (m *ccBinTwin) UnmarshalBinary(b []byte) error {
	m.Name = strings.TrimPrefix(string(b), "bin:")
	return nil
}

// ccBin is a BinaryMarshaler (msgpack and cbor use it; json walks it).
type ccBin struct {
	Name string
	Memo string `cacheprop:"cached"`
}
type ccBinTwin struct{ Name string }

// ccMsgp encodes itself for msgpack.
type ccMsgp struct {
	Name string
	Memo string `cacheprop:"cached"`
}
type ccMsgpTwin struct{ Name string }

func (m ccMsgp) EncodeMsgpack(e *msgpack.Encoder) error      { return e.EncodeString("msgp:" + m.Name) }
func (m *ccMsgp) DecodeMsgpack(d *msgpack.Decoder) error     { return ccDecodeMsgp(d, &m.Name) }
func (m ccMsgpTwin) EncodeMsgpack(e *msgpack.Encoder) error  { return e.EncodeString("msgp:" + m.Name) }
func (m *ccMsgpTwin) DecodeMsgpack(d *msgpack.Decoder) error { return ccDecodeMsgp(d, &m.Name) }

func ccDecodeMsgp(d *msgpack.Decoder, name *string) error {
	s, err := d.DecodeString()
	*name = strings.TrimPrefix(s, "msgp:")
	return err
}

// ccCBOR encodes itself for cbor.
type ccCBOR struct {
	Name string
	Memo string `cacheprop:"cached"`
}
type ccCBORTwin struct{ Name string }

func (m ccCBOR) MarshalCBOR() ([]byte, error)      { return cbor.Marshal("cbor:" + m.Name) }
func (m *ccCBOR) UnmarshalCBOR(b []byte) error     { return ccUnmarshalCBOR(b, &m.Name) }
func (m ccCBORTwin) MarshalCBOR() ([]byte, error)  { return cbor.Marshal("cbor:" + m.Name) }
func (m *ccCBORTwin) UnmarshalCBOR(b []byte) error { return ccUnmarshalCBOR(b, &m.Name) }

func ccUnmarshalCBOR(b []byte, name *string) error {
	var s string
	err := cbor.Unmarshal(b, &s)
	*name = strings.TrimPrefix(s, "cbor:")
	return err
}

// ccStamp embeds time.Time: its methods are promoted, so every library
// encodes a ccStamp as the time alone.
type ccStamp struct {
	time.Time
	Note string `cacheprop:"cached"`
}
type ccStampTwin struct{ time.Time }

type ccMethods struct {
	JSONM  ccJSONM
	PtrM   ccPtrM
	PtrMs  map[string]ccPtrM
	PtrMP  *ccPtrM
	Text   ccText
	Bin    ccBin
	Msgp   ccMsgp
	CBOR   ccCBOR
	Stamp  ccStamp
	When   time.Time
	Stamps []ccStamp
	Memo   string `cacheprop:"cached"`
}

type ccMethodsTwin struct {
	JSONM  ccJSONMTwin
	PtrM   ccPtrMTwin
	PtrMs  map[string]ccPtrMTwin
	PtrMP  *ccPtrMTwin
	Text   ccTextTwin
	Bin    ccBinTwin
	Msgp   ccMsgpTwin
	CBOR   ccCBORTwin
	Stamp  ccStampTwin
	When   time.Time
	Stamps []ccStampTwin
}

var ccTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// Recursive types: a tree through a slice of pointers, a list, a map of
// values, with omitempty on the recursive field.

type ccNode struct {
	ID       int       `json:"id" msgpack:"id" cbor:"id"`
	Label    string    `cacheprop:"cached"`
	Children []*ccNode `json:"children,omitempty" msgpack:"children,omitempty" cbor:"children,omitempty"`
	Size     cacheprop.Lazy[int]
}

type ccNodeTwin struct {
	ID       int           `json:"id" msgpack:"id" cbor:"id"`
	Children []*ccNodeTwin `json:"children,omitempty" msgpack:"children,omitempty" cbor:"children,omitempty"`
}

type ccList struct {
	V    int
	Next *ccList
	Sum  int `cacheprop:"cached"`
}

type ccListTwin struct {
	V    int
	Next *ccListTwin
}

type ccDir struct {
	Name  string
	Sub   map[string]ccDir
	Files []ccDir `json:",omitzero" cbor:",omitzero"`
	Bytes int64   `cacheprop:"cached"`
}

type ccDirTwin struct {
	Name  string
	Sub   map[string]ccDirTwin
	Files []ccDirTwin `json:",omitzero" cbor:",omitzero"`
}

type ccForest struct {
	Trees []ccNode
	Dirs  ccDir
	List  *ccList
}

type ccForestTwin struct {
	Trees []ccNodeTwin
	Dirs  ccDirTwin
	List  *ccListTwin
}

func ccTree(id, depth int) *ccNode {
	n := &ccNode{ID: id, Label: fmt.Sprint("label", id)}
	for i := 0; i < depth; i++ {
		n.Children = append(n.Children, ccTree(id*10+i, depth-1))
	}
	return n
}

func ccTreeTwin(id, depth int) *ccNodeTwin {
	n := &ccNodeTwin{ID: id}
	for i := 0; i < depth; i++ {
		n.Children = append(n.Children, ccTreeTwin(id*10+i, depth-1))
	}
	return n
}

// ccChain returns a tree deeper than views are unrolled: a spine of depth
// nodes, each also holding a leaf, so that slots are crossed many times.
func ccChain(depth int) *ccNode {
	n := &ccNode{ID: depth, Label: "l"}
	if depth > 0 {
		n.Children = []*ccNode{ccChain(depth - 1), {ID: -depth}}
	}
	return n
}

func ccChainTwin(depth int) *ccNodeTwin {
	n := &ccNodeTwin{ID: depth}
	if depth > 0 {
		n.Children = []*ccNodeTwin{ccChainTwin(depth - 1), {ID: -depth}}
	}
	return n
}

// ccDeepDir nests directories through map values, depth levels.
func ccDeepDir(depth int) ccDir {
	d := ccDir{Name: fmt.Sprint("d", depth), Bytes: int64(depth)}
	if depth > 0 {
		d.Sub = map[string]ccDir{"sub": ccDeepDir(depth - 1)}
		d.Files = []ccDir{{Name: "f"}}
	}
	return d
}

func ccDeepDirTwin(depth int) ccDirTwin {
	d := ccDirTwin{Name: fmt.Sprint("d", depth)}
	if depth > 0 {
		d.Sub = map[string]ccDirTwin{"sub": ccDeepDirTwin(depth - 1)}
		d.Files = []ccDirTwin{{Name: "f"}}
	}
	return d
}

func ccLinked(n int) *ccList {
	var l *ccList
	for i := n; i > 0; i-- {
		l = &ccList{V: i, Next: l, Sum: i * 100}
	}
	return l
}

func ccLinkedTwin(n int) *ccListTwin {
	var l *ccListTwin
	for i := n; i > 0; i-- {
		l = &ccListTwin{V: i, Next: l}
	}
	return l
}

// ccInlineTags embeds with tags: a json/cbor name and msgpack's noinline
// make CCBase a named field, msgpack's explicit inline promotes ccInner.
type ccInlineTags struct {
	CCBase  `json:"base" cbor:"base" msgpack:"base,noinline"`
	ccInner `msgpack:",inline"`
	*CCStringer
	X int
}

type ccInlineTagsTwin struct {
	CCBaseTwin  `json:"base" cbor:"base" msgpack:"base,noinline"`
	ccInnerTwin `msgpack:",inline"`
	*CCStringerTwin
	X int
}

// ccZeroer decides its own zero-ness; behind pointers with omitzero (json,
// cbor) or omitempty (msgpack) the libraries call its IsZero, which a view
// lacks: slots keep it.
type ccZeroer struct {
	N    int
	Memo string `cacheprop:"cached"`
}

func (z ccZeroer) IsZero() bool     { return z.N == 0 }
func (z ccZeroerTwin) IsZero() bool { return z.N == 0 }

type ccZeroerTwin struct{ N int }

type ccZeroPtrs struct {
	Zero    *ccZeroer  `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	NonZero *ccZeroer  `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Nil     *ccZeroer  `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Empty   []ccZeroer `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	Both    *ccZeroer  `json:",omitempty,omitzero" cbor:",omitempty,omitzero"`
}

type ccZeroPtrsTwin struct {
	Zero    *ccZeroerTwin  `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	NonZero *ccZeroerTwin  `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Nil     *ccZeroerTwin  `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Empty   []ccZeroerTwin `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	Both    *ccZeroerTwin  `json:",omitempty,omitzero" cbor:",omitempty,omitzero"`
}

// Omission (omitzero, omitempty) of fields whose types hold cached
// properties, held by value, by pointer and in arrays: the libraries omit
// such a field exactly when the twin's is zero (or empty), whatever its
// cached fields hold. The cases build each in three states: set, zero, and
// zero except a cached field.

// ccOmitted is comparable, so its view must be kept from zero-testing by
// equality, which would count the cached field. computeCached leaves float
// fields alone: a case decides whether Memo is zero.
type ccOmitted struct {
	N    int     `json:"n,omitempty" msgpack:"n,omitempty" cbor:"n,omitempty"`
	Memo float64 `cacheprop:"cached"`
}

type ccOmittedTwin struct {
	N int `json:"n,omitempty" msgpack:"n,omitempty" cbor:"n,omitempty"`
}

// ccOmittedRich is not comparable and holds a Lazy cell, which
// computeCached always fills: zero, it is zero except its cached fields.
type ccOmittedRich struct {
	Tags  []string `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
	HTML  string   `cacheprop:"cached"`
	Score cacheprop.Lazy[int]
}

type ccOmittedRichTwin struct {
	Tags []string `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
}

// ccOmittedEmb promotes the fields of an embedded struct with a cached
// field, and holds a struct with its own IsZero by value, which a zero
// test over ccOmittedEmb (having no IsZero) does not call.
type ccOmittedEmb struct {
	CCBase
	Z ccZeroer
}

type ccOmittedEmbTwin struct {
	CCBaseTwin
	Z ccZeroerTwin
}

type ccOmit struct {
	Val   ccOmitted        `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Ptr   *ccOmitted       `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Arr   [2]ccOmitted     `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Rich  ccOmittedRich    `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	RichP *ccOmittedRich   `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	RichA [1]ccOmittedRich `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Emb   ccOmittedEmb     `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Both  ccOmitted        `json:",omitempty,omitzero" cbor:",omitempty,omitzero"`
	EVal  ccOmitted        `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	EPtr  *ccOmitted       `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	EArr  [2]ccOmitted     `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	ENone [0]ccOmitted     `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	ZArr  [1]*ccZeroer     `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	// A recursive type by value: its view holds slots (the splice route).
	Tree ccArray `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
}

type ccOmitTwin struct {
	Val   ccOmittedTwin        `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Ptr   *ccOmittedTwin       `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Arr   [2]ccOmittedTwin     `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Rich  ccOmittedRichTwin    `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	RichP *ccOmittedRichTwin   `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	RichA [1]ccOmittedRichTwin `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Emb   ccOmittedEmbTwin     `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Both  ccOmittedTwin        `json:",omitempty,omitzero" cbor:",omitempty,omitzero"`
	EVal  ccOmittedTwin        `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	EPtr  *ccOmittedTwin       `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	EArr  [2]ccOmittedTwin     `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	ENone [0]ccOmittedTwin     `json:",omitempty" cbor:",omitempty" msgpack:",omitempty"`
	ZArr  [1]*ccZeroerTwin     `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
	Tree  ccArrayTwin          `json:",omitzero" cbor:",omitzero" msgpack:",omitempty"`
}

// ccOmitPair builds a ccOmit and its twin in one state: set, zero, or
// (memo non-zero) zero except the cached fields, memo being what each
// ccOmitted's Memo holds.
func ccOmitPair(set bool, memo float64) (*ccOmit, *ccOmitTwin) {
	n, tags := 0, []string(nil)
	if set {
		n, tags = 1, []string{"t"}
	}
	o, ot := ccOmitted{N: n, Memo: memo}, ccOmittedTwin{N: n}
	v := &ccOmit{Val: o, Arr: [2]ccOmitted{{Memo: memo}, o}, Both: o, EVal: o, EArr: [2]ccOmitted{o, o},
		Emb: ccOmittedEmb{CCBase: CCBase{ID: n}, Z: ccZeroer{N: n}}, Tree: ccArray{A: n}}
	w := &ccOmitTwin{Val: ot, Arr: [2]ccOmittedTwin{{}, ot}, Both: ot, EVal: ot, EArr: [2]ccOmittedTwin{ot, ot},
		Emb: ccOmittedEmbTwin{CCBaseTwin: CCBaseTwin{ID: n}, Z: ccZeroerTwin{N: n}}, Tree: ccArrayTwin{A: n}}
	v.Rich.Tags, v.RichA[0].Tags, w.Rich.Tags, w.RichA[0].Tags = tags, tags, tags, tags
	if set || memo != 0 {
		v.Ptr, v.EPtr, v.RichP = &ccOmitted{N: n, Memo: memo}, &ccOmitted{Memo: memo}, &ccOmittedRich{Tags: tags}
		w.Ptr, w.EPtr, w.RichP = &ccOmittedTwin{N: n}, &ccOmittedTwin{}, &ccOmittedRichTwin{Tags: tags}
		v.ZArr[0], w.ZArr[0] = &ccZeroer{N: n}, &ccZeroerTwin{N: n}
	}
	if set {
		// Deeper than views are unrolled: slots are crossed (the splice
		// route), within the 32 levels of nesting cbor decodes.
		for i := 0; i < 10; i++ {
			v.Tree.C = []ccArray{{A: i, B: "b", C: v.Tree.C}}
			w.Tree.C = []ccArrayTwin{{A: i, B: "b", C: w.Tree.C}}
		}
	}
	return v, w
}

// Library-specific tags: positional structs (msgpack as_array, cbor
// toarray) with a cached field between data fields, cbor keyasint, cbor's
// fallback to json tags, omitzero.

type ccArray struct {
	//lint:ignore U1000 read by msgpack
	_msgpack struct{} `msgpack:",as_array"`
	_        struct{} `cbor:",toarray"`
	A        int
	Memo     string `cacheprop:"cached"`
	B        string
	L        cacheprop.Lazy[int]
	C        []ccArray
}

type ccArrayTwin struct {
	//lint:ignore U1000 read by msgpack
	_msgpack struct{} `msgpack:",as_array"`
	_        struct{} `cbor:",toarray"`
	A        int
	B        string
	C        []ccArrayTwin
}

type ccTags struct {
	A     int       `cbor:"1,keyasint" json:"a"`
	Memo  string    `cbor:"2,keyasint" cacheprop:"cached"`
	B     string    `cbor:"3,keyasint,omitempty" json:"b,omitempty"`
	J     string    `json:"jay,omitempty"`
	Z     time.Time `json:"z,omitzero" cbor:"z,omitzero"`
	ZP    *ccLeaf   `json:"zp,omitzero" cbor:"zp,omitzero" msgpack:"zp,omitempty"`
	Arr   []ccArray `json:"arr"`
	Skip  string    `json:"-" msgpack:"-" cbor:"-"`
	Memo2 ccLeaf    `cacheprop:"cached" json:"-"`
}

type ccTagsTwin struct {
	A    int           `cbor:"1,keyasint" json:"a"`
	B    string        `cbor:"3,keyasint,omitempty" json:"b,omitempty"`
	J    string        `json:"jay,omitempty"`
	Z    time.Time     `json:"z,omitzero" cbor:"z,omitzero"`
	ZP   *ccLeafTwin   `json:"zp,omitzero" cbor:"zp,omitzero" msgpack:"zp,omitempty"`
	Arr  []ccArrayTwin `json:"arr"`
	Skip string        `json:"-" msgpack:"-" cbor:"-"`
}

// Interface-typed fields: what they hold is stripped too.
//
// Maps in the corpus hold one entry each: msgpack and cbor write map
// entries in Go's random iteration order, so only single-entry maps have
// one right encoding to compare bytes with.

type ccAny struct {
	V      any
	P      any
	M      map[string]any
	L      []any
	Nil    any `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
	Zero   any `json:",omitzero" cbor:",omitzero"`
	Number any `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
	Memo   any `cacheprop:"cached"`
}

type ccAnyTwin struct {
	V      any
	P      any
	M      map[string]any
	L      []any
	Nil    any `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
	Zero   any `json:",omitzero" cbor:",omitzero"`
	Number any `json:",omitempty" msgpack:",omitempty" cbor:",omitempty"`
}

// ccSession has no cached field of its own, only interface values.
type ccSession struct {
	Values map[string]any
	List   []any
}

// conformanceCorpus returns the cases. Each call of a case's Value builds
// a fresh value and computes its cached properties.
func conformanceCorpus() []corpusCase {
	cases := rawCorpus()
	for i := range cases {
		build := cases[i].Value
		cases[i].Value = func() any {
			v := build()
			computeCached(v)
			return v
		}
	}
	return cases
}

func rawCorpus() []corpusCase {
	return []corpusCase{
		{Name: "leaf", Value: func() any { return ccL("x", 3) }, Twin: func() any { return ccLT("x", 3) }},
		{Name: "nested", Value: ccNestedValue, Twin: ccNestedTwinValue},
		{Name: "embedded", Value: func() any {
			return &ccEmbed{CCBase: CCBase{ID: 1, Memo: "m"}, CCPtrBase: &CCPtrBase{Kind: "k"},
				ccInner: ccInner{Inner: "in", Memo2: "m2"}, CCStringer: CCStringer{Said: "hi", Memo: "m"},
				CCLabel: "lbl", ccCode: 7, Own: "own", Memo: "m"}
		}, Twin: func() any {
			return &ccEmbedTwin{CCBaseTwin: CCBaseTwin{ID: 1}, CCPtrBaseTwin: &CCPtrBaseTwin{Kind: "k"},
				ccInnerTwin: ccInnerTwin{Inner: "in"}, CCStringerTwin: CCStringerTwin{Said: "hi"},
				CCLabel: "lbl", ccCode: 7, Own: "own"}
		}},
		{Name: "embedded-nil", Value: func() any { return &ccEmbedNil{X: 1} },
			Twin: func() any { return &ccEmbedNilTwin{X: 1} }},
		{Name: "embedded-unexported-pointer", Value: func() any {
			return &ccEmbedNil{CCPtrBase: &CCPtrBase{Kind: "k"}, ccInner: &ccInner{Inner: "i", Memo2: "m"}, X: 2}
		}, Twin: func() any {
			return &ccEmbedNilTwin{CCPtrBaseTwin: &CCPtrBaseTwin{Kind: "k"}, ccInnerTwin: &ccInnerTwin{Inner: "i"}, X: 2}
		}},
		{Name: "embedded-tags", Value: func() any {
			return &ccInlineTags{CCBase: CCBase{ID: 3, Memo: "m"}, ccInner: ccInner{Inner: "i", Memo2: "m"},
				CCStringer: &CCStringer{Said: "s", Memo: "m"}, X: 4}
		}, Twin: func() any {
			return &ccInlineTagsTwin{CCBaseTwin: CCBaseTwin{ID: 3}, ccInnerTwin: ccInnerTwin{Inner: "i"},
				CCStringerTwin: &CCStringerTwin{Said: "s"}, X: 4}
		}},
		{Name: "zero-methods", Value: func() any {
			return &ccZeroPtrs{Zero: &ccZeroer{Memo: "m"}, NonZero: &ccZeroer{N: 1, Memo: "m"}, Empty: []ccZeroer{},
				Both: &ccZeroer{}}
		}, Twin: func() any {
			return &ccZeroPtrsTwin{Zero: &ccZeroerTwin{}, NonZero: &ccZeroerTwin{N: 1}, Empty: []ccZeroerTwin{},
				Both: &ccZeroerTwin{}}
		}},
		{Name: "omit-set", Value: func() any { v, _ := ccOmitPair(true, 1.5); return v },
			Twin: func() any { _, w := ccOmitPair(true, 1.5); return w }},
		{Name: "omit-zero", Value: func() any { v, _ := ccOmitPair(false, 0); return v },
			Twin: func() any { _, w := ccOmitPair(false, 0); return w }},
		{Name: "omit-zero-but-cached", Value: func() any { v, _ := ccOmitPair(false, 2.5); return v },
			Twin: func() any { _, w := ccOmitPair(false, 2.5); return w }},
		{Name: "methods", Value: func() any {
			return &ccMethods{JSONM: ccJSONM{"j", "m"}, PtrM: ccPtrM{"p", "m"},
				PtrMs: map[string]ccPtrM{"a": {"pa", "m"}}, PtrMP: &ccPtrM{"pp", "m"},
				Text: ccText{"t", "m"}, Bin: ccBin{"b", "m"}, Msgp: ccMsgp{"g", "m"}, CBOR: ccCBOR{"c", "m"},
				Stamp: ccStamp{ccTime, "m"}, When: ccTime, Stamps: []ccStamp{{ccTime, "m"}}, Memo: "m"}
		}, Twin: func() any {
			return &ccMethodsTwin{JSONM: ccJSONMTwin{"j"}, PtrM: ccPtrMTwin{"p"},
				PtrMs: map[string]ccPtrMTwin{"a": {"pa"}}, PtrMP: &ccPtrMTwin{"pp"},
				Text: ccTextTwin{"t"}, Bin: ccBinTwin{"b"}, Msgp: ccMsgpTwin{"g"}, CBOR: ccCBORTwin{"c"},
				Stamp: ccStampTwin{ccTime}, When: ccTime, Stamps: []ccStampTwin{{ccTime}}}
		}},
		{Name: "tree", Value: func() any { return ccTree(1, 3) }, Twin: func() any { return ccTreeTwin(1, 3) }},
		{Name: "list", Value: func() any { return ccLinked(5) }, Twin: func() any { return ccLinkedTwin(5) }},
		// Deeper than views are unrolled (slots are crossed), within the
		// 32 levels of nesting cbor decodes.
		{Name: "deep-list", Value: func() any { return ccLinked(20) }, Twin: func() any { return ccLinkedTwin(20) }},
		{Name: "deep-tree", Value: func() any { return ccChain(12) }, Twin: func() any { return ccChainTwin(12) }},
		{Name: "deep-dir", Value: func() any { d := ccDeepDir(11); return &d }, Twin: func() any { d := ccDeepDirTwin(11); return &d }},
		{Name: "forest", Value: func() any {
			return &ccForest{Trees: []ccNode{{ID: 1, Children: []*ccNode{ccTree(10, 1)}}, {ID: 9}},
				Dirs: ccDir{Name: "/", Bytes: 9, Sub: map[string]ccDir{"a": {Name: "a", Bytes: 3,
					Files: []ccDir{{Name: "f"}}}}},
				List: ccLinked(2)}
		}, Twin: func() any {
			return &ccForestTwin{Trees: []ccNodeTwin{{ID: 1, Children: []*ccNodeTwin{ccTreeTwin(10, 1)}}, {ID: 9}},
				Dirs: ccDirTwin{Name: "/", Sub: map[string]ccDirTwin{"a": {Name: "a",
					Files: []ccDirTwin{{Name: "f"}}}}},
				List: ccLinkedTwin(2)}
		}},
		{Name: "tags", Value: func() any {
			return &ccTags{A: 1, Memo: "m", J: "j", ZP: ccL("zp", 1), Skip: "s",
				Arr: []ccArray{{A: 1, Memo: "m", B: "b", C: []ccArray{{A: 2, B: "c"}}}}, Memo2: ccLeaf{Name: "m", Count: 2, Tags: []string{"m-t"}}}
		}, Twin: func() any {
			return &ccTagsTwin{A: 1, J: "j", ZP: ccLT("zp", 1), Skip: "s",
				Arr: []ccArrayTwin{{A: 1, B: "b", C: []ccArrayTwin{{A: 2, B: "c"}}}}}
		}},
		{Name: "interface", Value: func() any {
			return &ccAny{V: ccLeaf{Name: "v", Count: 1, Tags: []string{"v-t"}}, P: ccL("p", 2), M: map[string]any{"leaf": ccL("m", 3)},
				L: []any{ccL("l", 4), "x", nil}, Number: 0, Memo: ccL("memo", 1)}
		}, Twin: func() any {
			return &ccAnyTwin{V: *ccLT("v", 1), P: ccLT("p", 2), M: map[string]any{"leaf": ccLT("m", 3)},
				L: []any{ccLT("l", 4), "x", nil}, Number: 0}
		}},
		{Name: "session", Value: func() any {
			return &ccSession{Values: map[string]any{"user": ccL("u", 1)}, List: []any{ccL("a", 2), 3}}
		}, Twin: func() any {
			return &ccSession{Values: map[string]any{"user": ccLT("u", 1)}, List: []any{ccLT("a", 2), 3}}
		}},
		{Name: "top-slice", Value: func() any { return &[]*ccLeaf{ccL("a", 1), ccL("b", 2)} },
			Twin: func() any { return &[]*ccLeafTwin{ccLT("a", 1), ccLT("b", 2)} }},
		{Name: "top-map", Value: func() any { return &map[string]ccNode{"t": {ID: 3, Children: []*ccNode{ccTree(30, 0)}}} },
			Twin: func() any { return &map[string]ccNodeTwin{"t": {ID: 3, Children: []*ccNodeTwin{ccTreeTwin(30, 0)}}} }},
	}
}

// computeCached gives every cached property reachable from v (a pointer) a
// computed value: tagged fields a non-zero value of their type where one is
// easy to make, cells a value through Set. It follows what resetCached
// follows, interfaces included.
func computeCached(v any) {
	computeValue(reflect.ValueOf(v), map[uintptr]bool{})
}

func computeValue(v reflect.Value, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		computeValue(v.Elem(), seen)
	case reflect.Interface:
		if !v.IsNil() && v.Elem().Kind() == reflect.Pointer {
			computeValue(v.Elem(), seen)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			computeValue(v.Index(i), seen)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			if e.Kind() == reflect.Pointer || e.Kind() == reflect.Interface {
				computeValue(e, seen)
				continue
			}
			c := reflect.New(e.Type()).Elem()
			c.Set(e)
			computeValue(c, seen)
			v.SetMapIndex(k, c)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := reflect.NewAt(t.Field(i).Type, v.Field(i).Addr().UnsafePointer()).Elem()
			switch {
			case cacheprop.IsCell(t.Field(i).Type):
				set := f.Addr().MethodByName("Set")
				set.Call([]reflect.Value{reflect.New(set.Type().In(0)).Elem()})
			case cacheprop.IsCached(t.Field(i)):
				if f.Kind() == reflect.String && f.Len() == 0 {
					f.SetString("stale")
				} else if f.Kind() >= reflect.Int && f.Kind() <= reflect.Int64 && f.Int() == 0 {
					f.SetInt(42)
				}
				computeValue(f, seen)
			default:
				computeValue(f, seen)
			}
		}
	}
}
