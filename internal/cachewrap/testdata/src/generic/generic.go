// Package generic is a golden input: a generic interface with generic
// argument types.
package generic

import "context"

// ID is a key constraint the generator can check: strings and integers only.
type ID interface{ ~string | ~int64 }

// Page is a generic argument type.
type Page[T any] struct {
	After T
	Limit int
}

// Repo is a generic store client.
type Repo[K ID, V any] interface {
	// Get is keyed by K, whose constraint holds only strings and integers.
	// Its result V may be anything, so it stays in process.
	Get(ctx context.Context, id K) (V, error)
	// List takes a generic struct and variadic keys and returns a tuple.
	List(ctx context.Context, page Page[K], ids ...K) ([]V, int, error)
	// Put has side effects.
	//
	//cachewrap:skip
	Put(ctx context.Context, id K, v V) (V, error)
	// Match takes a V, whose constraint admits anything.
	Match(ctx context.Context, example V) ([]K, error)
	// Similar takes a V too, but its author vouches for V's JSON.
	//
	//cachewrap:trust
	//cachewrap:ttl 90s
	Similar(ctx context.Context, example V) ([]K, error)
	// Count takes nothing and returns a lone value.
	Count() int
}
