package cachewrap

import (
	"bytes"
	"fmt"
	"strings"
)

// body writes everything after the imports: the wrapper type, its tuple
// result types, its config (an alias of the runtime's), its constructor and
// its methods. Everything else a wrapper needs is in the runtime package, so
// that fixing it needs no regeneration.
func (g *gen) body() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	decl, use := g.tparams()
	W, P := g.wrapper, g.prefix
	next := g.typ(g.src.next)
	ctxPkg := g.use("context")
	rt := g.use(runtimePkg)
	var cached []*method
	for _, m := range g.methods {
		if m.cached() {
			cached = append(cached, m)
		}
	}

	if g.src.iface != nil && decl == "" {
		p("\nvar _ %s = (*%s)(nil)\n", next, W)
	}

	wrapped := strings.TrimPrefix(next, "*")
	article := "a"
	if strings.ContainsRune("AEIOUaeiou", rune(wrapped[0])) {
		article = "an"
	}
	b.WriteString("\n" + comment(fmt.Sprintf("%s wraps %s %s and caches the results of its methods: in tables of "+
		"its own, which die with it, and in memcached when its config names a backend. A call reaches the "+
		"wrapped value only when no cache holds its result. Errors are returned and never cached. Cached "+
		"results are shared by all callers, who must not modify them.", W, article, wrapped)))
	p("//\n// It may be used by several goroutines at once if the wrapped value may.\n")
	p("type %s%s struct {\n\tnext %s\n", W, decl, next)
	for _, m := range cached {
		p("\tcache%s %s.Entry[%s]\n", m.name, rt, g.valueType(m))
	}
	p("}\n")

	for _, m := range cached {
		if len(m.results) < 2 {
			continue
		}
		p("\n// %sResult holds the results of %s, which are cached together.\n", P+m.name, m.name)
		p("type %sResult%s struct {\n", P+m.name, decl)
		for i, r := range m.results {
			p("\tR%d %s\n", i, g.typ(r))
		}
		p("}\n")
	}

	b.WriteString("\n" + comment(fmt.Sprintf("%[1]sConfig configures a %[1]s: see %[2]s.Config. The zero value "+
		"caches in process only, with the TTLs and bounds set when the wrapper was generated.", W, rt)))
	p("type %sConfig = %s.Config\n", W, rt)
	b.WriteString("\n" + comment(fmt.Sprintf("New%[1]s returns a %[1]s that forwards to next. It fails with a "+
		"*%[2]s.ConfigError when cfg names a method that is not cached, or when memcache.NewStore refuses "+
		"cfg.StoreOptions.", W, rt)))
	p("func New%[1]s%[2]s(next %[3]s, cfg %[1]sConfig) (*%[1]s%[4]s, error) {\n", W, decl, next, use)
	p("\tcw := &%s%s{next: next}\n", W, use)
	if len(cached) > 0 {
		p("\terr := %s.Init(%q, cfg,\n", rt, "New"+W)
		for _, m := range cached {
			p("\t\t%s.Bind(&cw.cache%s, %s.Method{%s}),\n", rt, m.name, rt, g.methodLit(m))
		}
		p("\t)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n")
	} else {
		p("\tif err := %s.Init(%q, cfg); err != nil {\n\t\treturn nil, err\n\t}\n", rt, "New"+W)
	}
	p("\treturn cw, nil\n}\n")

	for _, m := range g.methods {
		g.emitMethod(&b, m, ctxPkg, rt)
	}
	return b.Bytes()
}

// methodLit writes the fields of a cachewrap.Method literal for m, leaving
// out the zero ones.
func (g *gen) methodLit(m *method) string {
	fields := []string{fmt.Sprintf("Name: %q", m.name)}
	if m.opts.TTL != 0 {
		fields = append(fields, "TTL: "+g.durationExpr(m.opts.TTL))
	}
	if m.opts.Max != 0 {
		fields = append(fields, fmt.Sprintf("MaxEntries: %d", m.opts.Max))
	}
	if m.local != "" {
		fields = append(fields, "Local: true")
	}
	return strings.Join(fields, ", ")
}

func (g *gen) emitMethod(b *bytes.Buffer, m *method, ctxPkg, rt string) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	_, use := g.tparams()
	recv := "cw *" + g.wrapper + use
	p("\n")
	if !m.cached() {
		b.WriteString(comment(fmt.Sprintf("%s is forwarded uncached: %s.", m.name, m.uncached)))
		p("func (%s) %s {\n\t", recv, g.signature(m))
		if len(m.results) > 0 || m.hasErr {
			p("return ")
		}
		p("%s\n}\n", m.call())
		return
	}
	doc := m.name + " is cached"
	switch {
	case len(m.keyArgs) > 0 && m.ctx != "":
		doc += " by its arguments, leaving out the context"
	case len(m.keyArgs) > 0:
		doc += " by its arguments"
	}
	if m.opts.TTL > 0 {
		doc += ", for " + m.opts.TTL.String()
	}
	if m.opts.Max > 0 {
		doc += fmt.Sprintf(", at most %d results in process", m.opts.Max)
	}
	if m.opts.Trust {
		doc += ", keyed by JSON on trust"
	}
	doc += "."
	if m.local != "" {
		doc += " It is cached in process only: " + m.local + "."
	}
	b.WriteString(comment(doc))
	p("func (%s) %s {\n", recv, g.signature(m))
	key := fmt.Sprintf("%q", g.qualifiedName(m)+":[]")
	if len(m.keyArgs) > 0 {
		p("\tck, keyed := %s.Key(%q, %s)\n", rt, g.qualifiedName(m), strings.Join(m.keyArgs, ", "))
		p("\tif !keyed {\n\t\treturn %s\n\t}\n", m.call())
		key = "ck"
	}
	ctx, closureCtx := m.ctx, ""
	if ctx == "" {
		ctx = ctxPkg + ".Background()"
	} else {
		closureCtx = m.ctx + " "
	}
	v := g.valueType(m)
	head := fmt.Sprintf("cw.cache%s.Lookup(%s, %s, func(%s%s.Context) (%s, error) {\n", m.name, ctx, key, closureCtx, ctxPkg, v)
	errOut := "nil"
	if m.hasErr {
		errOut = "err"
	}
	if len(m.results) == 1 {
		if m.hasErr {
			p("\treturn %s\t\treturn %s\n\t})\n}\n", head, m.call())
			return
		}
		p("\tres, err := %s\t\treturn %s, nil\n\t})\n", head, m.call())
	} else {
		var rs, fields, outs []string
		for i := range m.results {
			rs = append(rs, fmt.Sprintf("r%d", i))
			fields = append(fields, fmt.Sprintf("R%d: r%d", i, i))
			outs = append(outs, fmt.Sprintf("res.R%d", i))
		}
		if m.hasErr {
			rs = append(rs, "err")
		}
		p("\tres, err := %s\t\t%s := %s\n\t\treturn %s{%s}, %s\n\t})\n", head, strings.Join(rs, ", "), m.call(), v, strings.Join(fields, ", "), errOut)
		if m.hasErr {
			p("\treturn %s, err\n}\n", strings.Join(outs, ", "))
			return
		}
		if len(m.results) > 1 {
			p("\tif err != nil {\n\t\t// Only a store that fails closed errs here; the wrapped value still answers.\n\t\treturn %s\n\t}\n\treturn %s\n}\n", m.call(), strings.Join(outs, ", "))
			return
		}
	}
	p("\tif err != nil {\n\t\t// Only a store that fails closed errs here; the wrapped value still answers.\n\t\treturn %s\n\t}\n\treturn res\n}\n", m.call())
}

// comment renders text as a line comment wrapped at 78 columns.
func comment(text string) string {
	var b strings.Builder
	line := "//"
	for _, word := range strings.Fields(text) {
		if len(line)+1+len(word) > 78 && line != "//" {
			b.WriteString(line + "\n")
			line = "//"
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
	return b.String()
}
