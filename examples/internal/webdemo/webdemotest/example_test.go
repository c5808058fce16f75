package webdemotest_test

import (
	"fmt"
	"log/slog"

	"github.com/leancache/leancache/examples/internal/webdemo/webdemotest"
)

// A LogBuffer collects what a server logs from its handlers' goroutines,
// for a test to search.
func ExampleLogBuffer() {
	logs := &webdemotest.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable output
			}
			return a
		},
	}))
	log.Info("request", "path", "/me", "status", 200)
	fmt.Print(logs.String())
	// Output:
	// level=INFO msg=request path=/me status=200
}
