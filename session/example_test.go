package session_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/session"
)

// Account is a domain object kept in a session. Its permission set is
// derived from its roles, so it is a cached property: it never reaches
// memcached, and comes back empty.
type Account struct {
	Name        string
	Roles       []string
	Permissions cacheprop.Lazy[[]string]
}

// Can reports whether the account has permission p, computing the
// permission set on first use.
func (a *Account) Can(p string) bool {
	perms := a.Permissions.Get(func() []string {
		if slices.Contains(a.Roles, "admin") {
			return []string{"billing.export", "users.delete"}
		}
		return nil
	})
	return slices.Contains(perms, p)
}

// A Store keeps the bytes a session manager hands it; scs calls these
// methods itself once the Store is its sessions.Store.
func ExampleStore() {
	st, err := session.NewStore(nil) // nil: an embedded backend
	if err != nil {
		fmt.Println(err)
		return
	}
	const token = "hV3pQ0xW9m2Jt7yKc4LrB8aZs1dFg6Ne5UoTiYqPwXk"

	err = st.Commit(token, []byte("session data"), time.Now().Add(time.Hour))
	fmt.Println("commit:", err)
	b, found, err := st.Find(token)
	fmt.Printf("find: %q %v %v\n", b, found, err)

	// An expiry in the past deletes, as scs expects of a store.
	err = st.Commit(token, []byte("session data"), time.Now().Add(-time.Minute))
	fmt.Println("commit expired:", err)
	_, found, err = st.Find(token)
	fmt.Println("find:", found, err)
	// Output:
	// commit: <nil>
	// find: "session data" true <nil>
	// commit expired: <nil>
	// find: false <nil>
}

// Errors from the backend name the operation, never the token.
func ExampleStoreError() {
	st, err := session.NewStore(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	const token = "hV3pQ0xW9m2Jt7yKc4LrB8aZs1dFg6Ne5UoTiYqPwXk"
	err = st.Commit(token, make([]byte, 2<<20), time.Now().Add(time.Hour))
	fmt.Println(errors.Is(err, memcache.ErrTooLarge))
	fmt.Println(strings.Contains(err.Error(), token))
	var se *session.StoreError
	fmt.Println(errors.As(err, &se), se.Op)
	// Output:
	// true
	// false
	// true commit
}

// A Codec over gob writes an account without its permission set, which
// plain gob (scs's default) refuses to encode at all; the account comes
// back as an *Account whose permissions are recomputed on first use.
func ExampleCodec() {
	sc, err := session.NewCodec(codec.Gob, session.TypeOf[*Account]("account"))
	if err != nil {
		fmt.Println(err)
		return
	}
	alice := &Account{Name: "alice", Roles: []string{"admin"}}
	fmt.Println("can export:", alice.Can("billing.export"))

	deadline := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := sc.Encode(deadline, map[string]any{"account": alice, "visits": 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("permissions on the wire:", strings.Contains(string(b), "billing.export"))

	dl, values, err := sc.Decode(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	back := values["account"].(*Account)
	_, cached := back.Permissions.Peek()
	fmt.Println(dl.Format(time.DateOnly), back.Name, values["visits"].(int))
	fmt.Println("permissions cached after decode:", cached)
	fmt.Println("can export:", back.Can("billing.export"))
	// Output:
	// can export: true
	// permissions on the wire: false
	// 2030-01-01 alice 3
	// permissions cached after decode: false
	// can export: true
}

// An object with cached properties must be registered with TypeOf: held in
// an any, no codec could both strip it and bring its type back, so Encode
// refuses it rather than let its cached data leave.
func ExampleCodec_unregistered() {
	sc, err := session.NewCodec(codec.Gob) // *Account not registered
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = sc.Encode(time.Now(), map[string]any{"account": &Account{Name: "alice"}})
	fmt.Println(errors.Is(err, session.ErrCachedBehindInterface))
	var ve *session.ValueError
	if errors.As(err, &ve) {
		fmt.Println(ve.Key, ve.Type)
	}
	// Output:
	// true
	// account *session_test.Account
}

// The Store and the Codec together, as scs uses them: the codec makes the
// bytes, the store keeps them.
func Example() {
	ctx := context.Background()
	sc, err := session.NewCodec(codec.Gob, session.TypeOf[*Account]("account"))
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := session.NewStore(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	const token = "hV3pQ0xW9m2Jt7yKc4LrB8aZs1dFg6Ne5UoTiYqPwXk"
	deadline := time.Now().Add(time.Hour)

	b, err := sc.Encode(deadline, map[string]any{"account": &Account{Name: "bob"}})
	if err == nil {
		err = st.CommitCtx(ctx, token, b, deadline)
	}
	if err != nil {
		fmt.Println(err)
		return
	}

	b, found, err := st.FindCtx(ctx, token)
	if err != nil || !found {
		fmt.Println(found, err)
		return
	}
	_, values, err := sc.Decode(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(values["account"].(*Account).Name)
	// Output:
	// bob
}

// A frame names the codec it was written with, and whoever can write to
// memcached can name any: a Codec decodes only its own codec's frames
// unless told otherwise. DecodeAlso is how to move from one codec to
// another without logging everyone out.
func ExampleDecodeAlso() {
	gobCodec, err := session.NewCodec(codec.Gob)
	if err != nil {
		fmt.Println(err)
		return
	}
	old, err := gobCodec.Encode(time.Now().Add(time.Hour), map[string]any{"user": "bob"})
	if err != nil {
		fmt.Println(err)
		return
	}

	jsonOnly, _ := session.NewCodec(codec.JSON)
	_, _, err = jsonOnly.Decode(old)
	fmt.Println(errors.Is(err, session.ErrCodecNotAllowed))
	fmt.Println(err)

	moving, _ := session.NewCodec(codec.JSON, session.DecodeAlso(codec.Gob))
	_, values, err := moving.Decode(old)
	fmt.Println(values["user"], err)
	// Output:
	// true
	// session: decode: data written with codec "gob", this Codec decodes only [json] (see DecodeAlso)
	// bob <nil>
}

// All lists the sessions of a Store over the embedded backend, for scs's
// Iterate; memcached cannot list them, and All says so.
func ExampleStore_All() {
	st, err := session.NewStore(nil) // nil: an embedded backend
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, tok := range []string{"token-a", "token-b"} {
		if err := st.Commit(tok, []byte("data of "+tok), time.Now().Add(time.Hour)); err != nil {
			fmt.Println(err)
			return
		}
	}
	all, err := st.All()
	fmt.Println(len(all), string(all["token-b"]), err)

	// A client needs no server until it is used, and All never uses it.
	client, err := memcache.NewClient(memcache.ClientConfig{Servers: []string{"127.0.0.1:11211"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	onMemcached, _ := session.NewStore(client)
	_, err = onMemcached.All()
	fmt.Println(errors.Is(err, session.ErrNotIterable))
	// Output:
	// 2 data of token-b <nil>
	// true
}
