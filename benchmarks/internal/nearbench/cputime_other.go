//go:build !linux

package nearbench

import "time"

// threadCPU cannot tell the thread's CPU time here.
func threadCPU() (time.Duration, bool) { return 0, false }
