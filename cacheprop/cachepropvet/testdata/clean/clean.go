// Package clean encodes values the right way, and values with nothing to
// strip: the analyzer reports nothing here.
package clean

import (
	"context"
	"encoding/json"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/vmihailenco/msgpack/v5"

	"example.com/vet/model"
	"github.com/leancache/leancache/codec"
	lc "github.com/leancache/leancache/memcache"
)

func codecs(o model.Order, n *model.Node) {
	codec.JSON.Marshal(o)
	codec.Msgpack.Marshal(n)
	codec.CBOR.Marshal(o)
	codec.Gob.Marshal(o)
}

func plain(p model.Plain, h model.Hidden, b model.Box[int], c *memcache.Client) {
	json.Marshal(p)
	json.Marshal(h) // only unexported cached properties: none is written
	json.Marshal(b)
	json.Marshal(map[string]any{"a": 1, "p": p})
	var v any = p
	msgpack.Marshal(v)
	data, _ := json.Marshal(p)
	c.Set(&memcache.Item{Key: "k", Value: data})
}

func stores(ctx context.Context, b lc.Backend, o *model.Order) {
	s, _ := lc.NewStore[*model.Line](b)
	_ = s
	t, _ := lc.NewStore[*model.Order](b, lc.WithCodec(codec.Msgpack))
	_ = t.Set(ctx, "k", o)
	lc.NewStore[model.Order](b) // its cells sit behind a slice: a copy shares them
	lc.NewStore[model.Plain](b)
}

func forwarded(b lc.Backend, p model.Plain) {
	model.Encode("x", p)
	model.Reassigned(model.Order{})
	lc.NewStore[*model.Plain](b, lc.WithCodec(model.PlainCodec{}))
	lc.NewStore[*model.Order](b, lc.WithCodec(codec.CBOR))
	enc := json.Marshal
	enc(p)
	f := func(v any) ([]byte, error) { return nil, nil }
	f(model.Order{})
}

// Envelope carries any body; this package only puts plain ones in it.
type Envelope struct {
	Body any
	hid  any
}

func envelopes(p model.Plain, o model.Order) {
	json.Marshal(Envelope{Body: p, hid: o}) // hid is unexported: never written
	e := Envelope{}
	e.hid = &o
	json.Marshal(&e)
}
