//go:build unix

package benchmarks

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time this process has used, all threads (the GC's
// included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU runs loop and reports, besides the wall time, the process's
// CPU time per operation as cpu-ns/op: on a machine shared with other work
// a benchmark's wall time counts the time others ran, its CPU time much
// less so, and the ratio of two sides' CPU times is the steadier figure.
func reportCPU(b *testing.B, loop func()) {
	start := cpuTime()
	n := 0
	for b.Loop() {
		loop()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(n), "cpu-ns/op")
	}
}
