// Package nearbench holds the values the near-cache benchmarks read, so
// that the module benchmarks/otter measures the very same cases as the
// core's benchmarks.
package nearbench

import (
	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/internal/fixtures"
)

// Flag is a small hot value: a feature flag, read on every request.
type Flag struct {
	Name    string
	On      bool
	Rollout int
	Groups  []string
}

// A Case is one kind of value under one codec.
type Case[T any] struct {
	Name  string
	Codec codec.Codec
	Value T
}

// Flags is the small value, in msgpack: a near hit's map and copy show
// beside its decode.
var Flags = Case[*Flag]{"flag/msgpack", codec.Msgpack, &Flag{Name: "checkout-v2", On: true, Rollout: 25, Groups: []string{"staff", "beta"}}}

// Products is the 1 KB product of the store benchmarks, in JSON: its
// decode dominates a near hit.
var Products = Case[*fixtures.Product]{"product1KB/json", codec.JSON, fixtures.ProductOfSize(1 << 10)}
