package codec

import (
	"bytes"
	"encoding/gob"
	"io"
)

// A cache writes the same type definitions before every value of a type,
// and a new gob.Decoder for each value reads them again and compiles its
// decoding of them again: some 40% of decoding a product. A gobStreamDec is
// a gob.Decoder that has read the definitions a stream starts with and is
// kept, per plan, for the next stream that starts with the very same
// bytes: it is handed only what follows them. To gob that is one stream in
// which an encoder wrote the definitions once and then a value after each
// Encode, which is what gob.Decoder is made to read; the bytes it skips are
// the ones it has read. It is kept only after a decode that succeeded and
// read no other definitions (gobCheckBudget's lead: none inside interface
// values, which gob would add to what it knows and refuse to be sent
// again), for types that hold no interfaces. A kept decoder holds its
// compiled decoding and the last message it read (gob copies each into a
// buffer of its own), until the pool lets it go at a collection.

// gobStreamDec is a decoder and the type definitions it has read.
type gobStreamDec struct {
	dec   *gob.Decoder
	src   gobSource
	defs  string
	reuse bool // may be kept after a successful decode
}

// gobSource is the reader of a gobStreamDec: a byte slice, swapped for
// each stream. It is an io.ByteReader, so gob reads no more than it needs.
type gobSource struct{ b []byte }

func (s *gobSource) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

func (s *gobSource) ReadByte() (byte, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c, nil
}

// decoder returns a decoder for data, whose type definitions are its first
// lead bytes (-1: not only those, see gobCheckBudget): a kept one that has
// read the same definitions, given what follows them, or a new one.
func (p *gobPlan) decoder(data []byte, lead int) *gobStreamDec {
	if lead < 0 || lead > gobDefsMemoMax || p.ifaces {
		return &gobStreamDec{dec: gob.NewDecoder(bytes.NewReader(data))}
	}
	if d, _ := p.decs.Get().(*gobStreamDec); d != nil && d.defs == string(data[:lead]) {
		d.src.b = data[lead:]
		return d
	}
	d := &gobStreamDec{defs: string(data[:lead]), reuse: true}
	d.src.b = data
	d.dec = gob.NewDecoder(&d.src)
	return d
}

// release keeps d for the next stream after a decode that succeeded.
func (p *gobPlan) release(d *gobStreamDec) {
	if d.reuse {
		d.src.b = nil
		p.decs.Put(d)
	}
}
