package backendtest_test

import (
	"fmt"

	"github.com/leancache/leancache/internal/backendtest"
)

// Tests call Run; the backends it runs them on are these.
func ExampleRun() {
	for _, be := range backendtest.All {
		fmt.Println(be.Name)
	}
	// Output:
	// embedded
	// memcached
}
