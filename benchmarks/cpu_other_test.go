//go:build !unix

package benchmarks

import "testing"

// reportCPU runs loop; CPU time is reported on unix only.
func reportCPU(b *testing.B, loop func()) {
	for b.Loop() {
		loop()
	}
}
