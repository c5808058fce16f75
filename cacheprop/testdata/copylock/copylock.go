// Package copylock copies a Lazy, which go vet must report.
package copylock

import "github.com/leancache/leancache/cacheprop"

type user struct {
	perms cacheprop.Lazy[[]string]
}

func copyUser(u *user) user {
	return *u // go vet: copies lock value
}
