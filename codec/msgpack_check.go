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
	if pos := s.pos; pos < len(s.data) {
		// The commonest headers, inline: fixints, nil, bools, short
		// strings, small maps and arrays.
		rest := len(s.data) - pos - 1
		switch c := s.data[pos]; {
		case c <= 0x7f || c >= 0xe0 || c == 0xc2 || c == 0xc3:
			s.pos++
			return scanItem{class: itemScalar, start: pos + 1}, nil
		case c == 0xc0:
			s.pos++
			return scanItem{class: itemNil, start: pos + 1}, nil
		case c >= 0xa0 && c <= 0xbf && int(c&0x1f) <= rest:
			n := int(c & 0x1f)
			s.pos += 1 + n
			return scanItem{class: itemText, n: int64(n), start: pos + 1}, nil
		case c >= 0x80 && c <= 0x8f && 2*int(c&0x0f) <= rest:
			s.pos++
			return scanItem{class: itemMap, n: int64(c & 0x0f), start: pos + 1}, nil
		case c >= 0x90 && c <= 0x9f && int(c&0x0f) <= rest:
			s.pos++
			return scanItem{class: itemArray, n: int64(c & 0x0f), start: pos + 1}, nil
		}
	}
	c, n, pos, err := msgpackHeader(s.data, s.pos)
	if err != nil {
		return scanItem{}, err
	}
	h := msgpackHeads[c]
	it := scanItem{n: int64(n), start: pos}
	switch h.class {
	case mpFixArray, mpArray:
		it.class = itemArray
		s.pos = pos
		return it, nil
	case mpFixMap, mpMap:
		it.class = itemMap
		s.pos = pos
		return it, nil
	case mpExt:
		it.class = itemBytes
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
	}
	s.pos = pos + int(msgpackPayload(h, n))
	return it, nil
}

// msgpackPayload is how many bytes follow a header of class h whose
// length or count is n, before the next item.
func msgpackPayload(h mpHead, n uint64) uint64 {
	switch h.class {
	case mpFixArray, mpArray, mpFixMap, mpMap:
		return 0
	case mpExt:
		return n + 1 // the extension's type byte
	}
	return n
}

// msgpackHeader reads the header at pos: its first byte, its length (or
// count, or fixed payload size), and where what follows it starts. It
// checks that the payload, or one byte per contained item, fits in data.
func msgpackHeader(data []byte, pos int) (c byte, n uint64, next int, err error) {
	if pos >= len(data) {
		return 0, 0, pos, msgpackShort(pos, 1, len(data))
	}
	c = data[pos]
	pos++
	h := msgpackHeads[c]
	switch h.class {
	case mpFixed, mpFixMap, mpFixArray:
		n = uint64(h.n)
	default:
		w := int(h.n)
		if len(data)-pos < w {
			return 0, 0, pos, msgpackShort(pos, uint64(w), len(data)-pos)
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
	need := msgpackPayload(h, n)
	switch h.class {
	case mpFixArray, mpArray:
		need = n
	case mpFixMap, mpMap:
		need = 2 * n
	}
	if rest := uint64(len(data) - pos); need > rest {
		return 0, 0, pos, msgpackShort(pos, need, int(rest))
	}
	return c, n, pos, nil
}

// msgpackCount is budgetScan.count for msgpack, reading headers straight
// from the table: it is all of the pre-scan for most values.
func msgpackCount(s *budgetScan) (items, payload int64, known bool, err error) {
	var stackBuf [32]countLevel
	stack := stackBuf[:0] // the open containers
	data, pos, left, keyBit := s.data, 0, int64(1), int64(0)
	bound, counts := s.cost, &s.counts
	for {
		for left == 0 {
			if len(stack) == 0 {
				return items, payload, !s.over(bound, payload), nil
			}
			left, keyBit = stack[len(stack)-1].open()
			stack = stack[:len(stack)-1]
		}
		left--
		items++
		cc := &counts[left&keyBit] // a map's odd items are keys
		if pos < len(data) {
			// The commonest headers, inline: fixints, nil, bools and
			// short strings.
			switch c := data[pos]; {
			case c <= 0x7f || c >= 0xe0 || c == 0xc2 || c == 0xc3:
				bound += cc.scalar
				pos++
				continue
			case c == 0xc0:
				pos++
				continue
			case c >= 0xa0 && c <= 0xbf && int(c&0x1f) < len(data)-pos:
				bound += cc.text
				payload += int64(c & 0x1f)
				pos += 1 + int(c&0x1f)
				continue
			}
		}
		c, n, next, err := msgpackHeader(data, pos)
		if err != nil {
			return 0, 0, false, err
		}
		h := msgpackHeads[c]
		sub, isMap := n, int64(0)
		switch h.class {
		case mpFixMap, mpMap:
			sub, isMap = 2*n, 1
			bound += cc.mapFixed + int64(n)*cc.mapEntry
		case mpFixArray, mpArray:
			bound += cc.arrayFixed + int64(n)*cc.arrayElem
		default:
			p := msgpackPayload(h, n)
			if h.class == mpFixed && !h.text && (c < 0xd4 || c > 0xd8) {
				bound += cc.scalar
			} else {
				bound += cc.text
				payload += int64(p)
			}
			pos = next + int(p)
			continue
		}
		pos = next
		if err := s.enterCount(len(stack)); err != nil {
			return 0, 0, false, err
		}
		if s.over(bound, payload) {
			return items, payload, false, nil
		}
		if sub > 0 {
			stack = append(stack, openLevel(left, keyBit))
			left, keyBit = int64(sub), isMap
		}
	}
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
