package codec

import (
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/require"
)

// A positional (toarray) struct with cached fields has fewer elements on
// the wire than fields: decoding it straight into the type (cborDirect,
// for views that hold slots) would misread every element after a cached
// field, so such a type always decodes through its view.
func TestCBORToArrayDecodesThroughTheView(t *testing.T) {
	type holder struct{ Arr []ccArray }
	type holderTwin struct{ Arr []ccArrayTwin }
	v := &holder{Arr: []ccArray{{A: 1, Memo: "m", B: "b", C: []ccArray{{A: 2, B: "c"}}}}}
	data, err := CBOR.Marshal(v)
	require.NoError(t, err)
	want, err := cbor.Marshal(&holderTwin{Arr: []ccArrayTwin{{A: 1, B: "b", C: []ccArrayTwin{{A: 2, B: "c"}}}}})
	require.NoError(t, err)
	require.Equal(t, want, data)
	var got holder
	require.NoError(t, CBOR.Unmarshal(data, &got))
	require.Equal(t, 2, got.Arr[0].C[0].A)
	require.Equal(t, "b", got.Arr[0].B)
}
