package cachepropvet

import (
	"fmt"
	"strconv"
	"strings"
)

// ignoreDirective silences the analyzer on its line, or on the next line
// when it stands alone on its own. It must give a reason.
const ignoreDirective = "//cachepropvet:ignore"

// readIgnores finds the ignore directives of the package, and reports those
// that give no reason (they silence nothing).
func (c *checker) readIgnores() map[string]map[int]bool {
	out := map[string]map[int]bool{}
	for _, f := range c.pass.Files {
		for _, g := range f.Comments {
			for _, cm := range g.List {
				rest, ok := strings.CutPrefix(cm.Text, ignoreDirective)
				if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
					continue
				}
				// A comment after the directive is no reason.
				reason, _, _ := strings.Cut(rest, "//")
				if strings.TrimSpace(reason) == "" {
					c.pass.Reportf(cm.Pos(), "%s needs a reason: %s why this leak is deliberate", ignoreDirective, ignoreDirective)
					continue
				}
				p := c.pass.Fset.Position(cm.Pos())
				if out[p.Filename] == nil {
					out[p.Filename] = map[int]bool{}
				}
				out[p.Filename][p.Line] = true
				// Alone on its line, it speaks for the next one.
				if tf := c.pass.Fset.File(cm.Pos()); tf != nil && p.Line < tf.LineCount() {
					start := tf.LineStart(p.Line)
					if int(cm.Pos()-start) == len(leadingSpace(c.pass.ReadFile, p.Filename, p.Line)) {
						out[p.Filename][p.Line+1] = true
					}
				}
			}
		}
	}
	return out
}

// leadingSpace returns the indentation of a line of a file, or "" if the
// file cannot be read (the directive then covers its own line only,
// which is what a trailing one means anyway).
func leadingSpace(read func(string) ([]byte, error), name string, line int) string {
	data, err := read(name)
	if err != nil {
		return "\x00"
	}
	lines := strings.SplitN(string(data), "\n", line+1)
	if len(lines) < line {
		return "\x00"
	}
	l := lines[line-1]
	return l[:len(l)-len(strings.TrimLeft(l, " \t"))]
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// unquote returns a struct tag literal's text.
func unquote(lit string) (string, bool) {
	s, err := strconv.Unquote(lit)
	return s, err == nil
}

// dropDashTags returns tag without its key:"-" pairs for json, msgpack and
// cbor, and those pairs, in the tag's own order and spelling.
func dropDashTags(tag string) (kept string, dropped []string) {
	var keep []string
	for tag != "" {
		tag = strings.TrimLeft(tag, " ")
		i := strings.Index(tag, ":\"")
		if i <= 0 {
			if tag != "" {
				keep = append(keep, tag)
			}
			break
		}
		j := i + 2
		for j < len(tag) && tag[j] != '"' {
			if tag[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(tag) {
			keep = append(keep, tag)
			break
		}
		pair := tag[:j+1]
		tag = tag[j+1:]
		switch pair {
		case `json:"-"`, `msgpack:"-"`, `cbor:"-"`:
			dropped = append(dropped, pair)
		default:
			keep = append(keep, pair)
		}
	}
	return strings.Join(keep, " "), dropped
}
