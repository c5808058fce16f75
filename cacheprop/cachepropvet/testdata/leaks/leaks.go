// Package leaks encodes values that carry cached properties in every way
// the analyzer reports.
package leaks

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"io"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"example.com/vet/model"
	"github.com/leancache/leancache/cacheprop"
	lc "github.com/leancache/leancache/memcache"
)

// Local is declared here, so it is walked here rather than read from a fact.
type Local struct { // want Local:"leaks json:.Note gob:.Note msgpack:.Note cbor:.Note"
	Note string `cacheprop:"x"`
}

// LocalAlias names an instance through an alias.
type LocalAlias = model.Box[model.Line]

func encoders(o model.Order, w io.Writer) {
	json.Marshal(o)                  // want `json.Marshal writes the cached property model.Order.Lines\[\].Score: encode with a leancache codec \(codec.JSON\)`
	json.MarshalIndent(&o, "", " ")  // want `json.MarshalIndent writes the cached property \*model.Order.Lines\[\].Score`
	json.NewEncoder(w).Encode(o)     // want `json.Encoder.Encode writes the cached property`
	gob.NewEncoder(w).Encode(o)      // want `gob.Encoder.Encode writes .* \(codec.Gob\)`
	msgpack.Marshal(o)               // want `msgpack.Marshal writes .* \(codec.Msgpack\)`
	msgpack.NewEncoder(w).Encode(&o) // want `msgpack.Encoder.Encode writes`
	cbor.Marshal(o)                  // want `cbor.Marshal writes .* \(codec.CBOR\)`
	cbor.NewEncoder(w).Encode(o)     // want `cbor.Encoder.Encode writes`
	var buf bytes.Buffer
	cbor.MarshalToBuffer(o, &buf) // want `cbor.MarshalToBuffer writes`
	em, _ := cbor.CanonicalEncOptions().EncMode()
	em.Marshal(o) // want `cbor.EncMode.Marshal writes`
}

func shapes(n *model.Node, m map[string][]*model.Line, e model.Embeds, l Local, a model.Alias) {
	json.Marshal(n)                     // want `cached property \*model.Node.Depth`
	json.Marshal(m)                     // want `map\[string\]\[\]\*model.Line\[\]\[\].Score`
	json.Marshal([2]model.Line{})       // want `\[2\]model.Line\[\].Score`
	json.Marshal(e)                     // want `model.Embeds.Line.Score`
	json.Marshal(l)                     // want `cached property Local.Note`
	json.Marshal(a)                     // want `cached property model.Alias.Score`
	json.Marshal(cacheprop.Lazy[int]{}) // want `cacheprop.Lazy\[int\] \(a cacheprop cell\)`
	json.Marshal(struct{ L *Local }{})  // want `struct\{L \*Local\}.L.Note`
}

func generics(b model.Box[model.Line], c model.Cached[int], la LocalAlias) {
	json.Marshal(b)  // want `model.Box\[model.Line\].V.Score`
	json.Marshal(c)  // want `model.Cached\[int\].Memo`
	json.Marshal(la) // want `.V.Score`
}

// Save encodes any T: each instantiation is judged where it is made.
func Save[T any](v T) ([]byte, error) { return json.Marshal(v) } // want Save:"forwards 0:encoding/json via json.Marshal"

func perEncoder(d model.Dashed, c model.Custom) {
	json.Marshal(d)    // tagged json:"-": json skips it
	cbor.Marshal(d)    // cbor reads the json tag too
	msgpack.Marshal(d) // want `msgpack.Marshal writes the cached property model.Dashed.Sum`
	json.Marshal(c)    // MarshalJSON decides
	msgpack.Marshal(c) // want `model.Custom.Tokens`
}

func interfaces(o model.Order) {
	var v any = o
	json.Marshal(v) // want `model.Order.Lines\[\].Score`
	var w any
	w = &o
	json.Marshal(w)                                 // want `\*model.Order.Lines`
	json.Marshal(any(o))                            // want `model.Order.Lines`
	json.Marshal(map[string]any{"order": o})        // want `map\[string\]any\[\]\(model.Order\).Lines\[\].Score`
	json.Marshal([]any{1, "x", &o})                 // want `\[\]any\[\]\(\*model.Order\).Lines`
	json.Marshal(struct{ Payload any }{Payload: o}) // want `struct\{Payload any\}.Payload\(model.Order\).Lines`
	json.Marshal(model.Box[any]{V: model.Line{}})   // want `.V\(model.Line\).Score`
}

func items(c *memcache.Client, o model.Order) {
	data, _ := json.Marshal(o)                   // want `json.Marshal writes`
	c.Set(&memcache.Item{Key: "k", Value: data}) // want `memcache.Item Value is the encoding/json encoding of model.Order, cached property model.Order.Lines\[\].Score included`
	var buf bytes.Buffer
	gob.NewEncoder(&buf).Encode(o) // want `gob.Encoder.Encode writes`
	it := &memcache.Item{Key: "k"}
	it.Value = buf.Bytes() // want `memcache.Item Value is the encoding/gob encoding`
	var b2 bytes.Buffer
	enc := msgpack.NewEncoder(&b2)
	enc.Encode(o)                                      // want `msgpack.Encoder.Encode writes`
	c.Set(&memcache.Item{Key: "k", Value: b2.Bytes()}) // want `Value is the msgpack encoding`
	fwd, _ := model.Encode("x", o)                     // want `Encode passes it to json.Marshal`
	c.Set(&memcache.Item{Key: "k", Value: fwd})        // want `memcache.Item Value is the encoding/json encoding of model.Order`
}

func stores(b lc.Backend) {
	lc.NewStore[model.Line](b)          // want `memcache.Store\[model.Line\] copies the cell model.Line.Total on every Get: use memcache.Store\[\*model.Line\]`
	var s *lc.Store[model.Hidden]       // want `memcache.Store\[model.Hidden\] copies the cell model.Hidden.memo`
	s, _ = lc.NewStore[model.Hidden](b) // want `memcache.Store\[model.Hidden\]`
	_ = s
	var n *lc.Store[model.Node]       // want `memcache.Store\[model.Node\]`
	n, _ = lc.NewStore[model.Node](b) // want `memcache.Store\[model.Node\] copies the cell model.Node.Depth`
	_ = n
	lc.NewStore[[2]model.Line](b) // not a struct: the issue names structs
	lc.NewStore[model.Embeds](b)  // want `model.Embeds.Line.Total`
}

func ignored(o model.Order) {
	json.Marshal(o) //cachepropvet:ignore compares sizes with and without stripping
	//cachepropvet:ignore the line below is deliberate too
	json.Marshal(o)
	json.Marshal(o) //cachepropvet:ignore // want `cachepropvet:ignore needs a reason` `json.Marshal writes`
}

func forwarded(o model.Order, b lc.Backend) {
	Save(o)                                                       // want `Save passes it to json.Marshal, which writes the cached property model.Order.Lines\[\].Score`
	model.Encode("x", &o)                                         // want `Encode passes it to json.Marshal, which writes the cached property \*model.Order.Lines`
	model.PlainCodec{}.Marshal(o)                                 // want `Marshal passes it to json.Marshal`
	lc.NewStore[*model.Line](b, lc.WithCodec(model.PlainCodec{})) // want `memcache.Store\[\*model.Line\] encodes with model.PlainCodec, whose Marshal passes values to json.Marshal, which writes the cached property \*model.Line.Score`
}

// plain is a table of encoders by name, as a size comparison keeps.
var plain = map[string]func(any) ([]byte, error){
	"json": json.Marshal,
	"gob": func(v any) ([]byte, error) {
		var buf bytes.Buffer
		err := gob.NewEncoder(&buf).Encode(v)
		return buf.Bytes(), err
	},
}

type library struct {
	name    string
	marshal func(any) ([]byte, error)
}

var libraries = []library{{"msgpack", msgpack.Marshal}, {name: "cbor", marshal: cbor.Marshal}}

func funcValues(o model.Order) {
	enc := json.Marshal
	enc(o) // want `enc may be json.Marshal, which writes the cached property model.Order.Lines`
	if f, ok := plain["json"]; ok {
		f(o) // want `f may be json.Marshal`
	}
	for _, f := range plain {
		f(&o) // want `f may be json.Marshal`
	}
	plain["gob"](o) // want `plain\["gob"\] may be`
	g := func(v any) error { return gob.NewEncoder(io.Discard).Encode(v) }
	g(o) // want `g may be a function literal \(which passes it to gob.Encoder.Encode\), which writes the cached property model.Order.Lines\[\].Score: encode with a leancache codec \(codec.Gob\)`
	for _, lib := range libraries {
		lib.marshal(o) // want `lib.marshal may be msgpack.Marshal`
	}
	e := msgpack.NewEncoder(io.Discard)
	encode := e.Encode
	encode(o) // want `encode may be msgpack.Encoder.Encode`
}

// A and B are mutually recursive: B reaches a cell only through A, and the
// walk of A meets B in progress, which must not be remembered as no leak.
type A struct { // want A:"leaks json:.Memo gob:.Memo msgpack:.Memo cbor:.Memo value:.Memo"
	B    *B
	Memo cacheprop.Lazy[int]
}

// B holds an A behind a pointer.
type B struct { // want B:"leaks json:.A.Memo gob:.A.Memo msgpack:.A.Memo cbor:.A.Memo"
	A *A
}

func recursive(a *A, bs []B) {
	json.Marshal(bs) // want `\[\]B\[\].A.Memo`
	json.Marshal(a)  // want `\*A.Memo`
}

// Envelope carries any body: what the package puts in it is seen.
type Envelope struct {
	Kind string
	Body any
}

func envelopes(o model.Order) {
	env := Envelope{Kind: "order"}
	env.Body = &o
	json.Marshal(env) // want `json.Marshal writes the cached property Envelope.Body\(\*model.Order\).Lines\[\].Score`
}
