package meta

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseReply(t *testing.T) {
	rp, err := parseReply([]byte("VA 5 c2 f7 t60 kfoo O12 W X Z\r\n"), 100)
	require.NoError(t, err)
	assert.Equal(t, reply{code: codeVA, size: 5, flags: 7, cas: 2, ttl: 60, key: []byte("foo"), opaque: 12,
		hasF: true, hasC: true, hasT: true, won: true, stale: true, lost: true}, rp)
	rp, err = parseReply([]byte("VA 0 c1 f0 t-1 W\r\n"), 100)
	require.NoError(t, err)
	assert.Equal(t, int64(-1), rp.ttl)
	for _, ok := range []string{"EN\r\n", "HD\r\n", "NF\r\n", "NS\r\n", "EX\r\n", "MN\r\n", "HD O3\r\n"} {
		_, err := parseReply([]byte(ok), 100)
		assert.NoError(t, err, "%q", ok)
	}
	bad := []string{
		"", "\r\n", "V\r\n", "VA\r\n", "VA x\r\n", "VA -1\r\n", "VA 101\r\n", "VA 99999999999999999999999\r\n",
		"HDX\r\n", "XX\r\n", "END\r\n", "VA 1 f4294967296\r\n", "VA 1 c18446744073709551616\r\n",
		"VA 1 q\r\n", "VA 1 Wx\r\n", "VA 1 O-1\r\n", "VA 1 t-2\r\n", "HD\n", "VALUE k 0 1\r\n", "SERVER_ERRORX\r\n",
	}
	for _, b := range bad {
		_, err := parseReply([]byte(b), 100)
		require.ErrorIs(t, err, ErrProtocol, "%q", b)
		var pe *ProtocolError
		require.ErrorAs(t, err, &pe)
	}
	_, err = parseReply([]byte("SERVER_ERROR out of memory\r\n"), 100)
	var se *ServerError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, ServerError{Message: "out of memory"}, *se)
	_, err = parseReply([]byte("CLIENT_ERROR bad data chunk\r\n"), 100)
	require.ErrorAs(t, err, &se)
	assert.True(t, se.Client)
	assert.Equal(t, "meta: CLIENT_ERROR bad data chunk", se.Error())
}

func TestReadReplyBounds(t *testing.T) {
	long := "VA 1 k" + strings.Repeat("a", maxLine) + "\r\n"
	_, err := readReply(bufio.NewReaderSize(strings.NewReader(long), readBuffer), 100)
	require.ErrorIs(t, err, ErrProtocol)
	_, err = readReply(bufio.NewReaderSize(strings.NewReader(strings.Repeat("a", 3*readBuffer)), readBuffer), 100)
	require.ErrorIs(t, err, ErrProtocol, "no newline within the buffer")
	_, err = readReply(bufio.NewReaderSize(strings.NewReader("VA 1"), readBuffer), 100)
	require.ErrorIs(t, err, ErrProtocol, "cut short")

	for _, in := range []string{"hel", "hello", "hello\r", "helloXY"} {
		_, err := readValue(bufio.NewReader(strings.NewReader(in)), 5)
		require.ErrorIs(t, err, ErrProtocol, "%q", in)
	}
	v, err := readValue(bufio.NewReader(strings.NewReader("hello\r\n")), 5)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), v)
}

// TestReadValueSpendsAsBytesArrive checks that a header's claim alone costs
// no more than trustedValueAlloc: a 100 MB claim followed by 1 KB allocates
// about that.
func TestReadValueSpendsAsBytesArrive(t *testing.T) {
	in := bytes.Repeat([]byte("x"), 1024)
	allocs := allocated(func() {
		_, err := readValue(bufio.NewReaderSize(bytes.NewReader(in), readBuffer), 100<<20)
		require.ErrorIs(t, err, ErrProtocol)
	})
	assert.Less(t, allocs, uint64(trustedValueAlloc+64<<10))
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// FuzzMetaReply feeds arbitrary bytes to the reply reader as a server's
// stream. Oracle: no panic; every failure is typed (ErrProtocol,
// *ServerError or end of input); reading ends promptly; memory spent stays
// within a small multiple of the input, whatever sizes the input claims.
func FuzzMetaReply(f *testing.F) {
	for _, s := range []string{
		"VA 5 c2 f7 t60 kfoo O1\r\nhello\r\nMN\r\n",
		"VA 0 c1 f0 t-1 W\r\n\r\nEN\r\nHD O3\r\n",
		"VA 3 kfoo O2 Z\r\nnew\r\nMN\r\n",
		"VA 2147483648 kfoo\r\nabc",
		"SERVER_ERROR object too large for cache\r\n",
		"CLIENT_ERROR bad command line format\r\nERROR\r\n",
		"VA 1048576 k\r\n" + strings.Repeat("v", 100),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxValue = 1 << 30
		start := time.Now()
		n := allocated(func() {
			r := bufio.NewReaderSize(bytes.NewReader(data), readBuffer)
			for range len(data) + 1 {
				rp, err := readReply(r, maxValue)
				if err == nil && rp.code == codeVA {
					_, err = readValue(r, rp.size)
				}
				if err != nil {
					var se *ServerError
					if !errors.Is(err, ErrProtocol) && !errors.As(err, &se) && !errors.Is(err, io.EOF) {
						t.Fatalf("untyped error %T %v", err, err)
					}
					return
				}
			}
			t.Fatal("more replies than input bytes")
		})
		// The reader's own buffer, the values read whole, and for the
		// one cut short at most trustedValueAlloc or twice its bytes.
		limit := uint64(readBuffer + 4<<10 + 4*len(data) + trustedValueAlloc)
		if n > limit {
			t.Fatalf("%d bytes allocated for %d bytes of input (limit %d)", n, len(data), limit)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}
