package webdemo_test

import (
	"fmt"

	"github.com/leancache/leancache/examples/internal/webdemo"
)

// The demo's users and what their roles grant: the derived data both
// session examples keep in a cached property.
func ExamplePermissions() {
	roles, ok := webdemo.Roles("alice")
	fmt.Println(roles, ok, webdemo.Permissions(roles))
	_, ok = webdemo.Roles("mallory")
	fmt.Println(ok)
	// Output:
	// [admin] true [billing.export reports.read users.delete]
	// false
}
