package memcachetest_test

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/memcache/memcachetest"
)

// TestMain skips the examples, which cannot skip themselves, when memcached
// is missing outside CI; the tests skip (or fail in CI) on their own.
func TestMain(m *testing.M) {
	flag.Parse()
	if _, err := memcachetest.Binary(); err != nil && os.Getenv("CI") != "true" {
		skip := "^Example"
		if prev := flag.Lookup("test.skip").Value.String(); prev != "" {
			skip = prev + "|" + skip
		}
		flag.Set("test.skip", skip)
		fmt.Fprintf(os.Stderr, "memcachetest: skipping examples: %v\n", err)
	}
	os.Exit(m.Run())
}

// command sends one text-protocol command and returns the reply up to its
// terminating line.
func command(addr, cmd string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	var out strings.Builder
	for {
		line, err := r.ReadString('\n')
		out.WriteString(line)
		if err != nil {
			return out.String(), err
		}
		switch strings.Fields(line + " x")[0] {
		case "END", "VERSION", "STORED", "NOT_STORED", "DELETED", "NOT_FOUND", "ERROR", "SERVER_ERROR", "CLIENT_ERROR", "OK":
			return out.String(), nil
		}
	}
}

func mustCommand(t *testing.T, addr, cmd string) string {
	t.Helper()
	out, err := command(addr, cmd, 2*time.Second)
	require.NoError(t, err, "command %q", cmd)
	return out
}

func TestNewServerServes(t *testing.T) {
	s := memcachetest.NewServer(t)
	host, _, err := net.SplitHostPort(s.Addr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.Equal(t, "STORED\r\n", mustCommand(t, s.Addr, "set k 7 0 2\r\nhi"))
	assert.Equal(t, "VALUE k 7 2\r\nhi\r\nEND\r\n", mustCommand(t, s.Addr, "get k"))
	settings := mustCommand(t, s.Addr, "stats settings")
	assert.Contains(t, settings, "STAT item_size_max 1048576\r\n")
	assert.Contains(t, settings, "STAT maxbytes 67108864\r\n")
	assert.Contains(t, settings, "STAT udpport 0\r\n")
}

func TestOptions(t *testing.T) {
	s := memcachetest.NewServer(t, memcachetest.Options{ItemSize: "2m", MemoryMB: 8, Args: []string{"-c", "99"}})
	settings := mustCommand(t, s.Addr, "stats settings")
	assert.Contains(t, settings, "STAT item_size_max 2097152\r\n")
	assert.Contains(t, settings, "STAT maxbytes 8388608\r\n")
	assert.Contains(t, settings, "STAT maxconns 99\r\n")
}

func TestServersAreDistinct(t *testing.T) {
	first := memcachetest.NewServer(t) // skips or fails without a binary
	var wg sync.WaitGroup
	servers := make([]*memcachetest.Server, 6)
	errs := make([]error, len(servers))
	for i := range servers {
		wg.Go(func() { servers[i], errs[i] = memcachetest.Start() })
	}
	wg.Wait()
	seen := map[string]bool{first.Addr: true}
	for i, s := range servers {
		require.NoError(t, errs[i])
		t.Cleanup(func() { s.Close() })
		assert.False(t, seen[s.Addr], "address %s handed out twice", s.Addr)
		seen[s.Addr] = true
		assert.Equal(t, "END\r\n", mustCommand(t, s.Addr, "get k"))
	}
}

func TestBadOptionsFail(t *testing.T) {
	// -I above half of -m is refused by memcached itself.
	_, err := memcachetest.Start(memcachetest.Options{ItemSize: "64m", MemoryMB: 64})
	if errors.Is(err, memcachetest.ErrNoBinary) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	require.Error(t, err)
	require.NotErrorIs(t, err, memcachetest.ErrNoBinary)
	assert.Contains(t, err.Error(), "exited at start")

	_, err = memcachetest.Start(memcachetest.Options{}, memcachetest.Options{})
	assert.Error(t, err)
}

func TestKillAndRestart(t *testing.T) {
	s := memcachetest.NewServer(t)
	addr := s.Addr
	mustCommand(t, addr, "set k 0 0 1\r\nv")
	require.NoError(t, s.Kill())
	_, err := command(addr, "version", time.Second)
	assert.Error(t, err, "a killed server must refuse connections")
	assert.Error(t, s.Kill(), "Kill of a dead server")

	require.NoError(t, s.Restart())
	assert.Equal(t, addr, s.Addr)
	assert.Equal(t, "END\r\n", mustCommand(t, addr, "get k"), "a restarted server starts cold")

	mustCommand(t, addr, "set k 0 0 1\r\nv")
	require.NoError(t, s.Restart(), "Restart of a running server")
	assert.Equal(t, "END\r\n", mustCommand(t, addr, "get k"))
}

func TestPauseAndResume(t *testing.T) {
	s := memcachetest.NewServer(t)
	require.NoError(t, s.Pause())
	start := time.Now()
	_, err := command(s.Addr, "version", 200*time.Millisecond)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "a paused server must hang, got %v", err)
	assert.Less(t, time.Since(start), 2*time.Second)

	require.NoError(t, s.Resume())
	assert.True(t, strings.HasPrefix(mustCommand(t, s.Addr, "version"), "VERSION "))
}

func TestCloseIsIdempotent(t *testing.T) {
	s := memcachetest.NewServer(t)
	require.NoError(t, s.Pause()) // Close must also end a stopped process.
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err := command(s.Addr, "version", time.Second)
	assert.Error(t, err)
	assert.Error(t, s.Restart(), "Restart after Close")
	assert.Error(t, s.Pause())
}

func TestBinaryFromEnv(t *testing.T) {
	t.Setenv(memcachetest.BinaryEnv, "/nonexistent/memcached")
	_, err := memcachetest.Binary()
	require.ErrorIs(t, err, memcachetest.ErrNoBinary)
	assert.Contains(t, err.Error(), "apt-get install memcached")
	assert.Contains(t, err.Error(), "/nonexistent/memcached")

	t.Setenv(memcachetest.BinaryEnv, t.TempDir())
	_, err = memcachetest.Binary()
	assert.ErrorIs(t, err, memcachetest.ErrNoBinary, "a directory is not a binary")
}

// recordingTB notes how NewServer gave up. Like testing.T, its Skipf and
// Fatalf end the calling goroutine.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	how, msg string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Skipf(format string, args ...any) { r.end("skip", format, args) }

func (r *recordingTB) Fatalf(format string, args ...any) { r.end("fatal", format, args) }

func (r *recordingTB) Fatal(args ...any) { r.end("fatal", "%v", []any{fmt.Sprint(args...)}) }

func (r *recordingTB) end(how, format string, args []any) {
	r.mu.Lock()
	r.how, r.msg = how, fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func newServerWithout(t *testing.T, ci string) *recordingTB {
	t.Setenv(memcachetest.BinaryEnv, "/nonexistent/memcached")
	t.Setenv("CI", ci)
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		memcachetest.NewServer(r)
		r.end("returned", "NewServer returned without a binary", nil)
	}()
	<-done
	return r
}

func TestMissingBinarySkipsOutsideCI(t *testing.T) {
	r := newServerWithout(t, "")
	assert.Equal(t, "skip", r.how, r.msg)
	assert.Contains(t, r.msg, "apt-get install memcached")
}

func TestMissingBinaryFailsInCI(t *testing.T) {
	r := newServerWithout(t, "true")
	assert.Equal(t, "fatal", r.how, r.msg)
	assert.Contains(t, r.msg, "apt-get install memcached")
}
