package codec

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJSONNumberFitsOnlyWhatParses: the walk's shortcut never calls a
// number fitting that strconv (as json does) would refuse, for every
// integer and float kind, at the edges of each.
func TestJSONNumberFitsOnlyWhatParses(t *testing.T) {
	nums := []string{"0", "-0", "1", "-1", "0.5", "-0.5", "1e3", "1E-3", "99", "100", "127", "128", "-128", "-129",
		"255", "256", "9999", "32767", "32768", "65535", "65536", "999999999", "2147483647", "2147483648",
		"4294967295", "4294967296", "999999999999999999", "9223372036854775807", "9223372036854775808",
		"18446744073709551615", "18446744073709551616", "340282356779733661637539395458142568448",
		"34028235677973366163753939545814256844", "1.7976931348623157e308", "1e309", "123.456"}
	kinds := []any{int8(0), int16(0), int32(0), int64(0), int(0), uint8(0), uint16(0), uint32(0), uint64(0), uint(0), float32(0), float64(0)}
	fits := 0
	for _, k := range kinds {
		s := jsonShapeOf(reflect.TypeOf(k))
		for _, n := range nums {
			if !jsonNumberFits([]byte(n), s) {
				continue
			}
			fits++
			var err error
			switch s.kind {
			case jsInt:
				_, err = strconv.ParseInt(n, 10, s.bits)
			case jsUint:
				_, err = strconv.ParseUint(n, 10, s.bits)
			case jsFloat:
				_, err = strconv.ParseFloat(n, s.bits)
			}
			assert.NoError(t, err, "%s into %T", n, k)
		}
	}
	assert.Greater(t, fits, 50, "the shortcut takes the common numbers")
}
