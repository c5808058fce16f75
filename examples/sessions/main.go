// Command sessions is a web server whose sessions live in memcached through
// github.com/alexedwards/scs/v2, with leancache's session Store and Codec.
//
// A user's permission set is derived from the user's roles and held in a
// cacheprop.Lazy: it is computed when first asked for, used for as long as
// the request lasts, and never written into the session. Each request that
// reads the user back from the session computes it afresh, so a change to
// what a role grants takes effect at once for every logged-in user.
//
// Run it on the embedded backend (no server needed), or on memcached:
//
//	go run .
//	go run . -memcached 127.0.0.1:11211 -codec json
//
// then, in another terminal:
//
//	curl -c jar -b jar -d name=alice localhost:8080/login
//	curl -c jar -b jar localhost:8080/me
//	curl -c jar -b jar -X POST localhost:8080/logout
package main

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
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/session"
)

// What scs asks of its store and codec, checked where scs is a dependency,
// so that the core module need not be.
var (
	_ scs.Store    = (*session.Store)(nil)
	_ scs.CtxStore = (*session.Store)(nil)
	_ scs.Codec    = (*session.Codec)(nil)
)

// User is the domain object kept in the session.
type User struct {
	Name  string
	Roles []string
	// Permissions is derived from Roles: a cached property, never in the
	// session's bytes.
	Permissions cacheprop.Lazy[[]string]
	// Greeting is rendered for the page header from the other fields: a
	// cached property too, in its tagged form.
	Greeting string `cacheprop:"cached"`
}

// rolePermissions says what each role grants. In a real application it
// lives in a database and changes while users are logged in, which is why
// permissions are derived on every request rather than stored.
var rolePermissions = map[string][]string{
	"admin":  {"billing.export", "reports.read", "users.delete"},
	"viewer": {"reports.read"},
}

// directory is the demo's user database.
var directory = map[string][]string{
	"alice": {"admin"},
	"bob":   {"viewer"},
}

// app is the server: its session manager and what it needs to build it.
type app struct {
	sessions *scs.SessionManager
	store    *session.Store
	log      *slog.Logger
	// computations counts permission computations, for /me to report.
	computations atomic.Int64
}

// config is what main reads from its flags.
type config struct {
	Backend memcache.Backend // nil: embedded
	Codec   codec.Codec
	Log     io.Writer
}

func newApp(cfg config) (*app, error) {
	sc, err := session.NewCodec(cfg.Codec, session.TypeOf[*User]("user"))
	if err != nil {
		return nil, err
	}
	st, err := session.NewStore(cfg.Backend, session.WithPrefix("sessions-example"))
	if err != nil {
		return nil, err
	}
	a := &app{store: st, log: slog.New(slog.NewTextHandler(cfg.Log, nil))}

	sm := scs.New()
	sm.Store = st
	sm.Codec = sc
	sm.Lifetime = 12 * time.Hour
	sm.IdleTimeout = time.Hour
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	// Plain http on localhost; behind TLS, set Secure.
	sm.Cookie.Secure = false
	sm.ErrorFunc = a.serverError
	a.sessions = sm
	return a, nil
}

// permissions returns u's permission set, computing it on first use.
func (u *User) permissions(count func()) []string {
	return u.Permissions.Get(func() []string {
		count()
		var ps []string
		for _, r := range u.Roles {
			ps = append(ps, rolePermissions[r]...)
		}
		sort.Strings(ps)
		return slices.Compact(ps)
	})
}

// greeting returns u's greeting, rendering it on first use.
func (u *User) greeting(count func()) string {
	if u.Greeting == "" {
		u.Greeting = fmt.Sprintf("Welcome back, %s (%d permissions)", u.Name, len(u.permissions(count)))
	}
	return u.Greeting
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := r.PostFormValue("name")
		roles, ok := directory[name]
		if !ok {
			http.Error(w, "unknown user", http.StatusUnauthorized)
			return
		}
		// A new token on login, against session fixation.
		if err := a.sessions.RenewToken(r.Context()); err != nil {
			a.serverError(w, r, err)
			return
		}
		u := &User{Name: name, Roles: roles}
		perms := u.permissions(a.countComputation)
		greeting := u.greeting(a.countComputation)
		a.sessions.Put(r.Context(), "user", u)
		writeJSON(w, map[string]any{"user": u.Name, "permissions": perms, "greeting": greeting})
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		u, ok := a.sessions.Get(r.Context(), "user").(*User)
		if !ok {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		_, fromSession := u.Permissions.Peek()
		greetingFromSession := u.Greeting != ""
		before := a.computations.Load()
		perms := u.permissions(a.countComputation)
		writeJSON(w, map[string]any{
			"user":                     u.Name,
			"greeting":                 u.greeting(a.countComputation),
			"greeting_from_session":    greetingFromSession,
			"roles":                    u.Roles,
			"permissions":              perms,
			"permissions_from_session": fromSession,
			"permissions_recomputed":   a.computations.Load() > before,
		})
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := a.sessions.Destroy(r.Context()); err != nil {
			a.serverError(w, r, err)
			return
		}
		writeJSON(w, map[string]any{"logged_out": true})
	})
	return a.logRequests(a.sessions.LoadAndSave(mux))
}

func (a *app) countComputation() { a.computations.Add(1) }

// serverError logs err and answers 500. The errors of session's Store and
// Codec never hold a token; this handler logs nothing from the request
// but its method and path, so no cookie reaches the log.
func (a *app) serverError(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// logRequests logs each request's method, path, status and duration, and
// nothing else: headers carry the session cookie.
func (a *app) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		a.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "took", time.Since(start))
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

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sessions:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, logOut io.Writer) error {
	fs := flag.NewFlagSet("sessions", flag.ContinueOnError)
	fs.SetOutput(logOut)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	mc := fs.String("memcached", "", "memcached host:port (default: an embedded in-process backend)")
	codecName := fs.String("codec", "gob", fmt.Sprintf("session codec, one of %v", codec.Names()))
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := config{Log: logOut}
	c, ok := codec.ByName(*codecName)
	if !ok {
		return fmt.Errorf("unknown codec %q (have %v)", *codecName, codec.Names())
	}
	cfg.Codec = c
	if *mc != "" {
		client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{*mc}})
		if err != nil {
			return err
		}
		defer client.Close()
		cfg.Backend = client
	}
	a, err := newApp(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	backend := *mc
	if backend == "" {
		backend = "embedded"
	}
	a.log.Info("listening", "addr", ln.Addr().String(), "codec", c.Name(), "backend", backend)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}
