package cachepropvet

import (
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"

	"github.com/leancache/leancache/internal/cachepropast"
)

// Analyzer reports cached properties that leave the program by a way that
// does not strip them; see the package documentation.
var Analyzer = &analysis.Analyzer{
	Name:      "cachepropvet",
	Doc:       "report cached properties (cacheprop) that reach an encoder other than leancache's codecs, memcached items or by-value Stores",
	URL:       "https://pkg.go.dev/github.com/leancache/leancache/cacheprop/cachepropvet",
	Requires:  []*analysis.Analyzer{inspect.Analyzer},
	Run:       run,
	FactTypes: []analysis.Fact{new(leaksFact), new(forwardsFact)},
}

// suggestions is the -suggestions flag: whether to report redundant tags,
// which are no leak.
var suggestions = true

func init() {
	Analyzer.Flags.BoolVar(&suggestions, "suggestions", true, "also suggest removing json:\"-\"-style tags that a cacheprop tag makes redundant")
}

// Import paths the analyzer knows.
const (
	gomemcachePath = "github.com/bradfitz/gomemcache/memcache"
	storePath      = "github.com/leancache/leancache/memcache"
	msgpackPath    = "github.com/vmihailenco/msgpack/v5"
	cborPath       = "github.com/fxamacker/cbor/v2"
)

// marshalFuncs maps a function or method, as "path.Func" or
// "path.Recv.Method", to the route it encodes its first argument by.
var marshalFuncs = map[string]route{
	"encoding/json.Marshal":                         viaJSON,
	"encoding/json.MarshalIndent":                   viaJSON,
	"encoding/json.Encoder.Encode":                  viaJSON,
	"encoding/gob.Encoder.Encode":                   viaGob,
	msgpackPath + ".Marshal":                        viaMsgpack,
	msgpackPath + ".Encoder.Encode":                 viaMsgpack,
	cborPath + ".Marshal":                           viaCBOR,
	cborPath + ".MarshalToBuffer":                   viaCBOR,
	cborPath + ".Encoder.Encode":                    viaCBOR,
	cborPath + ".EncMode.Marshal":                   viaCBOR,
	cborPath + ".EncMode.MarshalToBuffer":           viaCBOR,
	cborPath + ".UserBufferEncMode.MarshalToBuffer": viaCBOR,
}

// newEncoderFuncs are the constructors of the encoders above whose first
// argument is the writer the encoding goes to.
var newEncoderFuncs = map[string]bool{
	"encoding/json.NewEncoder":       true,
	"encoding/gob.NewEncoder":        true,
	msgpackPath + ".NewEncoder":      true,
	cborPath + ".NewEncoder":         true,
	cborPath + ".EncMode.NewEncoder": true,
}

// funcKey names fn as marshalFuncs does.
func funcKey(fn *types.Func) string {
	if fn.Pkg() == nil {
		return ""
	}
	sig := fn.Signature()
	if recv := sig.Recv(); recv != nil {
		t := types.Unalias(recv.Type())
		if p, ok := t.(*types.Pointer); ok {
			t = types.Unalias(p.Elem())
		}
		n, ok := t.(*types.Named)
		if !ok {
			return ""
		}
		return fn.Pkg().Path() + "." + n.Obj().Name() + "." + fn.Name()
	}
	return fn.Pkg().Path() + "." + fn.Name()
}

// leak is what the analyzer knows of an encoded value that carries a cached
// property.
type leak struct {
	route route
	root  string // the value's type, as written in the package
	path  string // from root to the cached property
}

func (l leak) field() string {
	if l.path == "" {
		return l.root + " (a cacheprop cell)"
	}
	return l.root + l.path
}

type checker struct {
	pass    *analysis.Pass
	w       *walker
	ignores map[string]map[int]bool // file name, line: silenced
	// assigned holds, for a local variable of interface type, the
	// expressions assigned to it, so that a value stored in it is seen.
	assigned map[types.Object][]ast.Expr
	// encoded marks byte slices and buffers that hold a leaking encoding.
	encoded map[types.Object]leak
	// writers maps an encoder variable to the buffer it writes to.
	writers map[types.Object]types.Object
	// forwards holds the package's functions that pass a parameter on to
	// an encoder.
	forwards map[*types.Func]*forwardsFact
	// fieldValues holds the values the package's literals and assignments
	// give each struct field, so that a function-typed field is seen.
	fieldValues map[*types.Var][]ast.Expr
	// ranged holds, for a range loop's value variable, what it ranges over.
	ranged map[types.Object][]ast.Expr
}

func run(pass *analysis.Pass) (any, error) {
	c := &checker{
		pass:     pass,
		w:        &walker{pass: pass},
		assigned: map[types.Object][]ast.Expr{},
		encoded:  map[types.Object]leak{},
		writers:  map[types.Object]types.Object{},

		forwards:    map[*types.Func]*forwardsFact{},
		fieldValues: map[*types.Var][]ast.Expr{},
		ranged:      map[types.Object][]ast.Expr{},
	}
	c.ignores = c.readIgnores()
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)

	ins.Preorder([]ast.Node{(*ast.AssignStmt)(nil), (*ast.ValueSpec)(nil), (*ast.CompositeLit)(nil), (*ast.RangeStmt)(nil)}, func(n ast.Node) {
		c.recordAssign(n)
	})
	c.computeForwards()
	c.w.exportFacts()
	ins.Preorder([]ast.Node{(*ast.CallExpr)(nil), (*ast.AssignStmt)(nil), (*ast.ValueSpec)(nil), (*ast.CompositeLit)(nil), (*ast.StructType)(nil)}, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.CallExpr:
			c.call(n)
		case *ast.AssignStmt:
			c.assign(n.Lhs, n.Rhs)
		case *ast.ValueSpec:
			lhs := make([]ast.Expr, len(n.Names))
			for i, id := range n.Names {
				lhs[i] = id
			}
			c.assign(lhs, n.Values)
		case *ast.CompositeLit:
			c.itemLiteral(n)
		case *ast.StructType:
			if suggestions {
				c.redundantTags(n)
			}
		}
	})
	c.stores()
	return nil, nil
}

// report reports at pos unless a //cachepropvet:ignore comment silences the
// line.
func (c *checker) report(d analysis.Diagnostic) {
	p := c.pass.Fset.Position(d.Pos)
	if c.ignores[p.Filename][p.Line] {
		return
	}
	c.pass.Report(d)
}

func (c *checker) reportf(pos token.Pos, format string, args ...any) {
	c.report(analysis.Diagnostic{Pos: pos, Message: sprintf(format, args...)})
}

// qualifier writes types of the package under analysis unqualified.
func (c *checker) qualifier(p *types.Package) string {
	if p == c.pass.Pkg {
		return ""
	}
	return p.Name()
}

// leakOf reports whether the value of e, taking route r, reaches a cached
// property: by its static type, or, for an interface, by the values the
// analyzer sees put in it (a composite literal's elements, a local
// variable's assignments).
func (c *checker) leakOf(e ast.Expr, r route) (leak, bool) {
	return c.leakOfDepth(e, r, 0)
}

// maxInterfaceDepth bounds how far leakOf follows values into interfaces,
// so that variables assigned from each other cannot loop.
const maxInterfaceDepth = 8

func (c *checker) leakOfDepth(e ast.Expr, r route, depth int) (leak, bool) {
	e = ast.Unparen(e)
	t := c.pass.TypesInfo.TypeOf(e)
	if t == nil || depth > maxInterfaceDepth {
		return leak{}, false
	}
	if !types.IsInterface(t) {
		if res := c.w.walk(t, r); res.leaks {
			return leak{r, types.TypeString(t, c.qualifier), res.path}, true
		}
	}
	if l, ok := c.fieldLeak(t, r, depth); ok {
		return l, true
	}
	switch e := e.(type) {
	case *ast.UnaryExpr:
		if e.Op == token.AND {
			return c.leakOfDepth(e.X, r, depth)
		}
	case *ast.CallExpr:
		// A conversion to an interface, such as any(v).
		if tv, ok := c.pass.TypesInfo.Types[e.Fun]; ok && tv.IsType() && len(e.Args) == 1 {
			return c.leakOfDepth(e.Args[0], r, depth+1)
		}
	case *ast.Ident:
		if !types.IsInterface(t) {
			break
		}
		for _, v := range c.assigned[c.pass.TypesInfo.ObjectOf(e)] {
			if l, ok := c.leakOfDepth(v, r, depth+1); ok {
				return l, true
			}
		}
	case *ast.CompositeLit:
		return c.literalLeak(e, t, r, depth)
	}
	return leak{}, false
}

// fieldLeak follows the interface-typed fields of a struct (or pointer to
// one): a value this package puts in such a field, anywhere, may be the
// one encoded.
func (c *checker) fieldLeak(t types.Type, r route, depth int) (leak, bool) {
	st, ok := derefType(t).Underlying().(*types.Struct)
	if !ok {
		return leak{}, false
	}
	for i := range st.NumFields() {
		f := st.Field(i)
		if !types.IsInterface(f.Type()) || !writes(f, st.Tag(i), r) {
			continue
		}
		for _, v := range c.fieldValues[f] {
			if l, ok := c.leakOfDepth(v, r, depth+1); ok {
				return leak{r, types.TypeString(t, c.qualifier), "." + f.Name() + "(" + l.root + ")" + l.path}, true
			}
		}
	}
	return leak{}, false
}

// literalLeak follows the interface-typed elements of a composite literal,
// whose static type does not show what they hold.
func (c *checker) literalLeak(e *ast.CompositeLit, t types.Type, r route, depth int) (leak, bool) {
	u := t.Underlying()
	if p, ok := u.(*types.Pointer); ok {
		u = p.Elem().Underlying()
	}
	root := types.TypeString(t, c.qualifier)
	for i, elt := range e.Elts {
		var step string
		var slot types.Type
		v := elt
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			v = kv.Value
		}
		switch u := u.(type) {
		case *types.Struct:
			var f *types.Var
			var tag string
			if kv, ok := elt.(*ast.KeyValueExpr); ok {
				id, _ := kv.Key.(*ast.Ident)
				for j := range u.NumFields() {
					if id != nil && u.Field(j).Name() == id.Name {
						f, tag = u.Field(j), u.Tag(j)
					}
				}
			} else if i < u.NumFields() {
				f, tag = u.Field(i), u.Tag(i)
			}
			if f == nil || !writes(f, tag, r) {
				continue
			}
			step, slot = "."+f.Name(), f.Type()
		case *types.Slice:
			step, slot = "[]", u.Elem()
		case *types.Array:
			step, slot = "[]", u.Elem()
		case *types.Map:
			step, slot = "[]", u.Elem()
		default:
			continue
		}
		if !types.IsInterface(slot) {
			// Its static type was walked with the literal's.
			continue
		}
		if l, ok := c.leakOfDepth(v, r, depth+1); ok {
			return leak{r, root, step + "(" + l.root + ")" + l.path}, true
		}
	}
	return leak{}, false
}

// recordAssign remembers what is assigned to variables, struct fields and
// range variables, for the interface values and function values the
// analyzer follows.
func (c *checker) recordAssign(n ast.Node) {
	var lhs []ast.Expr
	var rhs []ast.Expr
	switch n := n.(type) {
	case *ast.AssignStmt:
		lhs, rhs = n.Lhs, n.Rhs
	case *ast.ValueSpec:
		for _, id := range n.Names {
			lhs = append(lhs, id)
		}
		rhs = n.Values
	case *ast.RangeStmt:
		if id, ok := n.Value.(*ast.Ident); ok {
			if obj := c.pass.TypesInfo.ObjectOf(id); obj != nil {
				c.ranged[obj] = append(c.ranged[obj], n.X)
			}
		}
		return
	case *ast.CompositeLit:
		st, ok := derefType(c.pass.TypesInfo.TypeOf(n)).Underlying().(*types.Struct)
		if !ok {
			return
		}
		for i, elt := range n.Elts {
			if kv, ok := elt.(*ast.KeyValueExpr); ok {
				if id, ok := kv.Key.(*ast.Ident); ok {
					if f, ok := c.pass.TypesInfo.ObjectOf(id).(*types.Var); ok {
						c.fieldValues[f] = append(c.fieldValues[f], kv.Value)
					}
				}
			} else if i < st.NumFields() {
				c.fieldValues[st.Field(i)] = append(c.fieldValues[st.Field(i)], elt)
			}
		}
		return
	}
	if len(rhs) == 1 && len(lhs) == 2 {
		// v, ok := m[k], and the like: v takes what m holds.
		rhs = []ast.Expr{rhs[0], nil}
	}
	if len(lhs) != len(rhs) {
		return
	}
	for i, l := range lhs {
		if rhs[i] == nil {
			continue
		}
		var obj types.Object
		switch l := ast.Unparen(l).(type) {
		case *ast.Ident:
			obj = c.pass.TypesInfo.ObjectOf(l)
		case *ast.SelectorExpr:
			if f, ok := c.pass.TypesInfo.ObjectOf(l.Sel).(*types.Var); ok && f.IsField() {
				c.fieldValues[f] = append(c.fieldValues[f], rhs[i])
			}
			continue
		}
		if v, ok := obj.(*types.Var); ok {
			c.assigned[v] = append(c.assigned[v], rhs[i])
		}
	}
}

// derefType returns what t points to, or t.
func derefType(t types.Type) types.Type {
	if t == nil {
		return types.Typ[types.Invalid]
	}
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		return p.Elem()
	}
	return t
}

// call reports a marshalling call of a leaking value (directly, through a
// function that forwards it, or through a function value that may be
// either), and remembers where encoders write.
func (c *checker) call(call *ast.CallExpr) {
	fn, _ := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if fn != nil && funcKey(fn) == storePath+".NewStore" {
		c.storeCodec(call)
	}
	var sinks []sink
	callee := ""
	if fn != nil {
		sinks = c.sinksOf(fn)
	} else if _, ok := c.pass.TypesInfo.TypeOf(call.Fun).Underlying().(*types.Signature); ok {
		if tv := c.pass.TypesInfo.Types[call.Fun]; !tv.IsType() {
			sinks = c.funcValues(call.Fun, 0)
			callee = types.ExprString(call.Fun)
		}
	}
	for _, s := range sinks {
		if s.param >= len(call.Args) {
			continue
		}
		l, ok := c.leakOf(call.Args[s.param], s.route)
		if !ok {
			continue
		}
		switch {
		case callee != "":
			c.reportf(call.Args[s.param].Pos(), "%s may be %s, which writes the cached property %s: encode with a leancache codec (%s), which strips it",
				callee, orName(s), l.field(), encoders[s.route].codec)
		case s.name != "":
			c.reportf(call.Args[s.param].Pos(), "%s passes it to %s, which writes the cached property %s: encode with a leancache codec (%s), which strips it",
				s.name, s.via, l.field(), encoders[s.route].codec)
		default:
			c.reportf(call.Args[s.param].Pos(), "%s writes the cached property %s: encode with a leancache codec (%s), which strips it",
				s.via, l.field(), encoders[s.route].codec)
			c.markEncoded(call, fn, l)
		}
		return
	}
}

// orName describes a function value's target.
func orName(s sink) string {
	if s.name == "" || s.name == s.via {
		return s.via
	}
	return s.name + " (which passes it to " + s.via + ")"
}

// markEncoded remembers the buffer an encoder call wrote a leak to.
func (c *checker) markEncoded(call *ast.CallExpr, fn *types.Func, l leak) {
	key := funcKey(fn)
	if !strings.HasSuffix(key, ".Encode") && !strings.HasSuffix(key, "MarshalToBuffer") {
		return
	}
	var dst types.Object
	if strings.HasSuffix(key, "MarshalToBuffer") && len(call.Args) > 1 {
		dst = c.bufferOf(call.Args[1])
	} else if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
		dst = c.writerOf(sel.X)
	}
	if dst != nil {
		c.encoded[dst] = l
	}
}

// storeCodec reports a NewStore[T] given, by WithCodec, a codec whose
// Marshal forwards its value to an encoder that writes T's cached
// properties: the Store then stores them.
func (c *checker) storeCodec(call *ast.CallExpr) {
	id := calleeIdent(call.Fun)
	if id == nil {
		return
	}
	inst, ok := c.pass.TypesInfo.Instances[id]
	if !ok || inst.TypeArgs.Len() != 1 {
		return
	}
	T := inst.TypeArgs.At(0)
	for _, a := range call.Args {
		opt, ok := ast.Unparen(a).(*ast.CallExpr)
		if !ok || len(opt.Args) != 1 {
			continue
		}
		wfn, _ := typeutil.Callee(c.pass.TypesInfo, opt).(*types.Func)
		if wfn == nil || funcKey(wfn) != storePath+".WithCodec" {
			continue
		}
		ct := c.pass.TypesInfo.TypeOf(opt.Args[0])
		if ct == nil || types.IsInterface(ct) {
			continue
		}
		m, _, _ := types.LookupFieldOrMethod(ct, true, nil, "Marshal")
		mfn, ok := m.(*types.Func)
		if !ok {
			continue
		}
		for _, s := range c.sinksOf(mfn) {
			if s.param != 0 {
				continue
			}
			if res := c.w.walk(T, s.route); res.leaks {
				l := leak{s.route, types.TypeString(T, c.qualifier), res.path}
				c.reportf(opt.Args[0].Pos(), "memcache.Store[%s] encodes with %s, whose Marshal passes values to %s, which writes the cached property %s: use a leancache codec (%s)",
					l.root, types.TypeString(ct, c.qualifier), s.via, l.field(), encoders[s.route].codec)
			}
		}
	}
}

// calleeIdent returns the identifier naming a called generic function.
func calleeIdent(e ast.Expr) *ast.Ident {
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		return x
	case *ast.SelectorExpr:
		return x.Sel
	case *ast.IndexExpr:
		return calleeIdent(x.X)
	case *ast.IndexListExpr:
		return calleeIdent(x.X)
	}
	return nil
}

// callName writes fn as its package name and name: json.Marshal,
// json.Encoder.Encode.
func callName(fn *types.Func) string {
	if recv := fn.Signature().Recv(); recv != nil {
		t := types.Unalias(recv.Type())
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := types.Unalias(t).(*types.Named); ok {
			return fn.Pkg().Name() + "." + n.Obj().Name() + "." + fn.Name()
		}
	}
	return fn.Pkg().Name() + "." + fn.Name()
}

// writerOf returns the buffer an encoder expression writes to: the
// argument of its constructor, directly or through a variable.
func (c *checker) writerOf(e ast.Expr) types.Object {
	e = ast.Unparen(e)
	if id, ok := e.(*ast.Ident); ok {
		return c.writers[c.pass.TypesInfo.ObjectOf(id)]
	}
	if call, ok := e.(*ast.CallExpr); ok {
		if fn, _ := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func); fn != nil && newEncoderFuncs[funcKey(fn)] && len(call.Args) == 1 {
			return c.bufferOf(call.Args[0])
		}
	}
	return nil
}

// bufferOf returns the variable behind &buf or buf.
func (c *checker) bufferOf(e ast.Expr) types.Object {
	e = ast.Unparen(e)
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = ast.Unparen(u.X)
	}
	if id, ok := e.(*ast.Ident); ok {
		return c.pass.TypesInfo.ObjectOf(id)
	}
	return nil
}

// assign remembers encoders, and encodings of leaking values, stored in
// variables, and reports a leaking encoding assigned to an Item's Value.
func (c *checker) assign(lhs, rhs []ast.Expr) {
	if len(rhs) == 1 && len(lhs) >= 1 {
		if call, ok := ast.Unparen(rhs[0]).(*ast.CallExpr); ok {
			if fn, _ := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func); fn != nil && len(call.Args) > 0 {
				key := funcKey(fn)
				id, _ := lhs[0].(*ast.Ident)
				if obj := c.pass.TypesInfo.ObjectOf(id); id != nil && obj != nil {
					if returnsBytes(fn) {
						for _, s := range c.sinksOf(fn) {
							if s.param >= len(call.Args) {
								continue
							}
							if l, ok := c.leakOf(call.Args[s.param], s.route); ok {
								c.encoded[obj] = l
								break
							}
						}
					}
					if newEncoderFuncs[key] && len(call.Args) == 1 {
						if buf := c.bufferOf(call.Args[0]); buf != nil {
							c.writers[obj] = buf
						}
					}
				}
			}
		}
	}
	if len(lhs) != len(rhs) {
		return
	}
	for i, l := range lhs {
		sel, ok := ast.Unparen(l).(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Value" || !isItem(c.pass.TypesInfo.TypeOf(sel.X)) {
			continue
		}
		c.itemValue(rhs[i])
	}
}

// returnsBytes reports whether fn's first result is a byte slice: the
// encoding, for a function that encodes.
func returnsBytes(fn *types.Func) bool {
	res := fn.Signature().Results()
	if res.Len() == 0 {
		return false
	}
	sl, ok := res.At(0).Type().Underlying().(*types.Slice)
	if !ok {
		return false
	}
	b, ok := sl.Elem().Underlying().(*types.Basic)
	return ok && b.Kind() == types.Byte
}

// isItem reports whether t is gomemcache's Item or a pointer to one.
func isItem(t types.Type) bool {
	if t == nil {
		return false
	}
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == gomemcachePath && n.Obj().Name() == "Item"
}

// itemLiteral checks the Value of a gomemcache Item literal.
func (c *checker) itemLiteral(lit *ast.CompositeLit) {
	if !isItem(c.pass.TypesInfo.TypeOf(lit)) {
		return
	}
	for _, elt := range lit.Elts {
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Value" {
				c.itemValue(kv.Value)
			}
		}
	}
}

// itemValue reports e if it holds the encoding of a leaking value: a
// variable a marshal call returned, or buf.Bytes() of a buffer an encoder
// wrote it to.
func (c *checker) itemValue(e ast.Expr) {
	e = ast.Unparen(e)
	var obj types.Object
	switch x := e.(type) {
	case *ast.Ident:
		obj = c.pass.TypesInfo.ObjectOf(x)
	case *ast.CallExpr:
		if sel, ok := ast.Unparen(x.Fun).(*ast.SelectorExpr); ok && len(x.Args) == 0 {
			obj = c.bufferOf(sel.X)
		}
	}
	l, ok := c.encoded[obj]
	if !ok || obj == nil {
		return
	}
	c.reportf(e.Pos(), "memcache.Item Value is the %s encoding of %s, cached property %s included: store it with a leancache memcache.Store, or encode with %s",
		encoders[l.route].name, l.root, l.field(), encoders[l.route].codec)
}

// stores reports every memcache.Store[T], and function instantiation that
// makes one, whose T is a struct that holds cells by value.
func (c *checker) stores() {
	seen := map[token.Pos]bool{}
	var ids []*ast.Ident
	for id := range c.pass.TypesInfo.Instances {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Pos() < ids[j].Pos() })
	for _, id := range ids {
		inst := c.pass.TypesInfo.Instances[id]
		obj := c.pass.TypesInfo.Uses[id]
		if obj == nil || obj.Pkg() == nil || obj.Pkg().Path() != storePath || seen[id.Pos()] {
			continue
		}
		for _, st := range storesIn(inst.Type) {
			arg := st.TypeArgs().At(0)
			if _, ok := types.Unalias(arg).Underlying().(*types.Struct); !ok {
				continue
			}
			res := c.w.walk(arg, byValue)
			if !res.leaks {
				continue
			}
			seen[id.Pos()] = true
			name := types.TypeString(arg, c.qualifier)
			field := name + res.path
			if res.path == "" {
				field = name + " (a cacheprop cell)"
			}
			c.reportf(id.Pos(), "memcache.Store[%s] copies the cell %s on every Get: use memcache.Store[*%s]", name, field, name)
			break
		}
	}
}

// storesIn returns the Store instances t is or returns.
func storesIn(t types.Type) []*types.Named {
	isStore := func(t types.Type) *types.Named {
		if p, ok := types.Unalias(t).(*types.Pointer); ok {
			t = p.Elem()
		}
		n, ok := types.Unalias(t).(*types.Named)
		if ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == storePath && n.Obj().Name() == "Store" && n.TypeArgs().Len() == 1 {
			return n
		}
		return nil
	}
	if n := isStore(t); n != nil {
		return []*types.Named{n}
	}
	var out []*types.Named
	if sig, ok := t.(*types.Signature); ok {
		for v := range sig.Results().Variables() {
			if n := isStore(v.Type()); n != nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// redundantTags suggests dropping json:"-"-style tags from a field that the
// cacheprop tag already keeps out of every leancache codec, when they name
// every codec that reads tags (gob reads none).
func (c *checker) redundantTags(st *ast.StructType) {
	for _, f := range st.Fields.List {
		if f.Tag == nil {
			continue
		}
		tag, ok := unquote(f.Tag.Value)
		if !ok || !cachepropast.IsTagged(tag) {
			continue
		}
		if !skippedByTag(tag, encoders[viaJSON].tags) || !skippedByTag(tag, encoders[viaMsgpack].tags) || !skippedByTag(tag, encoders[viaCBOR].tags) {
			continue
		}
		kept, dropped := dropDashTags(tag)
		c.report(analysis.Diagnostic{
			Pos:      f.Tag.Pos(),
			End:      f.Tag.End(),
			Category: "suggestion",
			Message:  sprintf("suggestion: the cacheprop tag already strips this field in every leancache codec; %s only matter to direct encoding, which cachepropvet reports", strings.Join(dropped, " ")),
			SuggestedFixes: []analysis.SuggestedFix{{
				Message:   "drop " + strings.Join(dropped, " "),
				TextEdits: []analysis.TextEdit{{Pos: f.Tag.Pos(), End: f.Tag.End(), NewText: []byte("`" + kept + "`")}},
			}},
		})
	}
}
