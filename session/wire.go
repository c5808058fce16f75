package session

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The session data a Codec writes, version 1:
//
//	"LS" 0x01                  magic and version
//	string codec name          the codec package's name, such as "gob"
//	bytes  deadline            time.Time.MarshalBinary
//	uvarint n                  the number of values, then n times:
//	  string key               the value's key in the session
//	  string type              its registered type name, "" for any
//	  bytes  data              the codec's encoding of the value
//
// where string and bytes are a uvarint length and that many bytes. The
// codec's bytes are kept as they are, not re-encoded by an outer codec
// (JSON would turn them into base64), so what reaches memcached is exactly
// what the codec wrote: a test can look for a cached property in it.

var magic = [...]byte{'L', 'S', 1}

// entry is one session value on the wire.
type entry struct {
	key, typ string
	data     []byte
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendFrame(codecName string, deadline []byte, entries []entry) []byte {
	n := len(magic) + len(codecName) + len(deadline) + 3*binary.MaxVarintLen64
	for _, e := range entries {
		n += len(e.key) + len(e.typ) + len(e.data) + 3*binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = append(b, magic[:]...)
	b = appendString(b, codecName)
	b = appendString(b, string(deadline))
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = appendString(b, e.key)
		b = appendString(b, e.typ)
		b = appendString(b, string(e.data))
	}
	return b
}

// reader reads a frame; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: bad length", ErrMalformed)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: cut short", ErrMalformed)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// frame is a parsed frame; its slices point into the input.
type frame struct {
	codec    string
	deadline time.Time
	entries  []entry
}

func parseFrame(b []byte) (frame, error) {
	var f frame
	if len(b) < len(magic) || string(b[:len(magic)]) != string(magic[:]) {
		return f, fmt.Errorf("%w: not written by a session.Codec", ErrMalformed)
	}
	r := reader{b: b[len(magic):]}
	f.codec = string(r.bytes())
	dl := r.bytes()
	if r.err == nil {
		if err := f.deadline.UnmarshalBinary(dl); err != nil {
			return f, fmt.Errorf("%w: deadline: %v", ErrMalformed, err)
		}
	}
	n := r.uvarint()
	// Each entry takes at least three bytes, so a count larger than that
	// is corrupt; checking first keeps a bad count from allocating.
	if r.err == nil && n > uint64(len(r.b))/3 {
		return f, fmt.Errorf("%w: %d values in %d bytes", ErrMalformed, n, len(r.b))
	}
	f.entries = make([]entry, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		e := entry{key: string(r.bytes()), typ: string(r.bytes())}
		e.data = r.bytes()
		f.entries = append(f.entries, e)
	}
	if r.err != nil {
		return f, r.err
	}
	if len(r.b) != 0 {
		return f, fmt.Errorf("%w: %d bytes after the last value", ErrMalformed, len(r.b))
	}
	return f, nil
}
