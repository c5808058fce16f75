// Package sizetest lets a test state how big a cached value may be: that it
// fits one memcached item (AssertFits), that it stays within a budget of
// bytes (AssertBudget), or that a set of named fixtures stays within the
// budgets recorded in a file under version control (CheckBudgets). A failure
// names the fields to blame, in the words of the Store's size guard, so a
// derived field that lost its cacheprop tag and went back on the wire is
// caught in CI, not in production.
//
// AssertFits asks the Store: it measures a value with memcache.MeasureWrite,
// the write path itself, trailer and compression included, so it accepts
// exactly what a Store accepts. Budgets (AssertBudget, CheckBudgets) are of
// the codec's output alone, the part a type's fields decide.
package sizetest

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
)

// SizeOptions says what a value must fit for AssertFits.
type SizeOptions struct {
	// ItemSizeMax is the server's item size limit (memcached's -I); zero
	// means the Store's: memcache.DefaultItemSizeMax, 1 MiB, unless Store
	// sets memcache.WithItemSizeMax.
	ItemSizeMax int
	// Key is the key the Store is given for the value; the length of the
	// memcached key it maps to counts against the limit. Empty means the
	// worst case: a key that maps to a 250-byte memcached key.
	Key string
	// Store holds the options of the Store that writes the value
	// (WithCompression, WithNamespace, WithChunking, ...), so that the
	// value is measured as that Store writes it. The codec given to
	// AssertFits overrides a WithCodec among them.
	Store []memcache.Option
}

// AssertFits checks that v, encoded with c, fits one memcached item as a
// Store writes it (see SizeOptions for which Store and key): the same
// sizes, trailer and compression included, and the same verdict as the
// Store's size guard. On failure it reports the sizes with the biggest
// fields, and returns false.
func AssertFits(tb testing.TB, c codec.Codec, v any, opts ...SizeOptions) bool {
	tb.Helper()
	var o SizeOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if msg := fitError(c, v, o); msg != "" {
		tb.Errorf("sizetest: %T %s", v, msg)
		return false
	}
	return true
}

// fitError says how v, encoded with c, fails to fit one item as o's Store
// writes it, or returns "" if it fits.
func fitError(c codec.Codec, v any, o SizeOptions) string {
	storeOpts := append(o.Store[:len(o.Store):len(o.Store)], memcache.WithCodec(c))
	if o.ItemSizeMax > 0 {
		storeOpts = append(storeOpts, memcache.WithItemSizeMax(o.ItemSizeMax))
	}
	key := o.Key
	if key == "" {
		var err error
		if key, err = worstKey(storeOpts); err != nil {
			return err.Error()
		}
	}
	sz, err := memcache.MeasureWrite(key, v, storeOpts...)
	var tle *memcache.TooLargeError
	switch {
	case errors.As(err, &tle):
		return fmt.Sprintf("encoded with %s is %d bytes (%s) as the Store writes it, over memcached's item size limit of %d bytes (%s); biggest fields: %s",
			tle.Codec, tle.Size, memcache.FormatBytes(tle.Size), tle.Limit, memcache.FormatBytes(tle.Limit), fieldList(tle.Fields))
	case err != nil:
		return fmt.Sprintf("with %s: %v", c.Name(), err)
	case sz.Chunks > 0:
		return fmt.Sprintf("encoded with %s is %d bytes (%s) as the Store writes it, split over %d chunks: over memcached's item size limit of %d bytes (%s); biggest fields: %s",
			c.Name(), sz.Size, memcache.FormatBytes(sz.Size), sz.Chunks, sz.Limit, memcache.FormatBytes(sz.Limit), fieldList(memcache.Breakdown(c, v, 5)))
	}
	return ""
}

// worstKey returns the key a Store built with opts maps to the longest
// memcached key, 250 bytes: a legal key goes to memcached verbatim behind
// the store's prefix.
func worstKey(opts []memcache.Option) (string, error) {
	st, err := memcache.NewStore[any](nil, opts...)
	if err != nil {
		return "", err
	}
	k, err := st.Key("k")
	if err != nil {
		return "", err
	}
	return strings.Repeat("k", memcache.MaxKeyLen-(len(k)-1)), nil
}

// AssertBudget checks that v, encoded with c, takes at most budget bytes.
// On failure it reports the size and the biggest fields, and returns false.
func AssertBudget(tb testing.TB, c codec.Codec, v any, budget int) bool {
	tb.Helper()
	return assertSize(tb, c, v, budget, "its budget")
}

func assertSize(tb testing.TB, c codec.Codec, v any, limit int, what string) bool {
	tb.Helper()
	data, err := c.Marshal(v)
	if err != nil {
		tb.Errorf("sizetest: encode %T with %s: %v", v, c.Name(), err)
		return false
	}
	if len(data) <= limit {
		return true
	}
	tb.Errorf("sizetest: %T encoded with %s is %d bytes (%s), over %s of %d bytes (%s); biggest fields: %s",
		v, c.Name(), len(data), memcache.FormatBytes(len(data)), what, limit, memcache.FormatBytes(limit),
		fieldList(memcache.Breakdown(c, v, 5)))
	return false
}

func fieldList(fields []memcache.FieldSize) string {
	if len(fields) == 0 {
		return "(none found)"
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.String()
	}
	return strings.Join(parts, ", ")
}

var updateBudgets = flag.Bool("update-budgets", false, "rewrite the size budget files of sizetest.CheckBudgets with the current sizes")

// UpdateBudgetsEnv names the environment variable that, set to 1, has
// CheckBudgets rewrite its file, like the -update-budgets test flag.
const UpdateBudgetsEnv = "LEANCACHE_UPDATE_BUDGETS"

// BudgetHeadroom is the growth a rewritten budget allows over the size
// measured when it was written: 10%.
const BudgetHeadroom = 0.10

// CheckBudgets encodes every fixture with every codec and compares each
// size with the budget recorded for it in file (conventionally
// testdata/size-budgets.txt). It fails the test for a size over its budget,
// a fixture that does not fit one item as a default Store writes it under the
// longest key (AssertFits with no options) whatever the budget, and a fixture
// or codec missing from the file.
//
// Run the test with -update-budgets (or UpdateBudgetsEnv=1) to rewrite the
// file on purpose: each budget becomes the current size plus
// BudgetHeadroom. Review the diff like code: it is the record of how big
// each cached value may grow.
//
// The file has one line per fixture and codec, "name codec budget", sorted,
// and '#' comments.
func CheckBudgets(tb testing.TB, file string, fixtures map[string]any, codecs ...codec.Codec) {
	tb.Helper()
	if len(codecs) == 0 {
		codecs = []codec.Codec{codec.JSON, codec.Gob, codec.Msgpack, codec.CBOR}
	}
	sizes := map[string]int{}
	values := map[string]any{}
	for name, v := range fixtures {
		for _, c := range codecs {
			data, err := c.Marshal(v)
			if err != nil {
				tb.Errorf("sizetest: encode fixture %s with %s: %v", name, c.Name(), err)
				continue
			}
			sizes[budgetKey(name, c.Name())] = len(data)
			values[budgetKey(name, c.Name())] = v
		}
	}
	if *updateBudgets || os.Getenv(UpdateBudgetsEnv) == "1" {
		if err := writeBudgets(file, sizes); err != nil {
			tb.Fatalf("sizetest: %v", err)
			return
		}
		tb.Logf("sizetest: rewrote %s with %d budgets", file, len(sizes))
		return
	}
	budgets, err := readBudgets(file)
	if err != nil {
		tb.Fatalf("sizetest: %v (run the test with -update-budgets to create it)", err)
		return
	}
	keys := make([]string, 0, len(sizes))
	for k := range sizes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		size := sizes[k]
		name, codecName, _ := strings.Cut(k, " ")
		c, _ := codec.ByName(codecName)
		budget, ok := budgets[k]
		switch {
		case !ok:
			tb.Errorf("sizetest: %s: fixture %s with %s (%d bytes) has no budget (run with -update-budgets)", file, name, codecName, size)
		case size > budget:
			tb.Errorf("sizetest: %s: fixture %s with %s grew to %d bytes, over its budget of %d; biggest fields: %s",
				file, name, codecName, size, budget, fieldList(memcache.Breakdown(c, values[k], 5)))
		}
		if msg := fitError(c, values[k], SizeOptions{}); msg != "" {
			tb.Errorf("sizetest: fixture %s does not fit, whatever its budget: %s", name, msg)
		}
	}
}

func budgetKey(fixture, codecName string) string { return fixture + " " + codecName }

func readBudgets(file string) (map[string]int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read budgets: %w", err)
	}
	defer f.Close()
	budgets := map[string]int{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want \"name codec budget\", got %q", file, line, text)
		}
		n, err := strconv.Atoi(fields[2])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s:%d: budget %q is not a byte count", file, line, fields[2])
		}
		budgets[budgetKey(fields[0], fields[1])] = n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read budgets %s: %w", file, err)
	}
	return budgets, nil
}

func writeBudgets(file string, sizes map[string]int) error {
	keys := make([]string, 0, len(sizes))
	for k := range sizes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Size budgets of cached values, in bytes, checked by sizetest.CheckBudgets.\n")
	b.WriteString("# Rewrite with -update-budgets: each budget is the size then measured plus 10%.\n")
	b.WriteString("# fixture codec budget\n")
	for _, k := range keys {
		budget := int(math.Ceil(float64(sizes[k]) * (1 + BudgetHeadroom)))
		fmt.Fprintf(&b, "%s %d\n", k, budget)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("write budgets: %w", err)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write budgets: %w", err)
	}
	return nil
}
