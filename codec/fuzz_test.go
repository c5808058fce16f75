package codec

import (
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The fuzz targets decode arbitrary input with each codec into the corpus
// types: an error is fine, a panic, a hang or a huge allocation is not, and
// whatever decodes must come out with its cached properties empty and
// encode again. Every decode is held to the decode budget by
// checkDecodeBudget. Seeds are in testdata/fuzz/<target> (bombs among
// them: deep nesting, nils into slices of big structs, long declared
// lengths); the corpus encodings are added here too.

func FuzzJSONUnmarshal(f *testing.F) {
	f.Add(jgDeepChain(50, 3))
	f.Add([]byte(`[{},{},{}]`))
	fuzzUnmarshal(f, JSON)
}
func FuzzMsgpackUnmarshal(f *testing.F) { fuzzUnmarshal(f, Msgpack) }
func FuzzCBORUnmarshal(f *testing.F)    { fuzzUnmarshal(f, CBOR) }

// fuzzTargets are garbageTargets and the types bombs aim at: a slice of
// big structs, and a recursive type whose slots re-enter the library.
var fuzzTargets = append(garbageTargets[:len(garbageTargets):len(garbageTargets)],
	func() any { return new([]bigReview) },
	func() any { return new(ccList) },
	func() any { return new(jgChain) },
	func() any { return new([]jgBig) },
	// Fields omitted by omitzero/omitempty: what decodes must encode.
	func() any { return new(ccOmit) },
)

func fuzzUnmarshal(f *testing.F, c Codec) {
	for _, cs := range conformanceCorpus() {
		if data, err := c.Marshal(cs.Value()); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, newT := range fuzzTargets {
			checkScanBound(t, c, data, newT)
			dst, err := checkDecodeBudget(t, c, data, newT)
			if err != nil {
				continue
			}
			assertNoCached(t, dst)
			if _, err := c.Marshal(dst); err != nil {
				t.Logf("%s decodes %x into %T but cannot encode the result: %v", c.Name(), data, dst, err)
			}
		}
	})
}

// decodeWarmed holds the warmKeys checkDecodeBudget has decoded once.
var decodeWarmed sync.Map

type warmKey struct {
	codec string
	t     reflect.Type
}

// The time oracle's bound on one Unmarshal of n bytes: decodeTimeBase
// plus decodeTimePerByte·n. The codecs decode at 10-100 ns a byte on this
// 2-core machine, some ten times slower under -race with six other test
// binaries running: the bound is some fifty times that and a half second
// for scheduling and a GC pause, so it never flakes, yet it catches any
// decoder that is quadratic in its input from a few tens of kilobytes up
// (the JSON chain the issue reports took 3.8 s for 1.1 MB).
const (
	decodeTimeBase    = 500 * time.Millisecond
	decodeTimePerByte = 20 * time.Microsecond
)

// checkDecodeBudget decodes data with c into newTarget() and fails t if
// that allocates more than the default budget allows for len(data)
// (Budget{}.MaxAlloc: the TotalAlloc delta around the call, which counts
// every goroutine's allocation; fuzz workers are separate processes and
// this runs no goroutines of its own, so the noise is the runtime's own
// and far below AllocSlack) or takes longer than the time oracle's bound.
// What a codec builds once per type (views, slots, the libraries' type
// caches) is not the input's doing: the first decode into each type is a
// warm-up and not measured. It returns the target and Unmarshal's error.
// The gob fuzz target calls it too.
func checkDecodeBudget(t *testing.T, c Codec, data []byte, newTarget func() any) (any, error) {
	t.Helper()
	dst := newTarget()
	if _, warm := decodeWarmed.LoadOrStore(warmKey{c.Name(), reflect.TypeOf(dst)}, true); !warm {
		_ = c.Unmarshal(data, newTarget())
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := c.Unmarshal(data, dst)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if limit := (Budget{}).MaxAlloc(len(data)); int64(alloc) > limit {
		t.Errorf("%s: decoding %d bytes into %T allocated %d bytes, over the budget's %d (err %v)", c.Name(), len(data), dst, alloc, limit, err)
	}
	if limit := decodeTimeBase + time.Duration(len(data))*decodeTimePerByte; took > limit {
		t.Errorf("%s: decoding %d bytes into %T took %v, over the time oracle's %v (err %v)", c.Name(), len(data), dst, took, limit, err)
	}
	return dst, err
}
