package memcache

import (
	"fmt"

	"github.com/klauspost/compress/s2"
)

// Compression is done with S2 (github.com/klauspost/compress/s2) rather than
// zstd: on the benchmark object encoded with each codec, S2 compresses and
// decompresses several times faster at a ratio close enough for a cache,
// where every read pays for decompression (see BenchmarkCompression in
// benchmarks/ for the figures on this machine).

// DefaultCompressThreshold is the encoded size from which WithCompression
// compresses when given a threshold of zero.
const DefaultCompressThreshold = 1024

// DefaultMaxDecodedSize bounds what a compressed value may claim to expand
// to, when WithMaxDecodedSize is not given: 64 MiB.
const DefaultMaxDecodedSize = 64 << 20

// compressor applies a Store's compression policy.
type compressor struct {
	threshold  int // compress values of at least this many bytes; 0 = off
	maxDecoded int
}

// compress returns data compressed and true when it is worth it: at least
// threshold bytes, and smaller once compressed.
func (c compressor) compress(data []byte) ([]byte, bool) {
	if c.threshold <= 0 || len(data) < c.threshold {
		return data, false
	}
	out := s2.Encode(nil, data)
	if len(out) >= len(data) {
		return data, false
	}
	return out, true
}

// decompress expands an s2 block, refusing one whose header claims more
// than maxDecoded bytes before allocating anything: a few corrupt bytes must
// not make the reader ask for gigabytes.
func (c compressor) decompress(data []byte) ([]byte, error) {
	n, err := s2.DecodedLen(data)
	if err != nil {
		return nil, fmt.Errorf("s2: %w", err)
	}
	max := c.maxDecoded
	if max <= 0 {
		max = DefaultMaxDecodedSize
	}
	if n > max {
		return nil, fmt.Errorf("s2: value claims %d bytes decompressed, more than the limit of %d", n, max)
	}
	out, err := s2.Decode(nil, data)
	if err != nil {
		return nil, fmt.Errorf("s2: %w", err)
	}
	return out, nil
}
