package cacheprop_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leancache/leancache/cacheprop"
)

// Session is a request-scoped object: a service creates millions of them, and
// each must be freed when its request ends.
type Session struct {
	UserID  int
	Scratch [32]int64 // what the request holds, and what a leak keeps

	// scores is fix 1: the memo table lives in the instance and dies with it.
	scores cacheprop.Memo[string, int]
}

// computeScore stands for an expensive method whose result is worth keeping.
func (s *Session) computeScore(topic string) int { return s.UserID * len(topic) }

// The leaky pattern, the Go twin of functools.lru_cache on a method: a
// package-level cache keyed by the receiver keeps every Session it has seen
// reachable from a global, so none is ever freed.
var (
	leakyMu     sync.Mutex
	leakyScores = map[*Session]map[string]int{}
)

// LeakyScore memoizes computeScore in the package-level map.
func (s *Session) LeakyScore(topic string) int {
	leakyMu.Lock()
	defer leakyMu.Unlock()
	byTopic := leakyScores[s]
	if byTopic == nil {
		byTopic = map[string]int{}
		leakyScores[s] = byTopic
	}
	v, ok := byTopic[topic]
	if !ok {
		v = s.computeScore(topic)
		byTopic[topic] = v
	}
	return v
}

// Score memoizes computeScore in the Session's own Memo field.
func (s *Session) Score(topic string) int { return s.scores.Get(topic, s.computeScore) }

// FetchScore stands for a method of a type you cannot add a field to.
func (s *Session) FetchScore(topic string) (int, error) { return s.computeScore(topic), nil }

// sessionScores is fix 3: a side table that holds its keys weakly.
var sessionScores cacheprop.WeakTable[Session, int]

// Mechanisms are the ways of memoizing a Session's score compared below. Each
// returns what the caller must keep for as long as the Session is in use.
var mechanisms = []struct {
	name string
	use  func(s *Session) (keep any)
}{
	{"package-level map keyed by pointer", func(s *Session) any {
		s.LeakyScore("go")
		return nil
	}},
	{"cacheprop.Memo field", func(s *Session) any {
		s.Score("go")
		return nil
	}},
	// Fix 2: the memoized method value, kept next to the Session.
	{"cacheprop.MemoizeFunc", func(s *Session) any {
		score := cacheprop.MemoizeFunc(s.FetchScore, cacheprop.MemoOptions{})
		_, _ = score("go")
		return score
	}},
	{"cacheprop.WeakTable", func(s *Session) any {
		sessionScores.GetOrCompute(s, func(s *Session) int { return s.computeScore("go") })
		return nil
	}},
}

// stillAlive creates n Sessions, memoizes a score of each through use while
// all are in use, drops them all and collects garbage; it returns how many
// have not been freed. Freed Sessions are counted by cleanups.
func stillAlive(n int, use func(*Session) any) int {
	var freed atomic.Int64
	inUse(n, &freed, use)
	// Cleanups run on their own goroutine after a collection: collect until
	// every Session is freed or the count has not moved for a while.
	const stall = 500 * time.Millisecond
	last, moved := int64(-1), time.Now()
	for freed.Load() < int64(n) && time.Since(moved) < stall {
		runtime.GC()
		time.Sleep(2 * time.Millisecond)
		if f := freed.Load(); f != last {
			last, moved = f, time.Now()
		}
	}
	return n - int(freed.Load())
}

// inUse creates the Sessions and holds them, with whatever use returns, until
// it returns. It is a function of its own so that nothing on the caller's
// stack still points at them.
//
//go:noinline
func inUse(n int, freed *atomic.Int64, use func(*Session) any) {
	sessions := make([]*Session, n)
	kept := make([]any, n)
	for i := range sessions {
		s := &Session{UserID: i}
		runtime.AddCleanup(s, func(freed *atomic.Int64) { freed.Add(1) }, freed)
		sessions[i], kept[i] = s, use(s)
	}
	runtime.KeepAlive(sessions)
	runtime.KeepAlive(kept)
}

// Example_methodCacheLeak creates 100,000 Sessions, memoizes a method of each,
// drops them and counts how many the garbage collector could not free: all of
// them with a package-level map, none with any of this package's mechanisms.
func Example_methodCacheLeak() {
	const n = 100_000
	for _, m := range mechanisms {
		fmt.Printf("%-36s %6d of %d still alive\n", m.name, stillAlive(n, m.use), n)
	}
	// Only emptying the global frees the leaked Sessions.
	leakyMu.Lock()
	leakyScores = map[*Session]map[string]int{} // clear would keep the buckets
	leakyMu.Unlock()

	// Output:
	// package-level map keyed by pointer   100000 of 100000 still alive
	// cacheprop.Memo field                      0 of 100000 still alive
	// cacheprop.MemoizeFunc                     0 of 100000 still alive
	// cacheprop.WeakTable                       0 of 100000 still alive
}
