package memcache

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// FailureLogInterval is how often, at most, a Store logs a failure of each
// kind (fail-open answers, backend failures) when it has no Recorder: a
// dead server must show in the logs without flooding them. The failures
// left out are counted in the next warning's "suppressed" attribute.
const FailureLogInterval = 10 * time.Second

// failureLog logs a store's failures to slog's default logger at warning
// level, rate-limited. Its zero value is ready.
type failureLog struct {
	mu    sync.Mutex
	kinds [2]struct {
		next       time.Time // when the next warning of the kind may go out
		suppressed int       // warnings left out since the last one
	}
}

// The kinds of failure a failureLog limits separately, so that a flood of
// one does not hide the other.
const (
	logFailOpen = iota
	logBackend
)

var failureMessages = [...]string{
	logFailOpen: "memcache: answered from the loader after a cache failure",
	logBackend:  "memcache: cache backend failure",
}

// warn logs err, of a call op on the caller's key and the memcached key k,
// unless a warning of its kind went out less than FailureLogInterval ago.
// Keys never appear in clear: they are replaced by HashKey's digest.
func (l *failureLog) warn(ctx context.Context, kind int, info StoreInfo, op Op, key, k string, err error) {
	now := time.Now()
	l.mu.Lock()
	st := &l.kinds[kind]
	if now.Before(st.next) {
		st.suppressed++
		l.mu.Unlock()
		return
	}
	st.next = now.Add(FailureLogInterval)
	suppressed := st.suppressed
	st.suppressed = 0
	l.mu.Unlock()

	attrs := make([]slog.Attr, 0, 8)
	if info.Name != "" {
		attrs = append(attrs, slog.String("store", info.Name))
	}
	if info.Namespace != "" {
		attrs = append(attrs, slog.String("namespace", info.Namespace))
	}
	attrs = append(attrs,
		slog.String("codec", info.Codec),
		slog.String("op", string(op)),
		slog.String("reason", FailureReason(err)),
		slog.String("error", scrubKeys(redact(err), key, k)),
	)
	if key != "" {
		attrs = append(attrs, slog.String("key_hash", HashKey(key)))
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	slog.Default().LogAttrs(ctx, slog.LevelWarn, failureMessages[kind], attrs...)
}

// minClearKey is the shortest key scrubKeys also replaces where it stands
// unquoted: shorter ones would match ordinary words of a message, and a
// secret (a session token) is longer.
const minClearKey = 8

// scrubKeys replaces the keys in msg by their digest: quoted as this
// package's errors quote them, and bare if they are long enough to be
// secrets.
func scrubKeys(msg string, keys ...string) string {
	// The longest key first: the caller's key is part of the memcached
	// one, and the whole of a key goes before its parts.
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	for _, k := range keys {
		if k == "" {
			continue
		}
		h := HashKey(k)
		if len(k) >= minClearKey {
			msg = strings.ReplaceAll(msg, k, h)
		}
		msg = strings.ReplaceAll(msg, quoteKey(k), h)
		if len(k) > quotedKeyMax {
			// quoteKey cut it: its head may still stand in msg.
			msg = strings.ReplaceAll(msg, k[:quotedKeyMax], h)
		}
	}
	return msg
}
