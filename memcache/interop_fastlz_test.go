package memcache

import (
	"bytes"
	"testing"
)

// FuzzInteropDecodeFastLZ feeds FastLZ blocks of any content, under any
// claimed length, to the decoder: it must return exactly the claimed
// length or an error, never panic or write past it.
func FuzzInteropDecodeFastLZ(f *testing.F) {
	f.Add([]byte{0x03, '"', 'a', 'b', 'c', 0xE0, 0x00, 0x02, 0x00, '"'}, 14)
	f.Add([]byte{0x20, 'a', 0xE0, 0xff, 0xff, 0x00, 0x10}, 300) // level 2, long match
	f.Add([]byte{0x00, 'a', 0x20, 0x00}, 4)
	f.Fuzz(func(t *testing.T, block []byte, n int) {
		if n < 0 || n > 1<<20 {
			return
		}
		out, err := fastlzDecode(block, n)
		if err == nil && len(out) != n {
			t.Fatalf("decoded %d bytes, claimed %d", len(out), n)
		}
	})
}

// TestFastLZRuns checks the overlapping match (a run) and level 2's long
// lengths against output written by hand.
func TestFastLZRuns(t *testing.T) {
	// Level 1: 'a', then a match of 3+6+10 at distance 1.
	out, err := fastlzDecode([]byte{0x00, 'a', 0xE0, 10, 0x00}, 20)
	if err != nil || !bytes.Equal(out, bytes.Repeat([]byte("a"), 20)) {
		t.Fatalf("level 1 run: %q, %v", out, err)
	}
	// Level 2 (0x20 in the first byte): 'a', then 3+6+255+4 at distance 1.
	out, err = fastlzDecode([]byte{0x20, 'a', 0xE0, 255, 4, 0x00}, 1+268)
	if err != nil || !bytes.Equal(out, bytes.Repeat([]byte("a"), 269)) {
		t.Fatalf("level 2 run: %d bytes, %v", len(out), err)
	}
	// A match reaching before the start is corrupt.
	if _, err := fastlzDecode([]byte{0x00, 'a', 0x20, 0x05}, 4); err == nil {
		t.Fatal("a match before the output's start decoded")
	}
}
