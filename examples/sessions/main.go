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
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/examples/internal/webdemo"
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
		return webdemo.Permissions(u.Roles)
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
		roles, ok := webdemo.Roles(name)
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
		webdemo.WriteJSON(w, map[string]any{"user": u.Name, "permissions": perms, "greeting": greeting})
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
		webdemo.WriteJSON(w, map[string]any{
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
		webdemo.WriteJSON(w, map[string]any{"logged_out": true})
	})
	return webdemo.LogRequests(a.log, a.sessions.LoadAndSave(mux))
}

func (a *app) countComputation() { a.computations.Add(1) }

// serverError logs err and answers 500, without anything from the
// request but its method and path.
func (a *app) serverError(w http.ResponseWriter, r *http.Request, err error) {
	webdemo.ServerError(a.log, w, r, err)
}

func main() { webdemo.Main("sessions", run) }

// run serves until ctx is done.
func run(ctx context.Context, args []string, logOut io.Writer) error {
	return webdemo.Run(ctx, "sessions", args, logOut, func(s *webdemo.Setup) (http.Handler, *slog.Logger, error) {
		a, err := newApp(config{Backend: s.Backend, Codec: s.Codec, Log: logOut})
		if err != nil {
			return nil, nil, err
		}
		return a.routes(), a.log, nil
	})
}
