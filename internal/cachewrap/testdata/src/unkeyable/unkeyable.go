// Package unkeyable is a golden input: arguments and results that cannot be
// keyed or stored, and the shapes of results the generator decides about.
package unkeyable

import (
	"context"
	"io"
	"time"
	"unsafe"
)

// Opaque has an unexported field, which JSON leaves out.
type Opaque struct {
	ID   int
	note string
}

// Hidden has a field JSON is told to leave out.
type Hidden struct {
	ID     int
	Secret string `json:"-"`
}

// Clash has two fields with one JSON name; JSON drops both.
type Clash struct {
	A int `json:"x"`
	B int `json:"x"`
}

// Named is a plain struct.
type Named struct {
	ID   int
	Name string `json:"name,omitempty"`
	_    struct{}
}

// Text marshals itself, so its unexported field does not matter.
type Text struct{ id int }

// MarshalText implements encoding.TextMarshaler.
func (t Text) MarshalText() ([]byte, error) { return []byte{byte(t.id)}, nil }

// PtrJSON marshals itself through a pointer only.
type PtrJSON struct{ id int }

// MarshalJSON implements json.Marshaler.
func (p *PtrJSON) MarshalJSON() ([]byte, error) { return []byte("1"), nil }

// Tree is recursive.
type Tree struct {
	Name string
	Kids []*Tree
}

// Base is embedded in Outer, whose JSON flattens it.
type Base struct{ ID int }

// Outer embeds Base and shadows its field, so JSON drops Base.ID.
type Outer struct {
	Base
	ID int
}

// Event gets MarshalJSON from its embedded time.Time, so JSON writes the
// time alone and drops Name.
type Event struct {
	time.Time
	Name string
}

// Stamp embeds time.Time and nothing else: its JSON is the time's.
type Stamp struct {
	time.Time
	_ [0]int
}

// Odd collects the hard cases.
type Odd interface {
	Callback(ctx context.Context, fn func() error) (int, error)
	Stream(ctx context.Context, ch chan int) (int, error)
	Raw(p unsafe.Pointer) (int, error)
	Any(ctx context.Context, v any) (int, error)
	Reader(ctx context.Context, r io.Reader) (int, error)
	Opaque(ctx context.Context, o Opaque) (int, error)
	Hidden(ctx context.Context, h Hidden) (int, error)
	Clash(ctx context.Context, c Clash) (int, error)
	Outer(ctx context.Context, o Outer) (int, error)
	Complex(ctx context.Context, c complex128) (int, error)
	StructKeys(ctx context.Context, m map[Named]int) (int, error)
	CtxLater(id string, ctx context.Context) (int, error)
	Nothing(ctx context.Context, id string)
	OnlyErr(ctx context.Context, id string) error
	Pair(id string) (int, string)
	Marshalers(ctx context.Context, t Text, p PtrJSON, ts []Text) (int, error)
	Tree(ctx context.Context, t *Tree) (int, error)
	Unnamed(context.Context, string, int) (Named, error)
	Shadow(ctx context.Context, fmt string, cw int, json []byte, ck ...string) (string, error)
	ReturnsReader(ctx context.Context, id string) (io.Reader, error)
	ReturnsOpaque(ctx context.Context, id string) (Opaque, error)
	Local(ctx context.Context, id string) (Named, error)
	Event(ctx context.Context, e Event) (int, error)
	Stamp(ctx context.Context, s Stamp) (int, error)
}
