// Package memcache stores typed values in memcached, with their cached
// properties stripped by a codec, and checks every value's size before it
// reaches the network.
//
// A Store[T] sits on a Backend: the real server through gomemcache, or an
// embedded in-process backend with memcached's semantics that is the default
// when no server is configured.
package memcache
