package codec

import (
	"bytes"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// This file lets [JSON]'s Unmarshal skip the decode budget's walk
// (jsonCheck) when a few counts of the input's bytes prove that the walk
// cannot refuse it and would find no key to blank.
//
// Why the bound holds. Every charge the walk makes belongs to one token
// of valid JSON input, and each token class is counted from above by
// bytes.Count: an object by its '{', an array by its '[', a string by its
// two unescaped '"' (strings <= count('"')/2), an object entry by its ':',
// an array element by the '[' or ',' before it (elements <= count('[') +
// count(',')), a number or true/false by the ':', ',' or '[' before it or
// by being the whole input (scalars <= 1 + count(':') + count(',') +
// count('[')); a count also takes the bytes inside strings, which only
// makes it larger. Tokens are disjoint, so the bytes of all strings and
// numbers sum to at most len(data). For each class jsonFastCost holds the
// most the walk can charge one such token anywhere in the type (over
// every shape reachable from the target's, and every way json may meet
// it there: the pointers it allocates on the way, a type error, a generic
// map or slice for an interface); what the walk charges per byte of a
// string or number is at most 3. A level of nesting costs jsonLevelCost
// once, and the input nests at most count('{') + count('[') levels. So
// the walk's total is at most jsonFastBound's sum, and when that sum is
// within the budget (and the levels within its depth) the walk would
// accept the input. A slice's growth is charged per element: see
// jsonAppendPerElem.
//
// Input that is not valid JSON is not covered by the counts, but json
// refuses it before it decodes anything (json.Unmarshal checks the whole
// input first), allocating no more than its scanner's stack: the
// caller gets json's *json.SyntaxError, as through the walk.
//
// Why no key needs blanking (direct decodes of a recursive type only): a
// key that reaches a cached property folds, as json folds it, to the
// folded name F of a cached field of some struct the type reaches. With no
// '\\' in the input a key's runes are those of its raw bytes, invalid
// UTF-8 becoming U+FFFD (a fold holding U+FFFD is never proved absent),
// and a rune folds to F's j-th rune only if it lies in that rune's case
// orbit (unicode.SimpleFold). If, for some j, no rune of the orbit occurs
// in the input (right after a '"' for F's first rune, right before one
// for its last, as the key's quotes enclose its runes), no key folds to F.

// jsonFastCost is, per token class, the most the walk (jsonCheck) charges
// one token of input decoded into a type: computed once per shape, from
// every shape it reaches.
type jsonFastCost struct {
	ok     bool  // false: some charge is unbounded (a pointer cycle); always walk
	obj    int64 // per object: its pointers, map or error, its box
	arr    int64 // per array: its pointers, error, box
	elem   int64 // per array element: the slice's growth
	entry  int64 // per object entry of a map or an interface's map
	str    int64 // per string, key or value, besides 3 a byte
	scalar int64 // per number or true/false, besides 1 a byte
	// folds are the folded names of the cached fields of every struct
	// reached, for the blank proof.
	folds []string
}

// jsonFastPerByte bounds what the walk charges per byte of a string or a
// number token (stringInto: 3n; an unquoted key: 3n; numbers: n).
const jsonFastPerByte = 3

// jsonAppendPerElem bounds appendCost(n, size)/n for every n >= 1:
// appendCost adds 16 and size·9/8 times each capacity c it passes; there
// are at most n capacities (each one larger than the last, all but the
// last below n), and their sum S(n) is below 9n: for n <= 256 they double
// up to less than 2n, S < 4n; beyond, the capacities below n that exceed
// 256 grow by at least a quarter each, so they sum to less than 5n, the
// last is below 1.25n + 192, and those up to 256 sum to 511: S < 6.25n +
// 703 < 9n for n > 256.
func jsonAppendPerElem(size int64) int64 {
	if size == 0 {
		return 0
	}
	return 9*size*9/8 + 16 + 1
}

// fastCost returns s's jsonFastCost, computed on first use.
func (s *jsonShape) fastCost() *jsonFastCost {
	s.fastOnce.Do(func() { s.fast = computeJSONFastCost(s) })
	return s.fast
}

// computeJSONFastCost follows the walk's charges (jsonCheck's object,
// array, field, stringInto, numberInto, literal and through), taking the
// largest over every shape a value can land in.
func computeJSONFastCost(root *jsonShape) *jsonFastCost {
	reach := map[*jsonShape]bool{}
	var order []*jsonShape
	var visit func(s *jsonShape)
	visit = func(s *jsonShape) {
		if s == nil || reach[s] {
			return
		}
		reach[s] = true
		order = append(order, s)
		if s.kind == jsAny || s.kind == jsOpaque {
			visit(jsonStringShape) // a generic map's key
		}
		for _, c := range s.children() {
			visit(c)
		}
	}
	visit(root)
	f := &jsonFastCost{ok: true}
	folds := map[string]bool{}
	for _, x := range order {
		chain, y, ok := jsonChain(x, len(order))
		if !ok {
			return &jsonFastCost{}
		}
		var obj, arr, elem, entry, key int64
		switch y.kind {
		case jsAny, jsOpaque:
			obj = jsonMapCost + 8*(16+16+1) + jsonBoxCost
			arr = jsonBoxCost
			elem = jsonAppendPerElem(16)
			entry = jsonEntryCost + 2*(y.size+jsonStringShape.size)
			key = jsonStrConst(jsonStringShape)
		case jsStruct:
			obj = y.embedded
			arr = jsonErrCost
			key = 16 + 16 // an unquoted key, a blank's record
		case jsMap:
			obj = jsonMapCost + 8*(y.key.size+y.elem.size+1)
			arr = jsonErrCost
			entry = jsonEntryCost + 2*(y.elem.size+y.key.size)
			kc, ky, ok := jsonChain(y.key, len(order))
			if !ok {
				return &jsonFastCost{}
			}
			key = kc + jsonStrConst(ky)
		case jsSlice, jsBytes:
			obj = jsonErrCost
			elem = jsonAppendPerElem(y.elem.size)
		case jsArray:
			obj = jsonErrCost
		default:
			obj, arr = jsonErrCost, jsonErrCost
		}
		scalar := int64(jsonErrCost)
		switch y.kind {
		case jsAny:
			scalar = jsonBoxCost
		case jsOpaque:
			scalar = 64
		}
		f.obj = max(f.obj, chain+obj)
		f.arr = max(f.arr, chain+arr)
		f.elem = max(f.elem, elem)
		f.entry = max(f.entry, entry)
		f.str = max(f.str, chain+jsonStrConst(y), key)
		f.scalar = max(f.scalar, chain+scalar)
		for fold := range x.cached {
			if !folds[fold] {
				folds[fold] = true
				f.folds = append(f.folds, fold)
			}
		}
	}
	return f
}

// jsonChain returns what through charges for a value landing in s, and
// the shape it resolves to; false for a cycle of pointers.
func jsonChain(s *jsonShape, shapes int) (int64, *jsonShape, bool) {
	var chain int64
	for i := 0; s.kind == jsPointer; i++ {
		if i > shapes {
			return 0, nil, false
		}
		chain += s.elem.size + jsonPtrCost
		s = s.elem
	}
	return chain, s, true
}

// jsonStrConst is what stringInto charges a string landing in (resolved)
// shape s, besides 3 a byte.
func jsonStrConst(s *jsonShape) int64 {
	switch s.kind {
	case jsString, jsBytes:
		return jsonStringCost(0)
	case jsAny:
		return jsonStringCost(0) + jsonBoxCost
	case jsOpaque:
		return 64
	}
	return jsonErrCost
}

// jsonFastAccepts reports whether the walk surely accepts data into shape
// s under budget b (nesting at most b.Depth()) and, if blank is set, finds
// no key to blank: then the walk may be skipped. It never reports true
// for input the walk refuses over budget; it may report false for input
// the walk accepts. Its argument is at the top of this file.
func jsonFastAccepts(data []byte, s *jsonShape, b Budget, blank bool) bool {
	f := s.fastCost()
	if !f.ok {
		return false
	}
	_, ok := jsonFastBound(data, f, b.Depth(), b.MaxAlloc(len(data)))
	return ok && (!blank || jsonNoCachedKey(data, f.folds))
}

// jsonFastBound bounds the walk's charges for data from the counts of its
// bytes and f, and reports whether they stay within limit and its levels
// within maxDepth; it stops adding once the bound passes limit.
func jsonFastBound(data []byte, f *jsonFastCost, maxDepth int, limit int64) (int64, bool) {
	total := int64(0)
	add := func(count, charge int64) bool {
		if charge != 0 && count > (limit-total)/charge {
			return false
		}
		total += count * charge
		return true
	}
	count := func(b byte) int64 { return int64(bytes.Count(data, []byte{b})) }
	// Strings usually weigh most: counted first, they refuse large input
	// after one pass.
	if !add(int64(len(data)), jsonFastPerByte) || !add(count('"')/2, f.str) {
		return total, false
	}
	colons, commas := count(':'), count(',')
	if !add(colons, f.entry) {
		return total, false
	}
	objs, arrs := count('{'), count('[')
	if objs+arrs > int64(maxDepth) {
		return total, false
	}
	ok := add(objs+arrs, jsonLevelCost) &&
		add(objs, f.obj) &&
		add(arrs, f.arr) &&
		add(arrs+commas, f.elem) &&
		add(1+colons+commas+arrs, f.scalar)
	return total, ok
}

// jsonNoCachedKey reports whether no key of data can fold, as json folds
// it, to one of folds: data has no escapes, and for each fold one of its
// runes has no case variant anywhere in data, or none right after a '"'
// for its first rune, or right before one for its last: a key's runes
// are enclosed by its quotes. The single runes are looked for first,
// each with one pass of IndexByte.
func jsonNoCachedKey(data []byte, folds []string) bool {
	if len(folds) == 0 {
		return true
	}
	if bytes.IndexByte(data, '\\') >= 0 {
		return false
	}
next:
	for _, fold := range folds {
		if strings.ContainsRune(fold, utf8.RuneError) {
			// Invalid UTF-8 in a key decodes to U+FFFD: no byte says
			// where.
			return false
		}
		for _, quoted := range []bool{false, true} {
			for j, r := range fold {
				first, last := j == 0, j+utf8.RuneLen(r) == len(fold)
				if quoted && !first && !last {
					continue
				}
				if jsonOrbitAbsent(data, r, quoted && first, quoted && last) {
					continue next
				}
			}
		}
		return false
	}
	return true
}

// jsonOrbitAbsent reports whether no rune of r's case orbit occurs in
// data, after a '"' if open, before one if close.
func jsonOrbitAbsent(data []byte, r rune, open, close bool) bool {
	var buf [2 + utf8.UTFMax]byte
	for v := r; ; {
		pat := buf[:0]
		if open {
			pat = append(pat, '"')
		}
		pat = utf8.AppendRune(pat, v)
		if close {
			pat = append(pat, '"')
		}
		if len(pat) == 1 && bytes.IndexByte(data, pat[0]) >= 0 || len(pat) > 1 && bytes.Contains(data, pat) {
			return false
		}
		if v = unicode.SimpleFold(v); v == r {
			return true
		}
	}
}

// jsonFastState is the part of a jsonShape that jsonFastAccepts builds.
type jsonFastState struct {
	fastOnce sync.Once
	fast     *jsonFastCost
}
