// Package model declares the types the other test packages encode: the
// analyzer judges them there through the facts it exports here.
package model

import (
	"encoding/json"

	"github.com/leancache/leancache/cacheprop"
)

// Order reaches a cell through a slice of another struct.
type Order struct { // want Order:"leaks json:.Lines\\[\\].Score gob:.Lines\\[\\].Score msgpack:.Lines\\[\\].Score cbor:.Lines\\[\\].Score"
	ID    int
	Lines []Line
}

// Line has a tagged field and an exported cell.
type Line struct { // want Line:"leaks json:.Score gob:.Score msgpack:.Score cbor:.Score value:.Total"
	Name  string
	Score float64 `cacheprop:"derived"`
	Total cacheprop.Lazy[int]
}

// Node is recursive, with a cell at every level.
type Node struct { // want Node:"leaks json:.Depth gob:.Depth msgpack:.Depth cbor:.Depth value:.Depth"
	Name  string
	Kids  []*Node
	Depth cacheprop.Lazy[int]
}

// Dashed keeps its cached property out of json (and so cbor) by tag, not
// out of msgpack or gob.
type Dashed struct { // want Dashed:"leaks gob:.Sum msgpack:.Sum"
	Sum string `cacheprop:"" json:"-"`
}

// Plain has no cached property.
type Plain struct {
	A int
	B []string
}

// Hidden keeps its cached properties in unexported fields, which no encoder
// writes; copying it still copies the cell.
type Hidden struct { // want Hidden:"leaks value:.memo"
	ID   int
	memo cacheprop.Lazy[string]
	note string `cacheprop:""`
}

// Custom encodes itself in JSON: its method decides, not its fields.
type Custom struct { // want Custom:"leaks gob:.Tokens msgpack:.Tokens cbor:.Tokens value:.Tokens"
	Tokens cacheprop.Lazy[[]string]
}

// MarshalJSON writes only what is not derived.
func (Custom) MarshalJSON() ([]byte, error) { return json.Marshal(struct{}{}) }

// Box is generic: whether an instance leaks depends on its argument.
type Box[T any] struct {
	V T
}

// Cached is generic and leaks whatever its argument.
type Cached[T any] struct { // want Cached:"leaks json:.Memo gob:.Memo msgpack:.Memo cbor:.Memo value:.Memo"
	V    T
	Memo cacheprop.Lazy[T]
}

// Alias is another name for Line.
type Alias = Line

// Redundant carries json:"-" and msgpack:"-" beside its cacheprop tag.
type Redundant struct { // want Redundant:"leaks gob:.Sum"
	ID  int
	Sum string `cacheprop:"" json:"-" msgpack:"-"` // want `suggestion: the cacheprop tag already strips this field`
}

// Embeds embeds a line, whose fields json flattens.
type Embeds struct { // want Embeds:"leaks json:.Line.Score gob:.Line.Score msgpack:.Line.Score cbor:.Line.Score value:.Line.Total"
	Line
	Extra int
}

// PlainCodec is a codec that strips nothing: it hands values to json.
type PlainCodec struct{}

// Name returns "plain".
func (PlainCodec) Name() string { return "plain" }

// Marshal is json.Marshal.
func (PlainCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) } // want Marshal:"forwards 0:encoding/json via json.Marshal"

// Unmarshal is json.Unmarshal.
func (PlainCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Encode passes v on through a second function.
func Encode(prefix string, v any) ([]byte, error) { return PlainCodec{}.Marshal(v) } // want Encode:"forwards 1:encoding/json via json.Marshal"

// Reassigned replaces its parameter before encoding it, as leancache's
// codecs do with a stripped view: it forwards nothing.
func Reassigned(v any) ([]byte, error) {
	v = struct{}{}
	return json.Marshal(v)
}
