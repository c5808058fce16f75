// Package benchmarks compares leancache, side by side in one run, with what
// it replaces: the plain libraries on hand-written twin types, hand-written
// gomemcache calls, mutex-guarded maps. It holds only benchmarks and the
// tests that print their tables; run
//
//	go test -run='^$' -bench=. -benchmem ./benchmarks/
package benchmarks
