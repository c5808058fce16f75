package cachewrap

import (
	"bytes"
	"fmt"
	"strings"
)

// body writes everything after the imports. Helper names carry the
// wrapper's name, so several wrappers can share a package.
func (g *gen) body() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	decl, use := g.tparams()
	W, P := g.wrapper, g.prefix
	next := g.typ(g.src.next)
	ctxPkg := g.use("context")
	mc := g.use(memcache)
	tm := g.use("time")
	fm := g.use("fmt")
	var cached []*method
	anyKey := false
	for _, m := range g.methods {
		if m.cached() {
			cached = append(cached, m)
			anyKey = anyKey || len(m.keyArgs) > 0
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
		p("\tcache%s %sEntry[%s]\n", m.name, P, g.valueType(m))
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

	b.WriteString("\n" + comment(fmt.Sprintf("%[1]sConfig configures a %[1]s. The zero value caches in process "+
		"only, with the TTLs and bounds set when the wrapper was generated.", W)))
	p(`type %[1]sConfig struct {
	// Backend, when set, caches results in memcached as well, through one
	// %[2]s.Store per method. A call's key is the method's qualified name,
	// a colon and the JSON of its arguments, under the stores' namespace.
	Backend %[2]s.Backend
	// StoreOptions are given to every method's %[2]s.NewStore: a codec,
	// a namespace and version, WithFingerprint, middleware. Each method has
	// a store of its own, so a fingerprint covers that method's result
	// type. The method's TTL is appended as %[2]s.WithExpiration.
	StoreOptions []%[2]s.Option
	// NoLocal turns the in-process tables off, leaving memcached as the
	// only cache.
	NoLocal bool
	// TTL overrides, by method name, how long results are kept; zero means
	// until evicted.
	TTL map[string]%[3]s.Duration
	// MaxEntries overrides, by method name, how many results the
	// in-process table holds; zero means no bound.
	MaxEntries map[string]int
}
`, W, mc, tm)
	b.WriteString("\n" + comment(fmt.Sprintf("New%[1]s returns a %[1]s that forwards to next. It fails when cfg "+
		"names a method that is not cached, or when %[2]s.NewStore refuses cfg.StoreOptions.", W, mc)))
	p(`func New%[1]s%[4]s(next %[5]s, cfg %[1]sConfig) (*%[1]s%[6]s, error) {
	known := map[string]bool{`, W, mc, tm, decl, next, use)
	for i, m := range cached {
		if i > 0 {
			p(", ")
		}
		p("%q: true", m.name)
	}
	p(`}
	for name := range cfg.TTL {
		if !known[name] {
			return nil, %[2]s.Errorf("New%[1]s: TTL names %%q, which is not a cached method", name)
		}
	}
	for name := range cfg.MaxEntries {
		if !known[name] {
			return nil, %[2]s.Errorf("New%[1]s: MaxEntries names %%q, which is not a cached method", name)
		}
	}
	cw := &%[1]s%[3]s{next: next}
`, W, fm, use)
	for _, m := range cached {
		p("\tif err := %sInit(&cw.cache%s, %q, %s, %d, %t, &cfg); err != nil {\n\t\treturn nil, err\n\t}\n",
			P, m.name, m.name, g.durationExpr(m.opts.TTL), m.opts.Max, m.local == "")
	}
	p("\treturn cw, nil\n}\n")

	for _, m := range g.methods {
		g.emitMethod(&b, m, ctxPkg)
	}

	if len(cached) > 0 {
		p(`
// %[1]sEntry holds the caches of one method.
type %[1]sEntry[V any] struct {
	local bool
	memo  %[2]s.Memo[string, V]
	store *%[3]s.Store[V]
}

func %[1]sInit[V any](e *%[1]sEntry[V], method string, ttl %[4]s.Duration, bound int, store bool, cfg *%[5]sConfig) error {
	if d, ok := cfg.TTL[method]; ok {
		ttl = d
	}
	if n, ok := cfg.MaxEntries[method]; ok {
		bound = n
	}
	if !cfg.NoLocal {
		e.local = true
		e.memo.Configure(%[2]s.MemoOptions{MaxEntries: bound, TTL: ttl})
	}
	if store && cfg.Backend != nil {
		opts := append(cfg.StoreOptions[:len(cfg.StoreOptions):len(cfg.StoreOptions)], %[3]s.WithExpiration(ttl))
		s, err := %[3]s.NewStore[V](cfg.Backend, opts...)
		if err != nil {
			return %[6]s.Errorf("New%[5]s: %%s: %%w", method, err)
		}
		e.store = s
	}
	return nil
}

// %[1]sLookup returns the result for key from the first cache
// that holds it, calling call, once for concurrent callers, when none does.
func %[1]sLookup[V any](ctx %[7]s.Context, e *%[1]sEntry[V], key string, call func(%[7]s.Context) (V, error)) (V, error) {
	load := call
	if e.store != nil {
		load = func(ctx %[7]s.Context) (V, error) { return e.store.GetOrLoad(ctx, key, call) }
	}
	if !e.local {
		return load(ctx)
	}
	return e.memo.GetContext(ctx, key, func(ctx %[7]s.Context, _ string) (V, error) { return load(ctx) })
}
`, P, g.use(cacheprop), mc, tm, W, fm, ctxPkg)
	}
	if anyKey {
		p(`
// %[1]sKey returns the key of a call: the method's qualified
// name, a colon and the JSON of the arguments. ok is false when JSON refuses
// them (NaN, a func inside a trusted type) or would alter them: it writes
// \ufffd for bytes that are not UTF-8, so distinct strings could share a key.
// Such calls are forwarded uncached.
func %[1]sKey(method string, args ...any) (key string, ok bool) {
	b, err := %[2]s.Marshal(args)
	if err != nil || %[3]s.Contains(b, []byte(`+"`\\ufffd`"+`)) {
		return "", false
	}
	return method + ":" + string(b), true
}
`, P, g.use("encoding/json"), g.use("bytes"))
	}
	if g.binary {
		p(`
// %[1]sBinary keys an argument by its MarshalBinary form, for
// types such as url.URL whose JSON would leave data out.
type %[1]sBinary struct {
	m     %[2]s.BinaryMarshaler
	isNil bool
}

// MarshalJSON writes the binary form as a JSON string (base64).
func (b %[1]sBinary) MarshalJSON() ([]byte, error) {
	if b.isNil {
		return []byte("null"), nil
	}
	data, err := b.m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return %[3]s.Marshal(data)
}
`, P, g.use("encoding"), g.use("encoding/json"))
	}
	return b.Bytes()
}

func (g *gen) emitMethod(b *bytes.Buffer, m *method, ctxPkg string) {
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
		p("\tck, keyed := %sKey(%q, %s)\n", g.prefix, g.qualifiedName(m), strings.Join(m.keyArgs, ", "))
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
	head := fmt.Sprintf("%sLookup(%s, &cw.cache%s, %s, func(%s%s.Context) (%s, error) {\n", g.prefix, ctx, m.name, key, closureCtx, ctxPkg, v)
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
