package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// MsgpackMaxDepth is how deeply [Msgpack]'s Unmarshal lets arrays and maps
// nest by default: the decode budget's [DefaultMaxDepth]. msgpack v5
// decodes nested values by recursion, without a limit of its own.
const MsgpackMaxDepth = DefaultMaxDepth

// ErrMsgpackDepth is matched (errors.Is) by the error [Msgpack]'s Unmarshal
// returns for input nested deeper than its budget allows, a *[BudgetError]
// that matches [ErrBudget] too.
var ErrMsgpackDepth = errors.New("codec: msgpack: input nested too deeply")

// msgpackCosts are the cost plans of msgpack's decode targets.
var msgpackCosts = costPlans{naming: &costNaming{
	decMethods: msgpackDec,
	classify:   msgpackClassify,
	name: func(sf reflect.StructField) (string, int64, bool) {
		if name, _ := tagOptions(sf.Tag.Get("msgpack")); name != "" {
			return name, 0, false
		}
		return sf.Name, 0, false
	},
}}

// checkMsgpack pre-scans the first MessagePack value in data, as msgpack's
// Unmarshal reads only that, as decoded into a value of type t (see
// scanBudget): the allocation it makes and its nesting must be within b.
// It also checks that every length the input declares fits in what remains
// of data: a string, binary or extension needs that many bytes, and every
// array element or map key and value at least one. msgpack v5 sizes slices
// and maps by the declared length before reading them (a 5-byte array
// header can ask for four billion elements).
func checkMsgpack(data []byte, t reflect.Type, b Budget) error {
	_, err := scanBudget("msgpack", scanMsgpack, data, msgpackCosts.plan(t), b)
	return err
}

func msgpackHead(s *budgetScan) (scanItem, error) {
	data, pos := s.data, s.pos
	if pos >= len(data) {
		return scanItem{}, msgpackShort(pos, 1, len(data))
	}
	c := data[pos]
	pos++
	switch {
	case c <= 0x7f || c >= 0xe0: // the commonest: a fixint
		s.pos = pos
		return scanItem{class: itemScalar}, nil
	case c >= 0xa0 && c <= 0xbf: // then a fixstr
		n := int(c & 0x1f)
		if n > len(data)-pos {
			return scanItem{}, msgpackShort(pos, uint64(n), len(data)-pos)
		}
		s.pos = pos + n
		return scanItem{class: itemText, n: int64(n), start: pos}, nil
	}
	h := msgpackHeads[c]
	var n uint64 // payload bytes after the header, or items
	switch h.class {
	case mpFixed, mpFixMap, mpFixArray:
		n = uint64(h.n)
	default:
		w := int(h.n)
		if len(data)-pos < w {
			return scanItem{}, msgpackShort(pos, uint64(w), len(data)-pos)
		}
		switch w {
		case 1:
			n = uint64(data[pos])
		case 2:
			n = uint64(binary.BigEndian.Uint16(data[pos:]))
		default:
			n = uint64(binary.BigEndian.Uint32(data[pos:]))
		}
		pos += w
	}
	rest := uint64(len(data) - pos)
	it := scanItem{n: int64(n), start: pos}
	switch h.class {
	case mpFixArray, mpArray:
		it.class = itemArray
	case mpFixMap, mpMap:
		it.class = itemMap
		n *= 2
	case mpExt:
		it.class = itemBytes
		n++ // the extension's type byte
	default:
		switch {
		case c == 0xc0:
			it.class = itemNil
		case c >= 0xd4 && c <= 0xd8: // fixext
			it.class = itemBytes
		case h.text:
			it.class = itemText
		case h.class == mpLen:
			it.class = itemBytes
		default:
			it.class = itemScalar
		}
		if n > rest {
			return scanItem{}, msgpackShort(pos, n, int(rest))
		}
		s.pos = pos + int(n)
		return it, nil
	}
	if n > rest {
		return scanItem{}, msgpackShort(pos, n, int(rest))
	}
	if it.class == itemBytes {
		pos += int(n)
	}
	s.pos = pos
	return it, nil
}

// Classes of MessagePack headers.
const (
	mpFixed    = iota // n payload bytes follow
	mpFixMap          // n key-value pairs follow
	mpFixArray        // n items follow
	mpLen             // an n-byte length, then that many bytes (str, bin)
	mpExt             // an n-byte length, a type byte, then that many bytes
	mpArray           // an n-byte count, then that many items
	mpMap             // an n-byte count, then that many pairs
)

type mpHead struct {
	class, n uint8
	text     bool // a string, whose payload may name a struct field
}

// msgpackHeads classifies every first byte of a MessagePack value.
var msgpackHeads = func() (t [256]mpHead) {
	for c := 0; c < 256; c++ {
		var h mpHead
		switch {
		case c <= 0x7f || c >= 0xe0 || c >= 0xc0 && c <= 0xc3:
		case c <= 0x8f:
			h = mpHead{mpFixMap, uint8(c & 0x0f), false}
		case c <= 0x9f:
			h = mpHead{mpFixArray, uint8(c & 0x0f), false}
		case c <= 0xbf:
			h = mpHead{mpFixed, uint8(c & 0x1f), true}
		case c == 0xc4:
			h = mpHead{mpLen, 1, false}
		case c == 0xc5:
			h = mpHead{mpLen, 2, false}
		case c == 0xc6:
			h = mpHead{mpLen, 4, false}
		case c == 0xd9:
			h = mpHead{mpLen, 1, true}
		case c == 0xda:
			h = mpHead{mpLen, 2, true}
		case c == 0xdb:
			h = mpHead{mpLen, 4, true}
		case c == 0xc7:
			h = mpHead{mpExt, 1, false}
		case c == 0xc8:
			h = mpHead{mpExt, 2, false}
		case c == 0xc9:
			h = mpHead{mpExt, 4, false}
		case c == 0xca:
			h = mpHead{mpFixed, 4, false}
		case c == 0xcb:
			h = mpHead{mpFixed, 8, false}
		case c >= 0xcc && c <= 0xcf:
			h = mpHead{mpFixed, 1 << (c - 0xcc), false}
		case c >= 0xd0 && c <= 0xd3:
			h = mpHead{mpFixed, 1 << (c - 0xd0), false}
		case c >= 0xd4 && c <= 0xd8:
			h = mpHead{mpFixed, 1 + 1<<(c-0xd4), false}
		case c == 0xdc:
			h = mpHead{mpArray, 2, false}
		case c == 0xdd:
			h = mpHead{mpArray, 4, false}
		case c == 0xde:
			h = mpHead{mpMap, 2, false}
		case c == 0xdf:
			h = mpHead{mpMap, 4, false}
		}
		t[c] = h
	}
	return t
}()

func msgpackShort(pos int, need uint64, have int) error {
	return fmt.Errorf("codec: msgpack: the value at offset %d declares %d bytes or items, %d bytes remain: %w", pos, need, have, io.ErrUnexpectedEOF)
}
