package cacheprop

import "github.com/leancache/leancache/internal/flight"

// A PanicError is the value with which [Memo.Get], [Memo.GetErr],
// [Memo.GetContext] and [WeakTable.GetOrCompute] panic in a goroutine that was
// waiting for a computation started by another goroutine, when that
// computation panicked. The goroutine that ran the computation panics with the
// original value instead, so its own trace leads into the computation.
// memcache's Store.GetOrLoad, whose loads run on goroutines of their own,
// panics with a PanicError in every caller.
//
// Its Value field is the value the computation panicked with, and Stack the
// trace of the goroutine that ran it, taken when it panicked: the waiter's
// own trace would not show the cause. Unwrap returns Value if it is an
// error, so errors.Is and errors.As see through the panic.
type PanicError = flight.PanicError
