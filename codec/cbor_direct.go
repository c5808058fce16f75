package codec

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/leancache/leancache/cacheprop"
)

// A recursive type's view closes each cycle with a slot that re-enters
// cbor, which checks, and then skips, everything below it again: a deep
// list would decode in the square of its length. So, as [JSON] does, [CBOR]
// decodes a type whose view holds slots into the type itself, in one pass,
// when no map key in the input can reach a cached field: cbor then fills
// exactly the fields it fills in the view (the view is the type with the
// cached fields hidden, in the same order, and a key that matches no cached
// field's name, exactly or case-insensitively, matches the same field in
// both), and the cached fields are reset afterwards as always. Input with
// such a key (never written by [CBOR]; a map[string] key of the same name
// counts too), and any input for a type that reaches a toarray struct with
// a cached field (read by position, it has fewer elements than fields),
// goes through the view, nested at most as deep as the budget
// allows. The budget's pre-scan has already charged the type itself.

// cborCached is what cborDirect needs to know of a decode target type.
type cborCached struct {
	names []string // the keys of cached fields
	never bool     // a cached field has an integer key: always use the view
}

var cborCachedTypes sync.Map // map[reflect.Type]*cborCached

// cborCachedOf returns the keys of the cached fields of the structs t
// reaches, as cbor decodes them.
func cborCachedOf(t reflect.Type) *cborCached {
	if c, ok := cborCachedTypes.Load(t); ok {
		return c.(*cborCached)
	}
	c := &cborCached{}
	cborCollect(t, c, map[reflect.Type]bool{})
	actual, _ := cborCachedTypes.LoadOrStore(t, c)
	return actual.(*cborCached)
}

func cborCollect(t reflect.Type, c *cborCached, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	if t.Kind() != reflect.Pointer && cborDialect.decMethods(t) {
		return
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		cborCollect(t.Elem(), c, seen)
	case reflect.Map:
		cborCollect(t.Key(), c, seen)
		cborCollect(t.Elem(), c, seen)
	case reflect.Struct:
		// A toarray struct is read by position: its cached fields, which
		// are not on the wire, would shift every element after them.
		toArray := cborToArray(t)
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if cacheprop.IsCached(sf) {
				c.never = c.never || toArray
				_, tag := cborTag(sf.Tag)
				name, opts := tagOptions(tag)
				if name == "" {
					name = sf.Name
				}
				if hasOption(opts, "keyasint") {
					if _, err := strconv.ParseInt(name, 10, 64); err == nil {
						c.never = true
					}
				}
				c.names = append(c.names, name)
				continue
			}
			cborCollect(sf.Type, c, seen)
		}
	}
}

// cborKeyMatches reports whether cbor fills a field of the given name from
// a map key: the same bytes, or, as cbor falls back to, the same length
// and equal under Unicode case folding.
func cborKeyMatches(name string, key []byte) bool {
	if len(name) != len(key) {
		return false
	}
	if len(key) > 0 && name[0]|key[0] < utf8.RuneSelf && name[0]|0x20 != key[0]|0x20 {
		// Two ASCII first runes that differ however cased (|0x20 maps
		// letters to lower case, and keeps apart what EqualFold does).
		return false
	}
	return strings.EqualFold(name, string(key))
}

// cborDirect reports whether data may be decoded straight into a value of
// type t: no map key in it names a cached field of a struct t reaches.
// Input it cannot read (malformed, or a key of indefinite length) is left
// to the view.
func cborDirect(data []byte, t reflect.Type) bool {
	c := cborCachedOf(t)
	if c.never {
		return false
	}
	// A level counts the items still due (-1: until a break) and those
	// read: in a map, keys are the even ones.
	type level struct {
		left, read int64
		inMap      bool
	}
	stack := []level{{left: 1}}
	pos := 0
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.left == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		if pos >= len(data) {
			return false
		}
		if data[pos] == 0xff { // break
			if top.left != -1 || top.inMap && top.read%2 != 0 {
				return false
			}
			pos++
			stack = stack[:len(stack)-1]
			continue
		}
		major, info := data[pos]>>5, data[pos]&31
		arg, next, indefinite, err := cborArg(data, pos+1, info)
		if err != nil {
			return false
		}
		pos = next
		isKey := top.inMap && top.read%2 == 0
		if major == 6 {
			// A tag's content is the item; a tagged key is not read.
			if isKey {
				return false
			}
			continue
		}
		top.read++
		if top.left > 0 {
			top.left--
		}
		if top.left == 0 && len(stack) > 1 {
			// The level's last item: a container it opens takes its
			// place, so a deep list keeps the stack short.
			stack = stack[:len(stack)-1]
		}
		switch major {
		case 2, 3:
			if indefinite {
				if isKey {
					return false
				}
				stack = append(stack, level{left: -1})
				continue
			}
			if arg > uint64(len(data)-pos) {
				return false
			}
			if isKey && major == 3 {
				k := data[pos : pos+int(arg)]
				for _, name := range c.names {
					if cborKeyMatches(name, k) {
						return false
					}
				}
			}
			pos += int(arg)
		case 4, 5:
			if indefinite {
				stack = append(stack, level{left: -1, inMap: major == 5})
				continue
			}
			if arg > uint64(len(data)-pos) {
				return false // each item takes a byte at least
			}
			n := int64(arg)
			if major == 5 {
				n *= 2
			}
			stack = append(stack, level{left: n, inMap: major == 5})
		case 7:
			if info == 31 {
				return false
			}
		}
	}
	return pos == len(data)
}
