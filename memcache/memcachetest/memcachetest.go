// Package memcachetest starts real memcached servers for tests, in the
// manner of net/http/httptest: each server listens on a free loopback port,
// reports its address in a field, and stops when the test ends.
//
// Tests that need memcached should call [NewServer]. When the memcached
// binary is missing, NewServer skips the test with a message saying how to
// install it, or fails it when the environment variable CI is "true", so a
// CI run can never pass by skipping everything.
package memcachetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BinaryEnv names the environment variable that, when set, is the path of
// the memcached binary to run instead of the one found on PATH.
const BinaryEnv = "MEMCACHED_BIN"

// ErrNoBinary is returned by [Binary] and [Start] when no memcached binary
// can be found.
var ErrNoBinary = errors.New("memcachetest: memcached binary not found (install it with: apt-get install memcached)")

// Options are the memcached settings of a [Server]. The zero value is a
// default memcached: -m 64 and -I 1m.
type Options struct {
	// ItemSize is memcached's -I, the item size limit, such as "2m" or
	// "512k". Empty means memcached's default, 1m. memcached refuses an
	// ItemSize larger than half of MemoryMB.
	ItemSize string
	// MemoryMB is memcached's -m, the item memory in megabytes. Zero
	// means 64.
	MemoryMB int
	// Args are further memcached arguments, appended after the ones this
	// package sets (-l 127.0.0.1 -p PORT -U 0 -m -I).
	Args []string
}

// Server is a memcached process listening on a loopback port.
//
// Its methods are safe for concurrent use.
type Server struct {
	// Addr is the server's address, of the form 127.0.0.1:port. It stays
	// the same across Restart.
	Addr string

	bin  string
	args []string // without -p

	mu     sync.Mutex
	proc   *process // nil after Close or Kill
	closed bool
}

// process is one run of memcached.
type process struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{} // closed once cmd.Wait returns
}

// startAttempts bounds the retries when the free port picked for a server is
// taken by someone else before memcached binds it.
const startAttempts = 10

// startTimeout is how long a new memcached may take to accept connections.
const startTimeout = 10 * time.Second

// Binary returns the path of the memcached binary: the value of the
// environment variable named by [BinaryEnv] when set, else memcached on PATH,
// else the usual Debian location /usr/bin/memcached. It returns an error
// wrapping [ErrNoBinary] when none is executable.
func Binary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%w: %s=%q: %v", ErrNoBinary, BinaryEnv, p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("memcached"); err == nil {
		return p, nil
	}
	// PATH may lack /usr/sbin-style directories in minimal environments.
	for _, p := range []string{"/usr/bin/memcached", "/usr/local/bin/memcached", "/usr/sbin/memcached"} {
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", ErrNoBinary
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// NewServer starts a memcached with the given options (at most one) and
// registers tb.Cleanup to stop it. A missing binary skips the test, or
// fails it when the environment variable CI is "true"; any other failure
// to start fails the test.
func NewServer(tb testing.TB, opts ...Options) *Server {
	tb.Helper()
	s, err := Start(opts...)
	if errors.Is(err, ErrNoBinary) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v; CI=true, so this is a failure, not a skip", err)
			return nil
		}
		tb.Skipf("skipping: %v", err)
		return nil
	}
	if err != nil {
		tb.Fatal(err)
		return nil
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Start starts a memcached with the given options (at most one), for use
// outside tests. The caller must call Close when finished. A missing binary
// is an error wrapping [ErrNoBinary].
func Start(opts ...Options) (*Server, error) {
	if len(opts) > 1 {
		return nil, errors.New("memcachetest: at most one Options")
	}
	var o Options
	if len(opts) == 1 {
		o = opts[0]
	}
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, args: o.args()}
	var last error
	for range startAttempts {
		port, err := pickPort()
		if err != nil {
			return nil, err
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p, err := s.spawn()
		if err == nil {
			s.proc = p
			return s, nil
		}
		last = err
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("memcachetest: no free port after %d attempts: %w", startAttempts, last)
}

func (o Options) args() []string {
	mem := o.MemoryMB
	if mem == 0 {
		mem = 64
	}
	args := []string{"-l", "127.0.0.1", "-U", "0", "-m", strconv.Itoa(mem)}
	if o.ItemSize != "" {
		args = append(args, "-I", o.ItemSize)
	}
	// memcached refuses to run as root unless told which user to become.
	if os.Geteuid() == 0 {
		name := "root"
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
		args = append(args, "-u", name)
	}
	return append(args, o.Args...)
}

// pickPort is freePort; tests replace it to hand out a taken port.
var pickPort = freePort

// freePort returns a loopback TCP port that was free a moment ago. Another
// process may take it before memcached binds it; Start retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("memcachetest: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var errPortTaken = errors.New("memcachetest: port taken")

// spawn runs memcached on s.Addr and waits until that very process answers
// there. A successful dial alone would not do: whoever took the port could
// be answering, so the server's own pid is checked with "stats".
func (s *Server) spawn() (*process, error) {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"-p", port}, s.args...)
	cmd := exec.Command(s.bin, args...)
	p := &process{cmd: cmd, stderr: new(lockedBuffer), exited: make(chan struct{})}
	cmd.Stdout = p.stderr
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("memcachetest: starting %s: %w", s.bin, err)
	}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		pid, err := serverPID(s.Addr)
		if err == nil && pid == cmd.Process.Pid {
			return p, nil
		}
		select {
		case <-p.exited:
			out := p.stderr.String()
			if strings.Contains(out, "Address already in use") {
				return nil, fmt.Errorf("%w: %s", errPortTaken, s.Addr)
			}
			return nil, fmt.Errorf("memcachetest: memcached %s exited at start: %s: %s",
				strings.Join(args, " "), cmd.ProcessState, strings.TrimSpace(out))
		case <-time.After(10 * time.Millisecond):
		}
		// A pid that is not ours means someone else holds the port: our
		// memcached will exit with "Address already in use" shortly.
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("memcachetest: memcached on %s did not accept connections within %v: %s",
				s.Addr, startTimeout, strings.TrimSpace(p.stderr.String()))
		}
	}
}

// serverPID asks the server at addr for its process id. Its timeout is
// short because spawn asks again: a squatter on the port that accepts but
// never answers must not hold up noticing that memcached exited.
func serverPID(addr string) (int, error) {
	const timeout = 250 * time.Millisecond
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("stats\r\n")); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		line = strings.TrimRight(line, "\r\n")
		if v, ok := strings.CutPrefix(line, "STAT pid "); ok {
			return strconv.Atoi(v)
		}
		if line == "END" || strings.HasSuffix(line, "ERROR") {
			return 0, fmt.Errorf("memcachetest: no pid in stats from %s", addr)
		}
	}
}

func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Close stops the server and waits for the process to exit. It may be
// called more than once; calls after the first do nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.proc != nil {
		// memcached keeps nothing worth a graceful shutdown, and SIGKILL also
		// ends a process stopped by Pause.
		s.proc.kill()
		s.proc = nil
	}
	return nil
}

// Kill ends the server abruptly with SIGKILL, as a crash would, and waits
// for it to exit. Clients see refused connections until Restart.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return errors.New("memcachetest: Kill: server is not running")
	}
	s.proc.kill()
	s.proc = nil
	return nil
}

// Pause stops the server with SIGSTOP: connections are still accepted by
// the kernel but nothing is answered, like a hung server, until Resume.
func (s *Server) Pause() error { return s.signal("Pause", syscall.SIGSTOP) }

// Resume continues a server stopped by Pause with SIGCONT.
func (s *Server) Resume() error { return s.signal("Resume", syscall.SIGCONT) }

func (s *Server) signal(op string, sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return fmt.Errorf("memcachetest: %s: server is not running", op)
	}
	if err := s.proc.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("memcachetest: %s: %w", op, err)
	}
	// Signals arrive asynchronously: wait until the process is really
	// stopped (or running again), or a test's next call may still be
	// served by a server it believes hung.
	stopped := sig == syscall.SIGSTOP
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		state, ok := processState(s.proc.cmd.Process.Pid)
		if !ok || (state == 'T') == stopped {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("memcachetest: %s: process %d did not change state within 2s", op, s.proc.cmd.Process.Pid)
}

// processState returns the state letter of a process from /proc (T when
// stopped by a signal), and false where /proc cannot tell.
func processState(pid int) (byte, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The state follows the command name, which is in parentheses and may
	// itself hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return 0, false
	}
	return data[i+2], true
}

// Restart replaces the server with a new memcached process on the same
// address and options, with an empty cache. It works after Kill too.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("memcachetest: Restart: server is closed")
	}
	if s.proc != nil {
		s.proc.kill()
		s.proc = nil
	}
	var err error
	// The old process released the port, but another test may grab it in
	// between; a few tries cover a slow kernel, not a stolen port.
	for range startAttempts {
		var p *process
		if p, err = s.spawn(); err == nil {
			s.proc = p
			return nil
		}
		if !errors.Is(err, errPortTaken) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("memcachetest: Restart: %w", err)
}

// lockedBuffer collects a process's output; exec writes it from its own
// goroutine while spawn may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Startup errors come first; cap the rest so a chatty -vv run cannot
	// grow without bound.
	if room := 64<<10 - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
