// Package bad is an input the generator must refuse, in several ways.
package bad

import "context"

// Typo has a misspelt directive.
type Typo interface {
	//cachewrap:tll 5m
	Get(ctx context.Context, id string) (string, error)
}

// Thing is fine, but CachedThing is taken.
type Thing interface {
	Get(ctx context.Context, id string) (string, error)
}

// CachedThing is in the way of Thing's wrapper.
type CachedThing int

// Sealed has an unexported method, which only this package can implement.
type Sealed interface {
	Get(ctx context.Context, id string) (string, error)
	seal()
}

// NoMethods has nothing to wrap.
type NoMethods struct{}

// Alias is an alias.
type Alias = Thing

type secret struct{ ID int }

// Leaky returns a type no other package can name.
type Leaky interface {
	Get(ctx context.Context, id string) (*secret, error)
}
