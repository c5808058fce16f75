// Command gorilla is a web server whose github.com/gorilla/sessions
// sessions live in memcached, through leancache's session/gorilla Store:
// the cookie carries only the signed session ID, the session's values are
// in memcached, and a domain object held in the session loses its cached
// properties there.
//
// A user's permission set is derived from the user's roles and held in a
// cacheprop.Lazy: computed when first asked for, used for as long as the
// request lasts, never written into the session. Each request that reads
// the user back computes it afresh, so a change to what a role grants takes
// effect at once for every logged-in user.
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
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/examples/internal/webdemo"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/session"
	"github.com/leancache/leancache/session/gorilla"
)

// sessionName is the session's cookie name.
const sessionName = "session"

// User is the domain object kept in the session.
type User struct {
	Name  string
	Roles []string
	// Permissions is derived from Roles: a cached property, never in the
	// session's bytes.
	Permissions cacheprop.Lazy[[]string]
}

// app is the server: its session store and what it needs.
type app struct {
	sessions *gorilla.Store
	store    *session.Store // under sessions, to end a session by its ID
	log      *slog.Logger
	// computations counts permission computations, for /me to report.
	computations atomic.Int64
}

// config is what main reads from its flags.
type config struct {
	Backend memcache.Backend // nil: embedded
	Codec   codec.Codec
	HashKey []byte // signs the session ID; nil: a random one
	Log     io.Writer
}

func newApp(cfg config) (*app, error) {
	sc, err := session.NewCodec(cfg.Codec, session.TypeOf[*User]("user"))
	if err != nil {
		return nil, err
	}
	st, err := session.NewStore(cfg.Backend, session.WithPrefix("gorilla-example"))
	if err != nil {
		return nil, err
	}
	key := cfg.HashKey
	if key == nil {
		// Sessions then end when the server stops: fine for a demo.
		key = securecookie.GenerateRandomKey(32)
	}
	gs, err := gorilla.NewStore(st, sc, key)
	if err != nil {
		return nil, err
	}
	gs.MaxAge(12 * 60 * 60)
	gs.Options.SameSite = http.SameSiteLaxMode
	// Plain http on localhost; behind TLS, set Secure.
	gs.Options.Secure = false
	return &app{sessions: gs, store: st, log: slog.New(slog.NewTextHandler(cfg.Log, nil))}, nil
}

// permissions returns u's permission set, computing it on first use.
func (u *User) permissions(count func()) []string {
	return u.Permissions.Get(func() []string {
		count()
		return webdemo.Permissions(u.Roles)
	})
}

// session returns the request's session. A cookie that does not verify,
// or names a session memcached no longer holds, is logged and gives a new
// session: the client is simply not logged in.
func (a *app) session(r *http.Request) (*sessions.Session, error) {
	sess, err := a.sessions.Get(r, sessionName)
	switch {
	case errors.Is(err, gorilla.ErrInvalidCookie), errors.Is(err, gorilla.ErrUnknownSession):
		a.log.Info("new session", "method", r.Method, "path", r.URL.Path, "reason", err)
		return sess, nil
	case err != nil:
		return nil, err
	}
	return sess, nil
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		roles, ok := webdemo.Roles(r.PostFormValue("name"))
		if !ok {
			http.Error(w, "unknown user", http.StatusUnauthorized)
			return
		}
		sess, err := a.session(r)
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		// A new session ID on login, against session fixation.
		if old := sess.ID; old != "" {
			sess.ID = ""
			if err := a.store.DeleteCtx(r.Context(), old); err != nil {
				a.serverError(w, r, err)
				return
			}
		}
		u := &User{Name: r.PostFormValue("name"), Roles: roles}
		perms := u.permissions(a.countComputation)
		sess.Values["user"] = u
		sess.AddFlash("Welcome, " + u.Name)
		if err := sess.Save(r, w); err != nil {
			a.serverError(w, r, err)
			return
		}
		webdemo.WriteJSON(w, map[string]any{"user": u.Name, "permissions": perms})
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		sess, err := a.session(r)
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		u, ok := sess.Values["user"].(*User)
		if !ok {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		_, fromSession := u.Permissions.Peek()
		before := a.computations.Load()
		perms := u.permissions(a.countComputation)
		flashes := sess.Flashes()
		if len(flashes) > 0 {
			// Flashes are read once: save the session without them.
			if err := sess.Save(r, w); err != nil {
				a.serverError(w, r, err)
				return
			}
		}
		webdemo.WriteJSON(w, map[string]any{
			"user":                     u.Name,
			"roles":                    u.Roles,
			"permissions":              perms,
			"permissions_from_session": fromSession,
			"permissions_recomputed":   a.computations.Load() > before,
			"flashes":                  flashes,
		})
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sess, err := a.session(r)
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		// MaxAge -1 deletes the session from memcached and expires the
		// cookie.
		sess.Options.MaxAge = -1
		if err := sess.Save(r, w); err != nil {
			a.serverError(w, r, err)
			return
		}
		webdemo.WriteJSON(w, map[string]any{"logged_out": true})
	})
	return webdemo.LogRequests(a.log, mux)
}

func (a *app) countComputation() { a.computations.Add(1) }

// serverError logs err and answers 500, without anything from the
// request but its method and path.
func (a *app) serverError(w http.ResponseWriter, r *http.Request, err error) {
	webdemo.ServerError(a.log, w, r, err)
}

func main() { webdemo.Main("gorilla", run) }

// run serves until ctx is done. The session ID is signed with the key in
// the environment variable SESSION_HASH_KEY, or a random one.
func run(ctx context.Context, args []string, logOut io.Writer) error {
	return webdemo.Run(ctx, "gorilla", args, logOut, func(s *webdemo.Setup) (http.Handler, *slog.Logger, error) {
		cfg := config{Backend: s.Backend, Codec: s.Codec, Log: logOut}
		if key := os.Getenv("SESSION_HASH_KEY"); key != "" {
			cfg.HashKey = []byte(key)
		}
		a, err := newApp(cfg)
		if err != nil {
			return nil, nil, err
		}
		return a.routes(), a.log, nil
	})
}
