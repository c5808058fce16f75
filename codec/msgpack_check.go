package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MsgpackMaxDepth is how deeply [Msgpack]'s Unmarshal lets arrays and maps
// nest. msgpack v5 decodes nested values by recursion, without a limit of
// its own; encoding/json stops at the same depth.
const MsgpackMaxDepth = 10000

// ErrMsgpackDepth is wrapped by the error [Msgpack]'s Unmarshal returns for
// input nested deeper than [MsgpackMaxDepth].
var ErrMsgpackDepth = errors.New("codec: msgpack: input nested too deeply")

// checkMsgpack walks the first MessagePack value in data, as msgpack's
// Unmarshal reads only that, and checks that every length it declares fits
// in what remains of data: a string, binary or extension needs that many
// bytes, and every array element or map key and value at least one.
// msgpack v5 sizes slices and maps by the declared length before reading
// them (a 5-byte array header can ask for four billion elements), so after
// this check no allocation can be larger than the input makes plausible.
func checkMsgpack(data []byte) error {
	var stackBuf [32]int
	stack := stackBuf[:0] // items still to read at each open level
	pos, items := 0, 1
	for {
		for items == 0 {
			if len(stack) == 0 {
				return nil
			}
			items, stack = stack[len(stack)-1], stack[:len(stack)-1]
		}
		items--
		if pos >= len(data) {
			return msgpackShort(pos, 1, len(data))
		}
		h := msgpackHeads[data[pos]]
		pos++
		var n uint64   // payload bytes after the header
		var sub uint64 // items the value contains
		switch h.class {
		case mpFixed:
			// Most values (small ints, short strings, nil, bools) end here.
			n = uint64(h.n)
		case mpFixMap:
			sub = 2 * uint64(h.n)
		case mpFixArray:
			sub = uint64(h.n)
		default:
			w := int(h.n)
			if len(data)-pos < w {
				return msgpackShort(pos, uint64(w), len(data)-pos)
			}
			var l uint64
			switch w {
			case 1:
				l = uint64(data[pos])
			case 2:
				l = uint64(binary.BigEndian.Uint16(data[pos:]))
			default:
				l = uint64(binary.BigEndian.Uint32(data[pos:]))
			}
			pos += w
			switch h.class {
			case mpArray:
				sub = l
			case mpMap:
				sub = 2 * l
			case mpExt:
				n = l + 1 // the extension's type byte
			default:
				n = l
			}
		}
		rest := uint64(len(data) - pos)
		if n > rest {
			return msgpackShort(pos, n, int(rest))
		}
		pos += int(n)
		if sub > 0 {
			if sub > rest {
				return msgpackShort(pos, sub, int(rest))
			}
			if len(stack) >= MsgpackMaxDepth {
				return fmt.Errorf("%w: more than %d levels at offset %d", ErrMsgpackDepth, MsgpackMaxDepth, pos)
			}
			stack = append(stack, items)
			items = int(sub)
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

type mpHead struct{ class, n uint8 }

// msgpackHeads classifies every first byte of a MessagePack value.
var msgpackHeads = func() (t [256]mpHead) {
	for c := 0; c < 256; c++ {
		var h mpHead
		switch {
		case c <= 0x7f || c >= 0xe0 || c >= 0xc0 && c <= 0xc3:
		case c <= 0x8f:
			h = mpHead{mpFixMap, uint8(c & 0x0f)}
		case c <= 0x9f:
			h = mpHead{mpFixArray, uint8(c & 0x0f)}
		case c <= 0xbf:
			h = mpHead{mpFixed, uint8(c & 0x1f)}
		case c == 0xc4 || c == 0xd9:
			h = mpHead{mpLen, 1}
		case c == 0xc5 || c == 0xda:
			h = mpHead{mpLen, 2}
		case c == 0xc6 || c == 0xdb:
			h = mpHead{mpLen, 4}
		case c == 0xc7:
			h = mpHead{mpExt, 1}
		case c == 0xc8:
			h = mpHead{mpExt, 2}
		case c == 0xc9:
			h = mpHead{mpExt, 4}
		case c == 0xca:
			h = mpHead{mpFixed, 4}
		case c == 0xcb:
			h = mpHead{mpFixed, 8}
		case c >= 0xcc && c <= 0xcf:
			h = mpHead{mpFixed, 1 << (c - 0xcc)}
		case c >= 0xd0 && c <= 0xd3:
			h = mpHead{mpFixed, 1 << (c - 0xd0)}
		case c >= 0xd4 && c <= 0xd8:
			h = mpHead{mpFixed, 1 + 1<<(c-0xd4)}
		case c == 0xdc:
			h = mpHead{mpArray, 2}
		case c == 0xdd:
			h = mpHead{mpArray, 4}
		case c == 0xde:
			h = mpHead{mpMap, 2}
		case c == 0xdf:
			h = mpHead{mpMap, 4}
		}
		t[c] = h
	}
	return t
}()

func msgpackShort(pos int, need uint64, have int) error {
	return fmt.Errorf("codec: msgpack: the value at offset %d declares %d bytes or items, %d bytes remain: %w", pos, need, have, io.ErrUnexpectedEOF)
}
