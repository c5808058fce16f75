package meta

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrProtocol means the server sent a reply this client did not expect:
// garbage, a truncated line, an unknown code, a reply to another request,
// or a value larger than the configured MaxValueSize. The connection it
// came on is closed. Compare with errors.Is; errors.As gives the
// *ProtocolError with the offending line.
var ErrProtocol = errors.New("meta: protocol error")

// ProtocolError describes a reply the client could not accept.
type ProtocolError struct {
	// Line is the start of the offending reply line (at most 64 bytes),
	// or empty when the reply was cut short.
	Line string
	// Why says what is wrong with it.
	Why string
}

// Error returns "meta: protocol error: why: line".
func (e *ProtocolError) Error() string {
	if e.Line == "" {
		return "meta: protocol error: " + e.Why
	}
	return fmt.Sprintf("meta: protocol error: %s: %q", e.Why, e.Line)
}

// Is makes errors.Is(err, ErrProtocol) true.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// ServerError is a CLIENT_ERROR or SERVER_ERROR reply: the server refused
// the request. The connection it came on is closed, since the client cannot
// know how much of a pipeline the server consumed.
type ServerError struct {
	// Client is true for CLIENT_ERROR, false for SERVER_ERROR.
	Client bool
	// Message is the text after the code.
	Message string
}

// Error returns "meta: SERVER_ERROR message" or "meta: CLIENT_ERROR message".
func (e *ServerError) Error() string {
	code := "SERVER_ERROR"
	if e.Client {
		code = "CLIENT_ERROR"
	}
	return "meta: " + code + " " + e.Message
}

// tooLarge is the message memcached gives for a value over its item size
// limit.
const tooLarge = "object too large for cache"

func protoErr(line []byte, why string) error {
	if len(line) > 64 {
		line = line[:64]
	}
	return &ProtocolError{Line: string(line), Why: why}
}

// code is a reply's two-letter status.
type code uint8

const (
	codeVA code = iota + 1 // value follows
	codeHD                 // success, no value
	codeEN                 // miss (mg)
	codeNF                 // not found (md, ms with C, ma)
	codeNS                 // not stored (ms E/R modes)
	codeEX                 // exists: CAS mismatch
	codeMN                 // end of a pipeline (mn)
)

// reply is one parsed meta reply. Key aliases the reader's buffer and is
// valid only until the next read.
type reply struct {
	code  code
	size  int // VA only
	flags uint32
	cas   uint64
	ttl   int64 // t: remaining seconds, -1 for never
	key   []byte
	// opaque is O's token, -1 when absent.
	opaque int64
	hasF   bool
	hasC   bool
	hasT   bool
	won    bool // W
	stale  bool // X
	lost   bool // Z: the win token went to another caller
}

// maxLine bounds a reply line: codes, a 250-byte key and a few numbers fit
// many times over. A longer line is garbage; it is refused, not buffered.
const maxLine = 2048

// readReply reads one reply header line from r. maxValue bounds a VA
// reply's size. Every failure is a *ProtocolError, a *ServerError or the
// reader's own error (io.EOF, a timeout).
func readReply(r *bufio.Reader, maxValue int) (reply, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return reply{}, protoErr(line, "reply line too long")
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return reply{}, protoErr(line, "truncated reply line")
		}
		return reply{}, err
	}
	if len(line) > maxLine {
		return reply{}, protoErr(line, "reply line too long")
	}
	return parseReply(line, maxValue)
}

// parseReply parses one reply line, "\r\n" included.
func parseReply(line []byte, maxValue int) (reply, error) {
	rp := reply{opaque: -1}
	if len(line) < 4 || line[len(line)-2] != '\r' {
		return rp, protoErr(line, "malformed reply line")
	}
	body := line[:len(line)-2]
	if bytes.HasPrefix(body, []byte("SERVER_ERROR")) || bytes.HasPrefix(body, []byte("CLIENT_ERROR")) {
		msg := body[len("SERVER_ERROR"):]
		if len(msg) > 0 && msg[0] != ' ' {
			return rp, protoErr(line, "unknown reply code")
		}
		return rp, &ServerError{Client: body[0] == 'C', Message: string(bytes.TrimPrefix(msg, []byte(" ")))}
	}
	if len(body) > 2 && body[2] != ' ' {
		return rp, protoErr(line, "unknown reply code")
	}
	switch string(body[:2]) {
	case "VA":
		rp.code = codeVA
	case "HD":
		rp.code = codeHD
	case "EN":
		rp.code = codeEN
	case "NF":
		rp.code = codeNF
	case "NS":
		rp.code = codeNS
	case "EX":
		rp.code = codeEX
	case "MN":
		rp.code = codeMN
	default:
		return rp, protoErr(line, "unknown reply code")
	}
	rest := body[2:]
	if rp.code == codeVA {
		tok := nextToken(&rest)
		n, ok := parseUint(tok, uint64(maxValue))
		if !ok {
			if _, isNum := parseUint(tok, 1<<63-1); isNum {
				return rp, protoErr(line, fmt.Sprintf("value larger than MaxValueSize (%d bytes)", maxValue))
			}
			return rp, protoErr(line, "bad value size")
		}
		rp.size = int(n)
	}
	for {
		tok := nextToken(&rest)
		if tok == nil {
			break
		}
		var ok bool
		arg := tok[1:]
		switch tok[0] {
		case 'f':
			var v uint64
			v, ok = parseUint(arg, 1<<32-1)
			rp.flags, rp.hasF = uint32(v), true
		case 'c':
			rp.cas, ok = parseUint(arg, 1<<64-1)
			rp.hasC = true
		case 't':
			if string(arg) == "-1" {
				rp.ttl, ok = -1, true
			} else {
				var v uint64
				v, ok = parseUint(arg, 1<<31-1)
				rp.ttl = int64(v)
			}
			rp.hasT = true
		case 'k':
			rp.key, ok = arg, len(arg) > 0
		case 'O':
			var v uint64
			v, ok = parseUint(arg, 1<<32-1)
			rp.opaque = int64(v)
		case 'W':
			rp.won, ok = true, len(arg) == 0
		case 'X':
			rp.stale, ok = true, len(arg) == 0
		case 'Z':
			rp.lost, ok = true, len(arg) == 0
		case 'b', 's', 'h', 'l':
			// Flags this client does not ask for but a server may echo
			// (b: base64 key; s, h, l: size, hit, last access).
			ok = true
		}
		if !ok {
			return rp, protoErr(line, "bad flag "+string(tok[:1]))
		}
	}
	return rp, nil
}

// nextToken returns the next space-separated token of *s and advances *s
// past it, or nil at the end. Empty tokens (double spaces) are skipped.
func nextToken(s *[]byte) []byte {
	b := *s
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	if len(b) == 0 {
		*s = b
		return nil
	}
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		i = len(b)
	}
	*s = b[i:]
	return b[:i]
}

// parseUint parses a decimal number no larger than limit, without
// allocating.
func parseUint(b []byte, limit uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// trustedValueAlloc is the largest value allocated at its full size before
// its bytes arrive: memcached's default item size limit. Beyond it a value
// grows as its bytes come in, so a header that claims a huge value costs
// memory only as the data really arrives.
const trustedValueAlloc = 1 << 20

// readValue reads a VA reply's n data bytes and their "\r\n". A value is
// allocated at its size up to trustedValueAlloc; a longer one grows by
// doubling from there, so a reply costs at most about twice its real length
// or trustedValueAlloc, whichever is more.
func readValue(r *bufio.Reader, n int) ([]byte, error) {
	var buf []byte
	if n <= trustedValueAlloc || n <= r.Buffered() {
		buf = make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, truncated(err)
		}
	} else {
		buf = make([]byte, 0, trustedValueAlloc)
		for len(buf) < n {
			if len(buf) == cap(buf) {
				grown := make([]byte, len(buf), min(n, 2*cap(buf)))
				copy(grown, buf)
				buf = grown
			}
			m, err := io.ReadFull(r, buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+m]
			if err != nil {
				return nil, truncated(err)
			}
		}
	}
	// Peek, not a local array: handing one to io.ReadFull would move it
	// to the heap, one allocation per value.
	end, err := r.Peek(2)
	if err != nil {
		return nil, truncated(err)
	}
	if end[0] != '\r' || end[1] != '\n' {
		return nil, protoErr(nil, "value not followed by \\r\\n")
	}
	r.Discard(2)
	return buf, nil
}

// truncated turns an EOF inside a value into a protocol error and keeps
// other errors (timeouts) as they are.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return protoErr(nil, "value cut short")
	}
	return err
}
