package sizetest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/codec"
	"github.com/leancache/leancache/memcache"
	"github.com/leancache/leancache/memcache/sizetest"
)

// recorder is a testing.TB that records failures instead of failing, so the
// helpers' failures can be tested.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
}

type profile struct {
	Name   string
	Bio    string
	Avatar string // a data URL someone forgot to tag as cached
	HTML   string `cacheprop:"cached"`
}

func TestAssertFits(t *testing.T) {
	small := &profile{Name: "ann", Bio: "hi", HTML: strings.Repeat("x", 2<<20)}
	assert.True(t, sizetest.AssertFits(t, codec.JSON, small), "cached properties don't count")

	big := &profile{Name: "bob", Avatar: strings.Repeat("A", 1100<<10)}
	r := &recorder{TB: t}
	assert.False(t, sizetest.AssertFits(r, codec.JSON, big))
	require.Len(t, r.errors, 1)
	assert.Contains(t, r.errors[0], "item size limit")
	assert.Contains(t, r.errors[0], "profile.Avatar: 1.1 MB", "the failure names the field")

	// A larger server takes it.
	assert.True(t, sizetest.AssertFits(t, codec.JSON, big, sizetest.SizeOptions{ItemSizeMax: 2 << 20}))
}

// blob is a value whose JSON encoding is len(B) + 8 bytes: {"B":"..."}.
type blob struct{ B string }

func blobOfJSONLen(n int) *blob { return &blob{B: strings.Repeat("x", n-8)} }

// TestAssertFitsSaysWhatTheStoreSays checks AssertFits against the default
// Store at the edge of the item size limit: a value that would fit without
// the Store's 12-byte trailer but not with it is refused by both, and the
// largest value the Store takes passes both.
func TestAssertFitsSaysWhatTheStoreSays(t *testing.T) {
	const key = "profile:42"
	st, err := memcache.NewStore[*blob](nil)
	require.NoError(t, err)
	k, err := st.Key(key)
	require.NoError(t, err)
	// The codec's output alone may be this long under k with the Store's
	// (non-zero) flags.
	limit := memcache.MaxValueLen(memcache.DefaultItemSizeMax, k, 1)

	ctx := context.Background()
	for _, c := range []struct {
		name    string
		jsonLen int
	}{
		{"the codec's output alone at the limit", limit},
		{"trailer 1 byte over", limit - 11},
		{"largest the Store takes", limit - 12},
		{"well within", limit / 2},
	} {
		v := blobOfJSONLen(c.jsonLen)
		data, err := codec.JSON.Marshal(v)
		require.NoError(t, err)
		require.Len(t, data, c.jsonLen)

		storeErr := st.Set(ctx, key, v)
		r := &recorder{TB: t}
		fits := sizetest.AssertFits(r, codec.JSON, v, sizetest.SizeOptions{Key: key})
		assert.Equal(t, storeErr == nil, fits, "%s: the Store says %v, AssertFits says fits=%v", c.name, storeErr, fits)
		if storeErr != nil {
			require.ErrorIs(t, storeErr, memcache.ErrTooLarge, c.name)
			require.Len(t, r.errors, 1, c.name)
			assert.Contains(t, r.errors[0], "blob.B", "%s: the failure names the field", c.name)
		} else {
			assert.Empty(t, r.errors, c.name)
		}
	}
}

func TestAssertBudget(t *testing.T) {
	p := &profile{Name: "ann", Bio: strings.Repeat("b", 500)}
	assert.True(t, sizetest.AssertBudget(t, codec.Msgpack, p, 1024))
	r := &recorder{TB: t}
	assert.False(t, sizetest.AssertBudget(r, codec.Msgpack, p, 100))
	require.Len(t, r.errors, 1)
	assert.Contains(t, r.errors[0], "profile.Bio")
}

func TestCheckBudgets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "testdata", "size-budgets.txt")
	fixtures := map[string]any{"profile": &profile{Name: "ann", Bio: strings.Repeat("b", 500)}}

	// No file yet: a failure that says how to create it.
	r := &recorder{TB: t}
	sizetest.CheckBudgets(r, file, fixtures, codec.JSON, codec.Msgpack)
	require.True(t, r.fatal)
	assert.Contains(t, r.errors[0], "-update-budgets")

	t.Setenv(sizetest.UpdateBudgetsEnv, "1")
	sizetest.CheckBudgets(t, file, fixtures, codec.JSON, codec.Msgpack)
	written, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(written), "profile json ")
	assert.Contains(t, string(written), "profile msgpack ")
	t.Setenv(sizetest.UpdateBudgetsEnv, "")

	// Within budget: passes. Tagged data can grow freely.
	fixtures["profile"] = &profile{Name: "ann", Bio: strings.Repeat("b", 500), HTML: strings.Repeat("h", 1<<20)}
	sizetest.CheckBudgets(t, file, fixtures, codec.JSON, codec.Msgpack)

	// A field that grows past the headroom fails, naming it.
	fixtures["profile"] = &profile{Name: "ann", Bio: strings.Repeat("b", 500), Avatar: strings.Repeat("A", 400)}
	r = &recorder{TB: t}
	sizetest.CheckBudgets(r, file, fixtures, codec.JSON, codec.Msgpack)
	require.Len(t, r.errors, 2, "one per codec")
	assert.Contains(t, r.errors[0], "over its budget")
	assert.Contains(t, r.errors[0], "profile.Avatar")

	// A new fixture without a budget fails.
	fixtures["new"] = &profile{}
	r = &recorder{TB: t}
	sizetest.CheckBudgets(r, file, map[string]any{"new": &profile{}}, codec.JSON)
	require.Len(t, r.errors, 1)
	assert.Contains(t, r.errors[0], "has no budget")
}

// TestCheckBudgetsItemLimitIsTheStores checks that CheckBudgets' item limit
// is the default Store's, trailer included: a fixture within its budget
// that would fit without the trailer fails.
func TestCheckBudgetsItemLimitIsTheStores(t *testing.T) {
	file := filepath.Join(t.TempDir(), "size-budgets.txt")
	worst := strings.Repeat("k", memcache.MaxKeyLen)
	limit := memcache.MaxValueLen(memcache.DefaultItemSizeMax, worst, 1)
	fixtures := map[string]any{"blob": blobOfJSONLen(limit - 6)}
	t.Setenv(sizetest.UpdateBudgetsEnv, "1")
	sizetest.CheckBudgets(t, file, fixtures, codec.JSON)
	t.Setenv(sizetest.UpdateBudgetsEnv, "")

	r := &recorder{TB: t}
	sizetest.CheckBudgets(r, file, fixtures, codec.JSON)
	require.Len(t, r.errors, 1)
	assert.Contains(t, r.errors[0], "fixture blob does not fit, whatever its budget: encoded with json is")
	assert.Contains(t, r.errors[0], "as the Store writes it, over memcached's item size limit")

	fixtures["blob"] = blobOfJSONLen(limit - 12)
	sizetest.CheckBudgets(t, file, fixtures, codec.JSON)
}
