package memcache

import "github.com/leancache/leancache/codec"

// A Fingerprint identifies the wire schema of a Store's type under its
// codec; values written under another fingerprint read as misses (see
// WithFingerprint). The codec owns the schema: see codec.WireSchema for
// what it counts and codec.SchemaDescriber for codecs of other names.
type Fingerprint = codec.Fingerprint
