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
		c := data[pos]
		pos++
		var n uint64   // bytes of payload that follow the header
		var sub uint64 // items the value contains
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc1 || c == 0xc2 || c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			sub = 2 * uint64(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			sub = uint64(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			n = uint64(c & 0x1f)
		case c == 0xca:
			n = 4
		case c == 0xcb:
			n = 8
		case c >= 0xcc && c <= 0xcf:
			n = 1 << (c - 0xcc)
		case c >= 0xd0 && c <= 0xd3:
			n = 1 << (c - 0xd0)
		case c >= 0xd4 && c <= 0xd8:
			n = 1 + 1<<(c-0xd4)
		default:
			var w int     // width of the length field
			var extra int // the extension type byte
			switch c {
			case 0xc4, 0xd9:
				w = 1
			case 0xc5, 0xda:
				w = 2
			case 0xc6, 0xdb:
				w = 4
			case 0xc7:
				w, extra = 1, 1
			case 0xc8:
				w, extra = 2, 1
			case 0xc9:
				w, extra = 4, 1
			case 0xdc:
				w = 2
			case 0xdd:
				w = 4
			case 0xde:
				w = 2
			case 0xdf:
				w = 4
			}
			if len(data)-pos < w {
				return msgpackShort(pos, uint64(w), len(data)-pos)
			}
			var l uint64
			switch w {
			case 1:
				l = uint64(data[pos])
			case 2:
				l = uint64(binary.BigEndian.Uint16(data[pos:]))
			case 4:
				l = uint64(binary.BigEndian.Uint32(data[pos:]))
			}
			pos += w
			switch c {
			case 0xdc, 0xdd:
				sub = l
			case 0xde, 0xdf:
				sub = 2 * l
			default:
				n = l + uint64(extra)
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

func msgpackShort(pos int, need uint64, have int) error {
	return fmt.Errorf("codec: msgpack: the value at offset %d declares %d bytes or items, %d bytes remain: %w", pos, need, have, io.ErrUnexpectedEOF)
}
