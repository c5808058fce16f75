package memcachetest

import (
	"net"
	"os"
	"testing"
)

// TestStartRetriesATakenPort hands Start a port someone else listens on
// first, as happens when another process takes the picked port before
// memcached binds it.
func TestStartRetriesATakenPort(t *testing.T) {
	if _, err := Binary(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	squatter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	taken := squatter.Addr().(*net.TCPAddr).Port

	picks := 0
	pickPort = func() (int, error) {
		picks++
		if picks == 1 {
			return taken, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()

	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if picks != 2 {
		t.Errorf("Start picked %d ports, want 2 (the taken one, then a free one)", picks)
	}
	if s.Addr == squatter.Addr().String() {
		t.Errorf("Start kept the taken address %s", s.Addr)
	}
}
