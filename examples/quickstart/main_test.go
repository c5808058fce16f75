package main

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	text := out.String()
	t.Log("\n" + text)

	// The main job: the unstripped product refused with the guard's
	// breakdown, the page first; the stripped one stored.
	refused := regexp.MustCompile(`(?m)^without stripping, refused: memcache: value for "42" is (\S+ MB) encoded with plain-json, over the limit of 1023\.9 KB; biggest fields: Product\.Page: (\S+ MB),`).FindStringSubmatch(text)
	require.NotNil(t, refused, "the refusal with its breakdown")
	assert.Equal(t, refused[1], refused[2], "the page is nearly all of it")

	stored := regexp.MustCompile(`(?m)^with leancache, stored: (\d+) B under "products:v1:42"$`).FindStringSubmatch(text)
	require.NotNil(t, stored, "the stripped product stored")
	n, err := strconv.Atoi(stored[1])
	require.NoError(t, err)
	assert.Less(t, n, 1024, "the page is left out")

	assert.Contains(t, text, "\nread back: Espresso grinder, 249.00 EUR; page 0 bytes, summary computed: false\n")
	assert.Contains(t, text, "\nDescribe() computed it again (true): Espresso grinder (coffee, kitchen), 249.00 EUR\n")
	assert.Contains(t, text, "\nRender() rebuilt the page: 1536000 bytes\n")

	// Every codec leaves the page out; the plain libraries write it.
	rows := regexp.MustCompile(`(?m)^(\w+)\s+(\d+|refuses it)\s+(\d+)$`).FindAllStringSubmatch(text, -1)
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
	for _, name := range []string{"json", "gob", "msgpack", "cbor"} {
		assert.True(t, seen[name], "a row for %s", name)
	}
}
