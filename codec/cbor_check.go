package codec

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strconv"
)

// cborCosts are the cost plans of CBOR's decode targets. cbor matches
// field names exactly, else case-insensitively, and keyasint fields by
// their integer key.
var cborCosts = costPlans{naming: &costNaming{
	decMethods: cborDialect.decMethods,
	classify:   cborClassify,
	fold:       true,
	name: func(sf reflect.StructField) (string, int64, bool) {
		_, tag := cborTag(sf.Tag)
		name, opts := tagOptions(tag)
		if name == "" {
			name = sf.Name
		}
		if hasOption(opts, "keyasint") {
			if k, err := strconv.ParseInt(name, 10, 64); err == nil {
				return name, k, true
			}
		}
		return name, 0, false
	},
}}

// errCBORMalformed stops the pre-scan of input that is not well-formed
// CBOR: cbor checks well-formedness before it decodes anything, and
// reports it better.
var errCBORMalformed = errors.New("codec: cbor: malformed")

// checkCBOR pre-scans the CBOR value in data as decoded into a value of
// type t (see scanBudget): the allocation it makes and its nesting must be
// within b. Malformed input passes, for cbor to refuse it. For a
// recursive type, a typed walk also answers cborDirect's question (do
// the input's keys name a cached field?), which direct then answers
// without another pass over the input.
func checkCBOR(data []byte, t reflect.Type, b Budget) (keyVerdict, error) {
	plan := cborCosts.plan(t)
	var keys []string
	if c := cborCachedOf(t); plan.recursive && !c.never {
		keys = c.names
		if keys == nil {
			keys = []string{}
		}
	}
	_, verdict, err := scanBudgetKeys("cbor", scanCBOR, data, plan, b, keys)
	if err == errCBORMalformed {
		err = nil
	}
	return verdict, err
}

// cborDirect answers cborDirect(data, pt) from the pre-scan of data when
// it could.
func (v keyVerdict) cborDirect(data []byte, pt reflect.Type) bool {
	switch v {
	case keysClean:
		return true
	case keysHit:
		return false
	}
	return cborDirect(data, pt)
}

// cborArg reads the argument of the header whose additional information is
// info, at pos; indefinite reports info 31.
func cborArg(data []byte, pos int, info byte) (arg uint64, next int, indefinite bool, err error) {
	switch {
	case info < 24:
		return uint64(info), pos, false, nil
	case info == 31:
		return 0, pos, true, nil
	case info > 27:
		return 0, pos, false, errCBORMalformed
	}
	w := 1 << (info - 24)
	if len(data)-pos < w {
		return 0, pos, false, errCBORMalformed
	}
	switch w {
	case 1:
		arg = uint64(data[pos])
	case 2:
		arg = uint64(binary.BigEndian.Uint16(data[pos:]))
	case 4:
		arg = uint64(binary.BigEndian.Uint32(data[pos:]))
	default:
		arg = binary.BigEndian.Uint64(data[pos:])
	}
	return arg, pos + w, false, nil
}

func cborHead(s *budgetScan) (scanItem, error) {
	data, pos := s.data, s.pos
	if pos >= len(data) {
		return scanItem{}, errCBORMalformed
	}
	c := data[pos]
	major, info := c>>5, c&0x1f
	if info < 24 { // the commonest: the argument is in the first byte
		switch major {
		case 0:
			s.pos = pos + 1
			return scanItem{class: itemInt, ival: int64(info)}, nil
		case 3:
			n := int(info)
			if n > len(data)-pos-1 {
				return scanItem{}, errCBORMalformed
			}
			s.pos = pos + 1 + n
			return scanItem{class: itemText, n: int64(n), start: pos + 1}, nil
		case 4:
			if int(info) <= len(data)-pos-1 {
				s.pos = pos + 1
				return scanItem{class: itemArray, n: int64(info), start: pos + 1}, nil
			}
		case 5:
			if 2*int(info) <= len(data)-pos-1 {
				s.pos = pos + 1
				return scanItem{class: itemMap, n: int64(info), start: pos + 1}, nil
			}
		}
	}
	arg, pos, indef, err := cborArg(data, pos+1, info)
	if err != nil {
		return scanItem{}, err
	}
	rest := uint64(len(data) - pos)
	it := scanItem{start: pos}
	switch major {
	case 0, 1:
		it.class = itemScalar
		if arg <= math.MaxInt64 {
			it.class, it.ival = itemInt, int64(arg)
			if major == 1 {
				it.ival = -1 - it.ival
			}
		}
	case 2, 3:
		it.class = itemBytes
		if major == 3 {
			it.class = itemText
		}
		if indef {
			// Chunks of definite strings until a break: cbor joins
			// them, growing a buffer.
			n, p, err := cborChunks(data, pos, major)
			if err != nil {
				return scanItem{}, err
			}
			it.n, it.start, pos = 2*n, -1, p
			break
		}
		if arg > rest {
			return scanItem{}, errCBORMalformed
		}
		it.n = int64(arg)
		pos += int(arg)
	case 4, 5:
		it.class, it.n = itemArray, -1
		if major == 5 {
			it.class = itemMap
		}
		if !indef {
			need := arg
			if major == 5 {
				if arg > rest {
					return scanItem{}, errCBORMalformed
				}
				need = 2 * arg
			}
			if need > rest {
				return scanItem{}, errCBORMalformed
			}
			it.n = int64(arg)
		}
	case 6:
		if indef {
			return scanItem{}, errCBORMalformed
		}
		it.class = itemTag
	default: // 7: simple values, floats, break
		switch {
		case info == 31:
			it.class = itemBreak
		case info == 22 || info == 23:
			it.class = itemNil
		default:
			it.class = itemScalar
		}
	}
	s.pos = pos
	return it, nil
}

// cborChunks reads the chunks of an indefinite-length string of the given
// major type from pos up to and past its break, and returns their total
// length.
func cborChunks(data []byte, pos int, major byte) (int64, int, error) {
	var n int64
	for {
		if pos >= len(data) {
			return 0, pos, errCBORMalformed
		}
		c := data[pos]
		if c == 0xff {
			return n, pos + 1, nil
		}
		if c>>5 != major {
			return 0, pos, errCBORMalformed
		}
		arg, p, indef, err := cborArg(data, pos+1, c&0x1f)
		if err != nil || indef || arg > uint64(len(data)-p) {
			return 0, pos, errCBORMalformed
		}
		n += int64(arg)
		pos = p + int(arg)
	}
}
