package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	text := out.String()
	t.Log("\n" + text)

	rows := regexp.MustCompile(`(?m)^(\w+)\s+(\S+(?: it)?)\s+(\d+)$`).FindAllStringSubmatch(text, -1)
	seen := map[string]bool{}
	for _, r := range rows {
		name, lib, lean := r[1], r[2], r[3]
		seen[name] = true
		n, err := strconv.Atoi(lean)
		require.NoError(t, err)
		assert.Less(t, n, 1024, "%s: leancache must leave the page out", name)
		if lib == "refuses it" {
			assert.Equal(t, "gob", name, "only plain gob refuses a struct with an exported Lazy")
			continue
		}
		libN, err := strconv.Atoi(lib)
		require.NoError(t, err, name)
		assert.Greater(t, libN, PageSize, "%s: the plain library writes the page", name)
	}
	for _, name := range []string{"json", "msgpack", "cbor"} {
		assert.True(t, seen[name], "a row for %s", name)
	}
	assert.Contains(t, text, "after a round trip: page 0 bytes, summary computed: false")
	assert.Contains(t, text, "Describe() computed it again (true): Espresso grinder (coffee, kitchen), 249.00 EUR")
	assert.True(t, strings.HasSuffix(text, "Render() rebuilt the page: 512000 bytes\n"))
}
