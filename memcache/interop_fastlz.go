package memcache

import (
	"errors"
	"fmt"
)

// FastLZ is php-memcached's default compression (memcached.compression_type
// "fastlz"), so a store WithInterop(InteropPHP) reads it; it writes zlib,
// which every php-memcached reads whatever its own setting. The block
// format (FastLZ 0.1, as bundled with php-memcached): the top 3 bits of the
// first byte give the level (1 or 2), the block is a sequence of
// instructions, each starting with a control byte c:
//
//   - c < 32: a literal run of c+1 bytes follows;
//   - otherwise a match of length (c>>5)+2, where a length field of 7
//     continues in the next byte (level 1) or bytes while they are 255
//     (level 2), at distance ((c&31)<<8) + next byte + 1; at level 2 a
//     distance byte of 255 with c&31 == 31 is followed by a 16-bit
//     big-endian distance d, for a distance of d + 8192.
//
// The first instruction is a literal run (its control byte's top bits are
// the level).

var errFastLZ = errors.New("fastlz: corrupt block")

// fastlzDecode expands block to exactly n bytes, refusing a block that
// does not, that reaches before its output's start, or that overruns its
// input: it never writes beyond n bytes.
func fastlzDecode(block []byte, n int) ([]byte, error) {
	if len(block) == 0 {
		return nil, errFastLZ
	}
	level := block[0]>>5 + 1
	if level != 1 && level != 2 {
		return nil, fmt.Errorf("fastlz: unknown level %d", level)
	}
	out := make([]byte, 0, n)
	ip := 0
	next := func() (byte, bool) {
		if ip >= len(block) {
			return 0, false
		}
		b := block[ip]
		ip++
		return b, true
	}
	ctrl := uint32(block[0] & 31)
	ip = 1
	for {
		if ctrl < 32 {
			run := int(ctrl) + 1
			if ip+run > len(block) || len(out)+run > n {
				return nil, errFastLZ
			}
			out = append(out, block[ip:ip+run]...)
			ip += run
		} else {
			length := int(ctrl>>5) - 1
			dist := int(ctrl&31) << 8
			if length == 6 {
				for {
					b, ok := next()
					if !ok {
						return nil, errFastLZ
					}
					length += int(b)
					if level == 1 || b != 255 {
						break
					}
				}
			}
			b, ok := next()
			if !ok {
				return nil, errFastLZ
			}
			dist += int(b) + 1
			if level == 2 && b == 255 && ctrl&31 == 31 {
				hi, ok1 := next()
				lo, ok2 := next()
				if !ok1 || !ok2 {
					return nil, errFastLZ
				}
				dist = int(hi)<<8 | int(lo) + 8192
			}
			length += 3
			if dist > len(out) || len(out)+length > n {
				return nil, errFastLZ
			}
			// Byte by byte: a match may overlap its own output (a run).
			from := len(out) - dist
			for i := range length {
				out = append(out, out[from+i])
			}
		}
		if ip >= len(block) {
			break
		}
		ctrl = uint32(block[ip])
		ip++
	}
	if len(out) != n {
		return nil, fmt.Errorf("fastlz: block expands to %d bytes, its header says %d", len(out), n)
	}
	return out, nil
}
