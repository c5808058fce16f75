package codec

import (
	"testing"
)

// The fuzz targets decode arbitrary input with each codec into the corpus
// types: an error is fine, a panic, a hang or a huge allocation is not, and
// whatever decodes must come out with its cached properties empty and
// encode again. Seeds are in testdata/fuzz/<target>; the corpus encodings
// are added here too.

func FuzzJSONUnmarshal(f *testing.F)    { fuzzUnmarshal(f, JSON) }
func FuzzMsgpackUnmarshal(f *testing.F) { fuzzUnmarshal(f, Msgpack) }
func FuzzCBORUnmarshal(f *testing.F)    { fuzzUnmarshal(f, CBOR) }

func fuzzUnmarshal(f *testing.F, c Codec) {
	for _, cs := range conformanceCorpus() {
		if data, err := c.Marshal(cs.Value()); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, newT := range garbageTargets {
			dst := newT()
			if err := c.Unmarshal(data, dst); err != nil {
				continue
			}
			assertNoCached(t, dst)
			if _, err := c.Marshal(dst); err != nil {
				t.Logf("%s decodes %x into %T but cannot encode the result: %v", c.Name(), data, dst, err)
			}
		}
	})
}
