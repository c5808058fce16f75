package gorilla_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/session"
	"github.com/leancache/leancache/session/gorilla"
)

// A Store keeps gorilla sessions in memcached: the cookie carries only the
// signed session ID. Here over an embedded backend; pass a
// memcache.NewClient to session.NewStore for real servers.
func ExampleStore() {
	st, err := session.NewStore(memcache.NewEmbedded(memcache.EmbeddedConfig{}), session.WithPrefix("myapp:session"))
	if err != nil {
		fmt.Println(err)
		return
	}
	sc, err := session.NewCodec(codec.JSON)
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := gorilla.NewStore(st, sc, []byte("a 32-byte hash key, kept secret!"))
	if err != nil {
		fmt.Println(err)
		return
	}

	// First request: a new session, saved.
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	sess, _ := store.Get(r, "session")
	fmt.Println("new:", sess.IsNew)
	sess.Values["user"] = "alice"
	if err := sess.Save(r, w); err != nil {
		fmt.Println(err)
		return
	}
	cookie, _, _ := strings.Cut(w.Header().Get("Set-Cookie"), ";")

	// Next request, with the cookie: the session comes back.
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	sess, err = store.Get(r, "session")
	fmt.Println("new:", sess.IsNew, "user:", sess.Values["user"], "err:", err)

	// A cookie someone changed: a new session, and an error saying why.
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie[:len(cookie)-2]+"xx")
	sess, err = store.Get(r, "session")
	fmt.Println("new:", sess.IsNew, "invalid cookie:", errors.Is(err, gorilla.ErrInvalidCookie))
	// Output:
	// new: true
	// new: false user: alice err: <nil>
	// new: true invalid cookie: true
}
