// Package webdemo is what the session examples (examples/sessions over
// scs, examples/gorilla over gorilla/sessions) have in common besides their
// session manager: the demo's users and roles, the flags that pick a codec
// and a backend, request logging that never logs a cookie, and a server
// that stops with its context. Keeping it here lets each example show only
// what differs: how its session manager is wired to leancache.
package webdemo

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"time"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// rolePermissions says what each role grants. In a real application it
// lives in a database and changes while users are logged in, which is why
// the examples derive permissions on every request rather than store them.
var rolePermissions = map[string][]string{
	"admin":  {"billing.export", "reports.read", "users.delete"},
	"viewer": {"reports.read"},
}

// directory is the demo's user database: each user's roles.
var directory = map[string][]string{
	"alice": {"admin"},
	"bob":   {"viewer"},
}

// Roles returns the roles of the user called name, and false for a user
// the demo does not know.
func Roles(name string) ([]string, bool) {
	roles, ok := directory[name]
	return slices.Clone(roles), ok
}

// Permissions returns what roles grant, sorted and without repeats: the
// derived data the examples hold in a cached property.
func Permissions(roles []string) []string {
	var ps []string
	for _, r := range roles {
		ps = append(ps, rolePermissions[r]...)
	}
	sort.Strings(ps)
	return slices.Compact(ps)
}

// Setup is what an example reads from its flags: where to listen, the
// session codec, and the backend.
type Setup struct {
	Addr    string
	Codec   codec.Codec
	Backend memcache.Backend // nil: an embedded backend
	// BackendName is the memcached address, or "embedded".
	BackendName string

	client *memcache.Client
}

// Parse reads the flags -addr, -memcached and -codec from args, for the
// program called name; errors and usage go to out.
func Parse(name string, args []string, out io.Writer) (*Setup, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	mc := fs.String("memcached", "", "memcached host:port (default: an embedded in-process backend)")
	codecName := fs.String("codec", "gob", fmt.Sprintf("session codec, one of %v", codec.Names()))
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c, ok := codec.ByName(*codecName)
	if !ok {
		return nil, fmt.Errorf("unknown codec %q (have %v)", *codecName, codec.Names())
	}
	s := &Setup{Addr: *addr, Codec: c, BackendName: "embedded"}
	if *mc != "" {
		client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{*mc}})
		if err != nil {
			return nil, err
		}
		s.client, s.Backend, s.BackendName = client, client, *mc
	}
	return s, nil
}

// Close closes the memcached client's idle connections, if there is one.
func (s *Setup) Close() {
	if s.client != nil {
		s.client.Close()
	}
}

// Main runs run, an example's whole program, with the command line's
// arguments and a context that ends on an interrupt, and exits with a
// message naming the program when it fails.
func Main(name string, run func(ctx context.Context, args []string, out io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Run is an example's program: it reads the flags from args (see Parse),
// builds the server with build, and serves until ctx is done; build gets
// the setup and returns the handler and the logger it logs to.
func Run(ctx context.Context, name string, args []string, out io.Writer, build func(*Setup) (http.Handler, *slog.Logger, error)) error {
	s, err := Parse(name, args, out)
	if err != nil {
		return err
	}
	defer s.Close()
	h, log, err := build(s)
	if err != nil {
		return err
	}
	return Serve(ctx, s, h, log)
}

// Serve serves h on s.Addr until ctx is done, then shuts down gracefully.
// It logs a line "listening" with the address (tests read it from there
// when the port is chosen by the system), the codec and the backend.
func Serve(ctx context.Context, s *Setup, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Info("listening", "addr", ln.Addr().String(), "codec", s.Codec.Name(), "backend", s.BackendName)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}

// LogRequests logs each request's method, path, status and duration to
// log, and nothing else: headers carry the session cookie.
func LogRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "took", time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// ServerError logs err with the request's method and path, and nothing
// else from the request, so no cookie reaches the log; then it answers 500.
// The session stores' errors never hold a session token.
func ServerError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
