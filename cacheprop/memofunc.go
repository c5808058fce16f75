package cacheprop

import "context"

// MemoizeFunc returns a function that memoizes f, typically a method value
// such as client.Fetch of a type you cannot add a [Memo] field to. The
// memo table belongs to the returned function and to nothing global: it is
// freed, with the client f is bound to, once neither the function nor the
// client is reachable. opts bounds the table as [Memo.Configure] does; the
// zero MemoOptions means no bound and no expiry.
//
// The returned function may be called concurrently and behaves as
// [Memo.GetErr]: concurrent calls for one key call f once, errors are
// returned but not stored, and a panic in f is passed on as documented there.
func MemoizeFunc[K comparable, V any](f func(K) (V, error), opts MemoOptions) func(K) (V, error) {
	if f == nil {
		panic("cacheprop: MemoizeFunc: nil function")
	}
	m := newConfiguredMemo[K, V](opts)
	return func(key K) (V, error) { return m.GetErr(key, f) }
}

// MemoizeFuncContext is like [MemoizeFunc] for a function whose first
// argument is a context.Context, such as client.Fetch(ctx, id). The context
// is passed through to f and is never part of the key; waiting and
// cancellation behave as [Memo.GetContext].
func MemoizeFuncContext[K comparable, V any](f func(context.Context, K) (V, error), opts MemoOptions) func(context.Context, K) (V, error) {
	if f == nil {
		panic("cacheprop: MemoizeFuncContext: nil function")
	}
	m := newConfiguredMemo[K, V](opts)
	return func(ctx context.Context, key K) (V, error) { return m.GetContext(ctx, key, f) }
}

// newConfiguredMemo returns a Memo that allocates its table only if opts sets
// a limit, so that an unbounded memoized function costs nothing until called.
func newConfiguredMemo[K comparable, V any](opts MemoOptions) *Memo[K, V] {
	m := new(Memo[K, V])
	if opts.normalized() != (MemoOptions{}) {
		m.Configure(opts)
	}
	return m
}
