// Package cached holds the golden wrapper of embedded.Store, generated into a
// package of its own.
package cached
