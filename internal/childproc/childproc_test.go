package childproc

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestRunCapsTheChild(t *testing.T) {
	const mem = 768 << 20
	ran := false
	Run(t, Limits{Memory: mem, Timeout: 30 * time.Second}, func(t *testing.T) {
		ran = true
		if os.Getenv(env) != t.Name() {
			t.Fatalf("f runs outside the child")
		}
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_AS, &lim); err != nil {
			t.Fatal(err)
		}
		if lim.Cur != mem {
			t.Fatalf("RLIMIT_AS = %d, want %d", lim.Cur, mem)
		}
	})
	if os.Getenv(env) == "" && ran {
		t.Fatalf("f ran in the parent")
	}
}

func TestSplitNameQuotes(t *testing.T) {
	got := splitName("TestA/b.c/d")
	want := []string{"TestA", `b\.c`, "d"}
	if len(got) != len(want) {
		t.Fatalf("splitName = %q", got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("splitName = %q, want %q", got, want)
		}
	}
}
