package ketama

// Helpers for the tests in package ketama_test, which use the memcache
// package on top of the selector.
var (
	TestKeys     = testKeys
	StartCluster = startCluster
	KeysOn       = keysOn
	WaitHung     = waitHung
)
