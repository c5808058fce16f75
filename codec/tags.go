package codec

import (
	"fmt"
	"reflect"
	"strings"
)

// This file is the one place that reads and writes struct tags: the views,
// the schema and the checks all parse tag options here.

// tagOptions splits a tag value into its name and options.
func tagOptions(tag string) (name string, opts []string) {
	parts := strings.Split(tag, ",")
	return parts[0], parts[1:]
}

func hasOption(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

// setTag returns tag with key's value replaced by value (added if absent),
// other keys kept.
func setTag(tag reflect.StructTag, key, value string) reflect.StructTag {
	var b strings.Builder
	rest := string(tag)
	found := false
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		i := strings.IndexByte(rest, ':')
		if i <= 0 || i+1 >= len(rest) || rest[i+1] != '"' {
			break
		}
		k := rest[:i]
		j := i + 2
		for j < len(rest) && rest[j] != '"' {
			if rest[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(rest) {
			break
		}
		kv := rest[:j+1]
		rest = rest[j+1:]
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if k == key {
			found = true
			fmt.Fprintf(&b, "%s:%q", key, value)
		} else {
			b.WriteString(kv)
		}
	}
	if !found {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%q", key, value)
	}
	return reflect.StructTag(b.String())
}

// withOption returns the tag value with option o added.
func withOption(value, o string) string {
	if _, opts := tagOptions(value); hasOption(opts, o) {
		return value
	}
	return value + "," + o
}

// keptOptions returns those of want that opts has, in want's order.
func keptOptions(opts []string, want ...string) []string {
	var out []string
	for _, o := range want {
		if hasOption(opts, o) {
			out = append(out, o)
		}
	}
	return out
}
