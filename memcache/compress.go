package memcache

import (
	"fmt"

	"github.com/klauspost/compress/s2"

	"github.com/leancache/leancache/codec"
)

// Compression is done with S2 (github.com/klauspost/compress/s2) rather than
// zstd: on the benchmark object encoded with each codec, S2 compresses and
// decompresses several times faster at a ratio close enough for a cache,
// where every read pays for decompression (see BenchmarkCompression in
// benchmarks/ for the figures on this machine).

// DefaultCompressThreshold is the encoded size from which WithCompression
// compresses when given a threshold of zero.
const DefaultCompressThreshold = 1024

// DefaultMaxDecodedSize bounds what a value may expand to on read (and,
// with WithChunking, what a store writes in chunks), when
// WithMaxDecodedSize is not given: 64 MiB, what one chunked value holds.
const DefaultMaxDecodedSize = 64 << 20

// DefaultMaxCompressionRatio bounds how many times its compressed size a
// value may expand to on read, when WithMaxCompressionRatio is not given.
// S2 compresses the values caches hold far less than that: 1.5 to 9.7
// times for the fixture product encoded by each codec (1 to 4 MiB, 1 to
// 200 reviews), while a few bytes of S2 can claim 64 MiB (2.4 million
// times). At 32, one item of memcached's default 1 MiB expands to at most
// 32 MiB.
const DefaultMaxCompressionRatio = 32

// compressor applies a Store's compression policy.
type compressor struct {
	threshold  int // compress values of at least this many bytes; 0 = off
	maxDecoded int // 0 = DefaultMaxDecodedSize
	maxRatio   int // 0 = DefaultMaxCompressionRatio
}

// limit is the most n compressed bytes may expand to.
func (c compressor) limit(n int) int {
	return min(c.maxDecodedSize(), c.ratio()*n)
}

func (c compressor) maxDecodedSize() int {
	if c.maxDecoded > 0 {
		return c.maxDecoded
	}
	return DefaultMaxDecodedSize
}

func (c compressor) ratio() int {
	if c.maxRatio > 0 {
		return c.maxRatio
	}
	return DefaultMaxCompressionRatio
}

// compress returns data compressed and true when it is worth it: at least
// threshold bytes, and smaller once compressed. A value that would expand
// more than the ratio readers allow stays as it is, so that the store can
// read back what it writes.
func (c compressor) compress(data []byte) ([]byte, bool) {
	if c.threshold <= 0 || len(data) < c.threshold {
		return data, false
	}
	out := s2.Encode(nil, data)
	if len(out) >= len(data) || len(data) > c.limit(len(out)) {
		return data, false
	}
	return out, true
}

// decompress expands an s2 block, refusing one whose header claims more
// than the ratio or the maximum allows before allocating anything: a few
// bytes must not make the reader ask for megabytes. A refusal is a
// *codec.BudgetError.
func (c compressor) decompress(data []byte) ([]byte, error) {
	n, err := s2.DecodedLen(data)
	if err != nil {
		return nil, fmt.Errorf("s2: %w", err)
	}
	if max := c.limit(len(data)); n > max {
		limit := fmt.Sprintf("decompressed size under the compression ratio %d", c.ratio())
		if max == c.maxDecodedSize() {
			limit = "decompressed size under the maximum"
		}
		return nil, &codec.BudgetError{Codec: "s2", Limit: limit, Max: int64(max), Need: int64(n)}
	}
	out, err := s2.Decode(nil, data)
	if err != nil {
		return nil, fmt.Errorf("s2: %w", err)
	}
	return out, nil
}
