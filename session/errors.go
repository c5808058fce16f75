package session

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/leancache/leancache/memcache"
)

// Errors reported by a Codec; compare with errors.Is.
var (
	// ErrMalformed means session data was not written by a Codec of this
	// package, or was cut short.
	ErrMalformed = errors.New("session: malformed session data")
	// ErrUnknownCodec means session data was written with a codec that is
	// not registered in package codec. The *CodecError that reports it
	// matches ErrCodecNotAllowed too.
	ErrUnknownCodec = errors.New("session: unknown codec")
	// ErrCodecNotAllowed means session data names a codec the Codec does
	// not decode (see DecodeAlso); it is reported as a *CodecError.
	ErrCodecNotAllowed = errors.New("session: codec not allowed")
	// ErrUnknownType means session data holds a value under a type name the
	// Codec was not given (see TypeOf).
	ErrUnknownType = errors.New("session: unknown type name")
	// ErrNotIterable means Store.All was called on a backend that cannot list
	// the sessions (any but an embedded one); see Store.
	ErrNotIterable = errors.New("session: cannot list sessions: only an embedded backend can (memcached cannot list its keys, and holds only digests of the tokens)")
	// ErrCachedBehindInterface means a session value would carry cached
	// properties where no codec can strip them and bring their type back:
	// the value's type is not registered with the Codec, or the cached
	// properties sit behind an interface (any) inside it.
	ErrCachedBehindInterface = errors.New("session: cached properties behind an interface")
)

// A ValueError is returned by [Codec.Encode] and [Codec.Decode] when one
// session value cannot be encoded or decoded. It names the value's key in
// the session (such as "user"), never the session token.
type ValueError struct {
	Op   string // "encode" or "decode"
	Key  string // the value's key in the session
	Path string // where inside the value, such as ".Friends[2]"; may be empty
	Type string // the value's type name, or its Go type when not registered
	Err  error  // a sentinel of this package, or the codec's error
}

// Error says which value failed and why, as in
// `session: encode value "user" (*main.User): ...`.
func (e *ValueError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "session: %s value %q", e.Op, e.Key)
	if e.Path != "" {
		fmt.Fprintf(&b, " at %s", e.Path)
	}
	if e.Type != "" {
		fmt.Fprintf(&b, " (%s)", e.Type)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "session: "))
	if errors.Is(e.Err, ErrCachedBehindInterface) {
		b.WriteString(" (register the type with session.TypeOf, or hold it in a field of its own type)")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ValueError) Unwrap() error { return e.Err }

// A CodecError is returned by [Codec.Decode] for session data that names
// a codec the Codec does not decode. Nothing of such data is decoded: the
// name is all an attacker who writes to memcached controls here, and it must
// not choose the parser. errors.Is(err, ErrCodecNotAllowed) holds, and
// errors.Is(err, ErrUnknownCodec) too when no codec of that name is
// registered in package codec.
type CodecError struct {
	Codec   string   // the codec the data names
	Allowed []string // the codecs the Codec decodes, sorted

	known bool // a codec named Codec is registered in package codec
}

// Error names the codec and the allowed ones, as in
// `session: decode: data written with codec "gob", this Codec decodes only [json] (see DecodeAlso)`.
func (e *CodecError) Error() string {
	what := "codec"
	if !e.known {
		what = "unknown codec"
	}
	return fmt.Sprintf("session: decode: data written with %s %q, this Codec decodes only %v (see DecodeAlso)", what, e.Codec, e.Allowed)
}

// Is makes errors.Is(err, ErrCodecNotAllowed) hold, and ErrUnknownCodec
// for a codec that is not registered.
func (e *CodecError) Is(target error) bool {
	return target == ErrCodecNotAllowed || (target == ErrUnknownCodec && !e.known)
}

// A StoreError is returned by the methods of [Store] when the backend
// fails. It names the operation, never the session token: the backend's
// error is rebuilt without the key, so even errors.As cannot reach the
// token through it.
type StoreError struct {
	Op  string // "find", "commit", "delete" or "all"
	Err error  // the backend's error, with the key removed
}

// Error says which operation failed and why, as in
// `session: find: memcache: get: ...`.
func (e *StoreError) Error() string { return "session: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the backend's error, with the key removed.
func (e *StoreError) Unwrap() error { return e.Err }

// redact returns err without any trace of the secrets (a session token and
// the memcached key made from it). A *memcache.OpError is copied without its
// Key, so callers can still use errors.As on it; any other error whose text
// holds a secret is replaced by its text with the secret cut out, which
// still matches what it wrapped under errors.Is but hides the original
// value from errors.As, since that value may carry the token in a field.
func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var oe *memcache.OpError
	if errors.As(err, &oe) && err == error(oe) {
		cp := *oe
		cp.Key = ""
		cp.Err = redact(oe.Err, secrets...)
		return &cp
	}
	msg := err.Error()
	hit := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			hit = true
		}
	}
	if !hit {
		return err
	}
	return &redactedError{msg: msg, cause: err}
}

// redactedError is an error whose message had a secret cut out.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }

// Is matches what the original error matched, without exposing it.
func (e *redactedError) Is(target error) bool { return errors.Is(e.cause, target) }

// typeString names t for an error message.
func typeString(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}
