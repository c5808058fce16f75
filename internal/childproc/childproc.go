// Package childproc runs a test in a child process of the test binary with
// a hard memory cap, so that a test of hostile input that regresses fails
// (the child dies: out of memory, stack overflow, timeout) instead of
// taking the machine or the whole test binary down.
//
// Use it as
//
//	func TestBomb(t *testing.T) {
//		childproc.Run(t, childproc.Limits{Memory: 512 << 20, Timeout: 20 * time.Second}, func(t *testing.T) {
//			// the dangerous part: runs in the child only
//		})
//	}
//
// The parent re-executes the test binary with -test.run naming exactly the
// current test and an environment variable that makes Run call f there;
// the child sets its address-space limit (RLIMIT_AS) before calling f. The
// parent fails if the child fails, crashes, or runs past the timeout, and
// shows the child's output.
package childproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// env names the test the current process is a child for.
const env = "LEANCACHE_CHILDPROC_TEST"

// Limits bounds a child process.
type Limits struct {
	// Memory is the child's address-space limit in bytes (RLIMIT_AS);
	// zero means 1 GiB. The cap counts address space, not memory in use:
	// a large test binary maps about 1.5 GiB before its first test (the
	// codec and meta tests pass 2 to 2.5 GiB), so set it to what the binary
	// maps at rest plus the budget the test allows.
	Memory uint64
	// Timeout bounds the child's run; zero means one minute.
	Timeout time.Duration
}

// Run runs f in a child process under limits, or, in that child, runs f
// itself. Tests that call Run must not call t.Parallel before it.
func Run(t *testing.T, limits Limits, f func(t *testing.T)) {
	t.Helper()
	if os.Getenv(env) == t.Name() {
		mem := limits.Memory
		if mem == 0 {
			mem = 1 << 30
		}
		lim := syscall.Rlimit{Cur: mem, Max: mem}
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
			t.Fatalf("childproc: setrlimit: %v", err)
		}
		f(t)
		return
	}
	timeout := limits.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pattern := "^" + strings.Join(splitName(t.Name()), "$/^") + "$"
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+pattern, "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name(), "GOTRACEBACK=single")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("childproc: child ran past %v:\n%s", timeout, tail(out))
	}
	if err != nil {
		t.Fatalf("childproc: child failed (%v):\n%s", err, tail(out))
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("childproc: child did not run %s:\n%s", t.Name(), tail(out))
	}
	t.Logf("child process passed under %d MiB and %v", limitsMemory(limits)>>20, timeout)
}

func limitsMemory(l Limits) uint64 {
	if l.Memory == 0 {
		return 1 << 30
	}
	return l.Memory
}

// splitName turns a test's name into -test.run's slash-separated pattern
// parts, each quoted.
func splitName(name string) []string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return parts
}

// tail keeps the end of a child's output, where a crash says what happened.
func tail(out []byte) string {
	const max = 8 << 10
	if len(out) > max {
		return fmt.Sprintf("...%s", out[len(out)-max:])
	}
	return string(out)
}
