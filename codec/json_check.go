package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/leancache/leancache/cacheprop"
)

// This file is [JSON]'s decode budget: a walk of the input, directed by the
// Go type it decodes into, before encoding/json sees it. The walk
//   - counts nesting across the whole input, which the slots' re-entries
//     into json.Unmarshal (each restarting json's own count) cannot reset;
//   - adds up what decoding will allocate (a slice element costs its Go
//     size plus append's growth, a pointer its target, a map entry its
//     slot, a string its bytes, an error its value) and refuses input that
//     needs more than the budget, before anything is allocated;
//   - finds the object keys that would reach a cached property if the
//     input were decoded into the user's type itself, which is how a
//     recursive type is decoded (see jsonDecodeDirect).
//
// The walk is linear in the input. It checks syntax only as far as it
// needs to find the values of valid input (string ends, brackets, commas
// and colons), and leaves the rest to encoding/json, which checks the
// whole input before it decodes anything; input the walk cannot parse is
// handed to json for its own syntax error. Unmarshal skips the walk when
// counts of the input's bytes prove it would accept (json_fast.go).

// jsonShapeKind is how encoding/json decodes into a type.
type jsonShapeKind uint8

const (
	jsOpaque  jsonShapeKind = iota // the type's own Unmarshal methods decide
	jsAny                          // an interface: json builds generic values
	jsStruct                       // fields by name
	jsSlice                        // elements appended
	jsArray                        // elements in place
	jsMap                          // entries
	jsPointer                      // allocated when nil
	jsString                       // a string kind
	jsBytes                        // []byte: base64
	jsBool                         // bool kind
	jsInt                          // signed integer kinds
	jsUint                         // unsigned integer kinds
	jsFloat                        // float kinds
	jsNone                         // json cannot decode into it: a type error
)

// A jsonShape is what the walk knows of a type decoded into.
type jsonShape struct {
	kind jsonShapeKind
	typ  reflect.Type
	size int64 // the type's Go size
	bits int   // numbers: the kind's bit size
	elem *jsonShape
	key  *jsonShape // maps: the key's shape
	// structs: the fields json sees in the type itself, by exact and by
	// folded name, and the folded names of the cached ones among them.
	byName     map[string]*jsonShape
	byFold     map[string]*jsonShape
	cached     map[string]bool
	cachedName map[string]bool
	// order holds the fields in the order json writes them: the walk
	// tries the field after the last one it found before it hashes a
	// key (input written by [JSON] then never needs the maps).
	order    []jsonNamed
	embedded int64 // bytes of embedded structs reached through pointers
	// direct: decoding into the type itself gives what decoding into the
	// view gives, once the keys of cached fields are blanked (see
	// jsonFieldsAgree); for a struct, of the struct and all it reaches.
	direct bool
	// cyclic: the type reaches a type that contains itself, whose view
	// holds slots.
	cyclic bool
	jsonFastState
}

var jsonShapes sync.Map // map[reflect.Type]*jsonShape

// jsonShapeOf returns the shape of t, building it once. Shapes of a
// recursive type refer to each other; the whole graph is published at once.
func jsonShapeOf(t reflect.Type) *jsonShape {
	if s, ok := jsonShapes.Load(t); ok {
		return s.(*jsonShape)
	}
	jsonShapeMu.Lock()
	defer jsonShapeMu.Unlock()
	built := map[reflect.Type]*jsonShape{}
	s := buildJSONShape(t, built)
	settleDirect(built)
	settleCyclic(built)
	for bt, bs := range built {
		jsonShapes.LoadOrStore(bt, bs)
	}
	return s
}

var jsonShapeMu sync.Mutex

// jsonStringShape is the key of a generic map.
var jsonStringShape = &jsonShape{kind: jsString, size: 16, direct: true}

// jsonUnquote decodes the string token q as json does.
func jsonUnquote(q []byte, u *string) error { return json.Unmarshal(q, u) }

func buildJSONShape(t reflect.Type, built map[reflect.Type]*jsonShape) *jsonShape {
	if s, ok := jsonShapes.Load(t); ok {
		return s.(*jsonShape)
	}
	if s, ok := built[t]; ok {
		return s
	}
	s := &jsonShape{typ: t, size: int64(t.Size()), direct: true}
	built[t] = s
	if jsonDialect.decMethods(t) {
		s.kind = jsOpaque
		return s
	}
	switch t.Kind() {
	case reflect.Interface:
		s.kind = jsAny
	case reflect.Pointer:
		s.kind = jsPointer
		s.elem = buildJSONShape(t.Elem(), built)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !jsonDialect.decMethods(t.Elem()) {
			s.kind = jsBytes
			s.elem = buildJSONShape(t.Elem(), built)
			break
		}
		s.kind = jsSlice
		s.elem = buildJSONShape(t.Elem(), built)
	case reflect.Array:
		s.kind = jsArray
		s.elem = buildJSONShape(t.Elem(), built)
	case reflect.Map:
		s.kind = jsMap
		s.key = buildJSONShape(t.Key(), built)
		s.elem = buildJSONShape(t.Elem(), built)
	case reflect.Struct:
		s.kind = jsStruct
		buildJSONStruct(s, t, built)
	case reflect.String:
		s.kind = jsString
	case reflect.Bool:
		s.kind = jsBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.kind, s.bits = jsInt, t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s.kind, s.bits = jsUint, t.Bits()
	case reflect.Float32, reflect.Float64:
		s.kind, s.bits = jsFloat, t.Bits()
	default:
		s.kind = jsNone
	}
	return s
}

func buildJSONStruct(s *jsonShape, t reflect.Type, built map[reflect.Type]*jsonShape) {
	all := jsonVisibleFields(t, true)
	s.byName = make(map[string]*jsonShape, len(all))
	s.byFold = make(map[string]*jsonShape, len(all))
	s.direct = jsonFieldsAgree(all, jsonVisibleFields(t, false))
	for _, f := range all {
		fs := buildJSONShape(f.typ, built)
		s.byName[f.name] = fs
		s.order = append(s.order, jsonNamed{f.name, fs, f.cached})
		fold := string(jsonFoldName([]byte(f.name)))
		if _, dup := s.byFold[fold]; !dup {
			s.byFold[fold] = fs
		}
		if f.cached {
			if s.cached == nil {
				s.cached, s.cachedName = map[string]bool{}, map[string]bool{}
			}
			s.cached[fold] = true
			s.cachedName[f.name] = true
		}
		s.embedded += f.viaPointers
	}
}

// settleDirect makes direct false for every shape that reaches one whose
// own fields disagree.
func settleDirect(built map[reflect.Type]*jsonShape) {
	for changed := true; changed; {
		changed = false
		for _, s := range built {
			if !s.direct {
				continue
			}
			for _, c := range s.children() {
				if !c.direct {
					s.direct, changed = false, true
					break
				}
			}
		}
	}
}

// settleCyclic marks the shapes on a cycle, then those that reach one.
func settleCyclic(built map[reflect.Type]*jsonShape) {
	for _, s := range built {
		seen := map[*jsonShape]bool{}
		var reach func(x *jsonShape) bool
		reach = func(x *jsonShape) bool {
			for _, c := range x.children() {
				if c == s {
					return true
				}
				if !seen[c] {
					seen[c] = true
					if reach(c) {
						return true
					}
				}
			}
			return false
		}
		s.cyclic = s.cyclic || reach(s)
	}
	for changed := true; changed; {
		changed = false
		for _, s := range built {
			if s.cyclic {
				continue
			}
			for _, c := range s.children() {
				if c.cyclic {
					s.cyclic, changed = true, true
					break
				}
			}
		}
	}
}

func (s *jsonShape) children() []*jsonShape {
	var cs []*jsonShape
	for _, c := range []*jsonShape{s.elem, s.key} {
		if c != nil {
			cs = append(cs, c)
		}
	}
	for _, c := range s.byName {
		cs = append(cs, c)
	}
	return cs
}

// A jsonNamed is a struct field under its exact name.
type jsonNamed struct {
	name   string
	shape  *jsonShape
	cached bool
}

// A jsonField is a field as encoding/json's typeFields sees it.
type jsonField struct {
	name        string
	tagged      bool
	index       []int
	typ         reflect.Type
	cached      bool
	viaPointers int64 // sizes of the embedded structs allocated through pointers on its way
}

// jsonVisibleFields returns the fields encoding/json decodes into for
// struct type t, following typeFields (breadth first through embedded
// structs, the shallowest name dominating, a tagged one among equals,
// otherwise none); without cached, as if t's cached properties were not
// there, which is what the view is.
func jsonVisibleFields(t reflect.Type, withCached bool) []jsonField {
	type level struct {
		typ   reflect.Type
		index []int
		ptrs  int64
	}
	var fields []jsonField
	current, next := []level{}, []level{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := 0; i < f.typ.NumField(); i++ {
				sf := f.typ.Field(i)
				cached := cacheprop.IsCached(sf)
				if cached && !withCached || jsonClassify(sf) == classSkip {
					continue
				}
				index := append(slices.Clip(f.index), i)
				name, _ := tagOptions(sf.Tag.Get("json"))
				if !jsonValidTag(name) {
					name = ""
				}
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					jf := jsonField{name: name, tagged: name != "", index: index, typ: sf.Type, cached: cached, viaPointers: f.ptrs}
					if name == "" {
						jf.name = sf.Name
					}
					fields = append(fields, jf)
					if count[f.typ] > 1 {
						// Two embeddings at one depth: the pair annihilates.
						fields = append(fields, jf)
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					ptrs := f.ptrs
					if sf.Type.Kind() == reflect.Pointer {
						ptrs += int64(ft.Size())
					}
					next = append(next, level{typ: ft, index: index, ptrs: ptrs})
				}
			}
		}
	}
	slices.SortStableFunc(fields, func(a, b jsonField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := len(a.index) - len(b.index); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		dom := fields[i:j]
		if len(dom) == 1 || len(dom[0].index) < len(dom[1].index) || dom[0].tagged && !dom[1].tagged {
			out = append(out, dom[0])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b jsonField) int { return slices.Compare(a.index, b.index) })
	return out
}

// jsonFieldsAgree reports whether the fields json sees in a struct (all)
// are those it sees in its view (twin) plus the cached ones, with no key
// matching a cached field and another one alike: then a key that does not
// match a cached field decodes into the struct as into its view, and one
// that does is ignored by the view, as a blanked key is by the struct.
func jsonFieldsAgree(all, twin []jsonField) bool {
	folds := map[string]bool{}
	var rest []jsonField
	for _, f := range all {
		if f.cached {
			folds[string(jsonFoldName([]byte(f.name)))] = true
		} else {
			rest = append(rest, f)
		}
	}
	if len(rest) != len(twin) {
		return false
	}
	for i, f := range rest {
		if f.name != twin[i].name || !slices.Equal(f.index, twin[i].index) || folds[string(jsonFoldName([]byte(f.name)))] {
			return false
		}
	}
	return true
}

// jsonValidTag is encoding/json's isValidTag.
func jsonValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// jsonFoldName is encoding/json's foldName: the key by which a name
// matches a field case-insensitively.
func jsonFoldName(in []byte) []byte { return jsonAppendFold(nil, in) }

func jsonAppendFold(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

// Allocation costs of the walk, in bytes, on top of the Go sizes of what
// is built: each is an upper bound of what encoding/json allocates.
const (
	jsonErrCost   = 160 // an UnmarshalTypeError, with its context
	jsonBoxCost   = 16  // a value boxed in an interface
	jsonEntryCost = 48  // a map entry's slot share, key box and growth
	jsonMapCost   = 112 // a map's header and bookkeeping, besides its first group of 8 slots
	jsonPtrCost   = 64  // per pointer followed: the reset's record of it in a recursive type
	jsonLevelCost = 64  // per level of nesting: the scanners' and the reset's stacks
)

// jsonCheck is the walk: budget b, data for a value of shape s. It returns
// a *BudgetError for input over budget, errJSONSyntax for input it cannot
// parse, and the spans of the keys to blank (when blank is set).
type jsonCheck struct {
	data   []byte
	pos    int
	depth  int
	max    int
	deep   int // the deepest level met, charged for
	alloc  int64
	limit  int64
	blank  bool
	blanks [][2]int
	err    error
}

type jsonSyntaxErr struct{}

func (jsonSyntaxErr) Error() string { return "codec: json: syntax error" }

var errJSONSyntax error = jsonSyntaxErr{}

func checkJSON(data []byte, s *jsonShape, b Budget, blank bool) (blanks [][2]int, err error) {
	c := walkJSON(data, s, b.Depth(), b.MaxAlloc(len(data)), blank)
	return c.blanks, c.err
}

// walkJSON runs the walk with nesting bounded by maxDepth and allocation
// by limit, and returns its end state.
func walkJSON(data []byte, s *jsonShape, maxDepth int, limit int64, blank bool) jsonCheck {
	c := jsonCheck{data: data, max: maxDepth, limit: limit, blank: blank}
	c.value(s)
	if c.err == nil {
		c.space()
		if c.pos != len(data) {
			c.err = errJSONSyntax
		}
	}
	return c
}

func (c *jsonCheck) spend(n int64) {
	c.alloc += n
	if c.alloc > c.limit && c.err == nil {
		c.err = &BudgetError{Codec: "json", Limit: "allocation", Max: c.limit, Need: c.alloc}
	}
}

func (c *jsonCheck) space() {
	d, i := c.data, c.pos
	for i < len(d) && d[i] <= ' ' && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	c.pos = i
}

// value walks one value into shape s (nil: skipped by json).
func (c *jsonCheck) value(s *jsonShape) {
	c.space()
	if c.err != nil {
		return
	}
	if c.pos >= len(c.data) {
		c.err = errJSONSyntax
		return
	}
	start := c.pos
	switch ch := c.data[c.pos]; {
	case ch == '{':
		c.object(s)
	case ch == '[':
		c.array(s)
	case ch == '"':
		esc := c.str()
		if s != nil && s.kind == jsString {
			c.spend(jsonStringCost(c.pos - start)) // as stringInto, without its calls
		} else if c.err == nil && s != nil {
			c.stringInto(s, c.pos-start, esc)
		}
	case ch == '-' || '0' <= ch && ch <= '9':
		c.number()
		if c.err == nil && s != nil {
			c.numberInto(s, c.data[start:c.pos])
		}
	case ch == 't':
		c.literal("true", s)
	case ch == 'f':
		c.literal("false", s)
	case ch == 'n':
		if len(c.data)-c.pos >= 4 && string(c.data[c.pos:c.pos+4]) == "null" {
			c.pos += 4 // literal's, without its call
			return
		}
		c.literal("null", nil)
	default:
		c.err = errJSONSyntax
	}
}

func (c *jsonCheck) enter() bool {
	c.depth++
	if c.depth > c.deep {
		c.deep = c.depth
		c.spend(jsonLevelCost)
	}
	if c.depth > c.max {
		if c.err == nil {
			c.err = &BudgetError{Codec: "json", Limit: "depth", Max: int64(c.max), Need: int64(c.depth)}
		}
		return false
	}
	return true
}

// through resolves pointers as json does, allocating each, down to the
// shape a non-null value lands in.
func (c *jsonCheck) through(s *jsonShape) *jsonShape {
	for s != nil && s.kind == jsPointer {
		c.spend(s.elem.size + jsonPtrCost)
		s = s.elem
	}
	return s
}

func (c *jsonCheck) object(s *jsonShape) {
	if !c.enter() {
		return
	}
	s = c.through(s)
	c.pos++ // {
	var elemShape, keyShape *jsonShape
	switch {
	case s == nil:
	case s.kind == jsOpaque, s.kind == jsAny:
		// Generic maps for an interface; a method: assume it keeps what it
		// is given.
		keyShape, elemShape = jsonStringShape, s
		c.spend(jsonMapCost + 8*(16+16+1))
	case s.kind == jsStruct:
		c.spend(s.embedded)
	case s.kind == jsMap:
		keyShape, elemShape = s.key, s.elem
		c.spend(jsonMapCost + 8*(s.key.size+s.elem.size+1))
	default:
		c.spend(jsonErrCost)
		s = nil
	}
	c.space()
	if c.pos < len(c.data) && c.data[c.pos] == '}' {
		c.pos++
		c.depth--
		return
	}
	next := 0 // the struct field expected next
	for c.err == nil {
		c.space()
		if c.pos >= len(c.data) || c.data[c.pos] != '"' {
			c.err = errJSONSyntax
			return
		}
		var fs *jsonShape
		fs, next = c.key(s, keyShape, elemShape, next)
		if c.err != nil {
			return
		}
		if c.pos < len(c.data) && c.data[c.pos] == ':' {
			c.pos++ // compact input: no space to skip
		} else {
			c.space()
			if c.pos >= len(c.data) || c.data[c.pos] != ':' {
				c.err = errJSONSyntax
				return
			}
			c.pos++
		}
		c.value(fs)
		if c.err != nil {
			return
		}
		c.space()
		if c.pos >= len(c.data) {
			c.err = errJSONSyntax
			return
		}
		switch c.data[c.pos] {
		case ',':
			c.pos++
		case '}':
			c.pos++
			c.depth--
			if s != nil && (s.kind == jsOpaque || s.kind == jsAny) {
				c.spend(jsonBoxCost)
			}
			return
		default:
			c.err = errJSONSyntax
			return
		}
	}
}

// key walks an object's key at c.pos and returns the shape its value
// lands in: a field of struct s (next is the index in s.order of the field
// expected, and key returns the one after what it found), or an entry of
// a map with those key and element shapes, or nothing when s is nil.
func (c *jsonCheck) key(s, keyShape, elemShape *jsonShape, next int) (*jsonShape, int) {
	ks := c.pos
	if s != nil && s.kind == jsStruct && next < len(s.order) {
		// The field expected next, spelt exactly, needs no search for the
		// string's end: no field name holds '"' or '\\' (Go names cannot,
		// nor can json's tag names, isValidTag), so the first '"' after
		// the name ends the string, which has no escapes.
		f := &s.order[next]
		if end := ks + 1 + len(f.name); end < len(c.data) && c.data[end] == '"' && string(c.data[ks+1:end]) == f.name {
			c.pos = end + 1
			if f.cached {
				c.mark(ks, c.pos)
				return nil, next + 1
			}
			return f.shape, next + 1
		}
	}
	esc := c.str()
	if c.err != nil {
		return nil, next
	}
	ke := c.pos
	switch {
	case s == nil:
		return nil, next
	case s.kind == jsStruct:
		return c.field(s, ks, ke, esc, next)
	}
	c.stringInto(keyShape, ke-ks, esc)
	c.spend(jsonEntryCost + 2*(elemShape.size+keyShape.size))
	return elemShape, next
}

// field resolves the key at data[ks:ke] in struct s as json does, and
// notes it for blanking if it matches a cached property; next is the
// index in s.order of the field expected, and field returns the one after
// what it found.
func (c *jsonCheck) field(s *jsonShape, ks, ke int, esc bool, next int) (*jsonShape, int) {
	key := c.data[ks+1 : ke-1]
	if !esc && next < len(s.order) && s.order[next].name == string(key) {
		// A field's name is valid UTF-8, and json matches it exactly.
		if f := &s.order[next]; !f.cached {
			return f.shape, next + 1
		}
		c.mark(ks, ke)
		return nil, next + 1
	}
	if esc || !utf8.Valid(key) {
		var u string
		if err := jsonUnquote(c.data[ks:ke], &u); err != nil {
			c.err = errJSONSyntax
			return nil, next
		}
		c.spend(3*int64(ke-ks) + 16)
		key = []byte(u)
	}
	if fs, ok := s.byName[string(key)]; ok {
		if s.cachedName[string(key)] {
			c.mark(ks, ke)
			return nil, next
		}
		return fs, next
	}
	var buf [64]byte
	fold := jsonAppendFold(buf[:0], key)
	if s.cached[string(fold)] {
		c.mark(ks, ke)
		return nil, next
	}
	return s.byFold[string(fold)], next
}

func (c *jsonCheck) mark(ks, ke int) {
	if c.blank {
		c.spend(16)
		c.blanks = append(c.blanks, [2]int{ks, ke})
	}
}

func (c *jsonCheck) array(s *jsonShape) {
	if !c.enter() {
		return
	}
	s = c.through(s)
	c.pos++ // [
	var elem *jsonShape
	n := 0
	switch {
	case s == nil:
	case s.kind == jsSlice, s.kind == jsArray, s.kind == jsBytes:
		elem = s.elem
	case s.kind == jsOpaque, s.kind == jsAny:
		elem = s
	default:
		c.spend(jsonErrCost)
		s = nil
	}
	c.space()
	if c.pos < len(c.data) && c.data[c.pos] == ']' {
		c.pos++
		c.depth--
		return
	}
	for c.err == nil {
		e := elem
		if s != nil && s.kind == jsArray && n >= s.typ.Len() {
			e = nil // json skips what does not fit
		}
		c.value(e)
		if c.err != nil {
			return
		}
		n++
		c.space()
		if c.pos >= len(c.data) {
			c.err = errJSONSyntax
			return
		}
		switch c.data[c.pos] {
		case ',':
			c.pos++
		case ']':
			c.pos++
			c.depth--
			switch {
			case s == nil:
			case s.kind == jsSlice, s.kind == jsBytes:
				c.spend(appendCost(n, elem.size))
			case s.kind == jsOpaque, s.kind == jsAny:
				c.spend(appendCost(n, 16) + jsonBoxCost)
			}
			return
		default:
			c.err = errJSONSyntax
			return
		}
	}
}

// appendCost bounds what appending n elements of size bytes one by one
// allocates in all: append's growth (double below 256 elements, then by a
// quarter and 192) and the rounding up to size classes.
func appendCost(n int, size int64) int64 {
	if size == 0 {
		return 0
	}
	var total int64
	for c := 0; c < n; {
		switch {
		case c == 0:
			c = 1
		case c < 256:
			c *= 2
		default:
			c += (c + 3*256) / 4
		}
		total += int64(c)*size*9/8 + 16
	}
	return total
}

// str skips a string token and reports whether it holds escapes. It
// finds the end of valid input's strings exactly and checks no more: what
// it lets through that json would not accept, json refuses before it
// decodes anything (json.Unmarshal checks the whole input first).
func (c *jsonCheck) str() (esc bool) {
	c.pos++ // "
	rest := c.data[c.pos:]
	// Most strings are short: a loop finds their end before IndexByte has
	// set up.
	for i, ch := range rest[:min(len(rest), 16)] {
		if ch == '"' {
			c.pos += i + 1
			return false
		}
		if ch == '\\' {
			break
		}
	}
	if q := bytes.IndexByte(rest, '"'); q >= 0 && bytes.IndexByte(rest[:q], '\\') < 0 {
		c.pos += q + 1
		return false
	}
	for c.pos < len(c.data) {
		switch c.data[c.pos] {
		case '"':
			c.pos++
			return true
		case '\\':
			c.pos += 2
		default:
			c.pos++
		}
	}
	c.err = errJSONSyntax
	return
}

// jsonStringCost is what a string of n input bytes costs decoded into a
// Go string.
func jsonStringCost(n int) int64 { return 3*int64(n) + 16 }

// stringInto costs a string of n input bytes decoded into s.
func (c *jsonCheck) stringInto(s *jsonShape, n int, esc bool) {
	s = c.through(s)
	switch s.kind {
	case jsString:
		c.spend(jsonStringCost(n))
	case jsBytes:
		c.spend(2*int64(n) + 16)
	case jsAny:
		c.spend(jsonStringCost(n) + jsonBoxCost)
	case jsOpaque:
		c.spend(3*int64(n) + 64)
	case jsInt, jsUint, jsFloat:
		// a ",string" field, or a type error
		c.spend(3*int64(n) + jsonErrCost)
	default:
		c.spend(jsonErrCost)
	}
}

func (c *jsonCheck) number() {
	d, i := c.data, c.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if !digits() {
		c.err = errJSONSyntax
		return
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			c.err = errJSONSyntax
			return
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			c.err = errJSONSyntax
			return
		}
	}
	c.pos = i
}

// numberInto costs a number decoded into s: nothing, unless it is boxed or
// does not fit, which json reports with an error value.
func (c *jsonCheck) numberInto(s *jsonShape, num []byte) {
	s = c.through(s)
	var ok bool
	switch s.kind {
	case jsAny:
		c.spend(jsonBoxCost)
		return
	case jsOpaque:
		c.spend(int64(len(num)) + 64)
		return
	}
	if jsonNumberFits(num, s) {
		return
	}
	switch s.kind {
	case jsInt:
		_, err := strconv.ParseInt(string(num), 10, s.bits)
		ok = err == nil
	case jsUint:
		_, err := strconv.ParseUint(string(num), 10, s.bits)
		ok = err == nil
	case jsFloat:
		_, err := strconv.ParseFloat(string(num), s.bits)
		ok = err == nil
	}
	if !ok {
		c.spend(jsonErrCost + int64(len(num)))
	}
}

// jsonNumberFits reports, without parsing it, a number (well formed)
// that surely fits the integer or float kind of s: few enough digits and
// no fraction or exponent for integers, no exponent for floats. Others
// are left to strconv.
func jsonNumberFits(num []byte, s *jsonShape) bool {
	if s.kind != jsInt && s.kind != jsUint && s.kind != jsFloat {
		return false
	}
	neg := num[0] == '-'
	digits, point := len(num), false
	if neg {
		digits--
	}
	for _, ch := range num {
		switch ch {
		case 'e', 'E':
			return false
		case '.':
			point = true
		}
	}
	switch s.kind {
	case jsFloat:
		return len(num) <= 38 // below float32's 3.4e38
	case jsUint:
		if neg {
			return false
		}
	}
	// The most digits every value of the bit size holds: 99, 9999, ...
	return !point && digits <= max(s.bits*3/10-1, 2)
}

func (c *jsonCheck) literal(lit string, s *jsonShape) {
	if len(c.data)-c.pos < len(lit) || string(c.data[c.pos:c.pos+len(lit)]) != lit {
		c.err = errJSONSyntax
		return
	}
	c.pos += len(lit)
	if s == nil {
		return // null, or skipped
	}
	s = c.through(s)
	switch s.kind {
	case jsBool, jsOpaque:
	case jsAny:
		c.spend(jsonBoxCost)
	default:
		c.spend(jsonErrCost)
	}
}
