// Package embedded is a golden input: an interface built from interfaces of
// its own package and of others, wrapped into another package.
package embedded

import (
	"context"
	"fmt"
	"io"
)

// Reader reads blobs.
type Reader interface {
	// Fetch returns the blob under key.
	//
	//cachewrap:ttl 5m
	Fetch(ctx context.Context, key string) ([]byte, error)
}

// Lister lists keys.
type Lister interface {
	List(ctx context.Context, prefix string, limit int) ([]Entry, error) //cachewrap:max 100
}

// Entry is a listed key.
type Entry struct {
	Key  string
	Size int64
}

// Store embeds interfaces from here and from the standard library.
type Store interface {
	Reader
	Lister
	fmt.Stringer
	io.Closer
	// Delete removes key.
	Delete(ctx context.Context, key string) error
}
