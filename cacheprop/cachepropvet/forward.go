package cachepropvet

import (
	"go/ast"
	"go/types"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// codecPath is leancache's codec package: its functions strip cached
// properties before they reach an encoder, whatever their bodies look like.
const codecPath = "github.com/leancache/leancache/codec"

// forwardsFact is exported for a function or method that passes one of its
// parameters, unchanged, to an encoder that does not strip cached
// properties (directly or through another such function): a call of it is
// judged as a call of that encoder. Routes[i] is 1+route for parameter i,
// 0 when that parameter goes nowhere.
type forwardsFact struct {
	Routes []int
	Via    string // the encoder, as json.Marshal
}

// AFact marks forwardsFact as an analysis fact.
func (*forwardsFact) AFact() {}

func (f *forwardsFact) String() string {
	var b strings.Builder
	b.WriteString("forwards")
	for i, r := range f.Routes {
		if r != 0 {
			b.WriteString(sprintf(" %d:%s", i, encoders[r-1].name))
		}
	}
	return b.String() + " via " + f.Via
}

// sink is one argument of a call that reaches an encoder.
type sink struct {
	param int
	route route
	via   string // the encoder the argument reaches, as json.Marshal
	name  string // the function called, when it is not the encoder itself
}

// sinksOf returns where the arguments of a call of fn go.
func (c *checker) sinksOf(fn *types.Func) []sink {
	if r, ok := marshalFuncs[funcKey(fn)]; ok {
		return []sink{{0, r, callName(fn), ""}}
	}
	f := c.forwards[fn]
	if f == nil && fn.Pkg() != c.pass.Pkg {
		f = new(forwardsFact)
		if !c.pass.ImportObjectFact(fn.Origin(), f) {
			f = nil
		}
	}
	if f == nil {
		return nil
	}
	var out []sink
	for i, r := range f.Routes {
		if r != 0 {
			out = append(out, sink{i, route(r - 1), f.Via, fn.Name()})
		}
	}
	return out
}

// maxForwardRounds bounds the rounds of computeForwards.
const maxForwardRounds = 16

// computeForwards finds the package's functions that forward a parameter to
// an encoder, until no more are found (one may forward through another),
// and exports facts for those other packages can call.
func (c *checker) computeForwards() {
	if c.pass.Pkg.Path() == codecPath {
		return
	}
	type body struct {
		fn   *types.Func
		sig  *types.Signature
		body *ast.BlockStmt
	}
	var bodies []body
	for _, f := range c.pass.Files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := c.pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
					bodies = append(bodies, body{fn, fn.Signature(), fd.Body})
				}
			}
		}
	}
	// Each round can only add what a function forwards; the bound is a
	// guard, deeper chains of wrappers than it are not worth the time.
	for changed, round := true, 0; changed && round < maxForwardRounds; round++ {
		changed = false
		for _, b := range bodies {
			if f := c.forwardsOf(b.sig, b.body); f != nil && (c.forwards[b.fn] == nil || f.String() != c.forwards[b.fn].String()) {
				c.forwards[b.fn] = f
				changed = true
			}
		}
	}
	for _, b := range bodies {
		if f := c.forwards[b.fn]; f != nil {
			c.pass.ExportObjectFact(b.fn, f)
		}
	}
}

// forwardsOf returns what a function body with this signature forwards, or
// nil. A parameter of interface or type parameter type counts, and only if the body never assigns it, so that a
// value it replaces (with a stripped view, say) is not taken for it.
func (c *checker) forwardsOf(sig *types.Signature, body *ast.BlockStmt) *forwardsFact {
	// Only a parameter whose type does not tell counts: a concrete one
	// that leaks is reported inside already.
	params := map[types.Object]int{}
	for i := range sig.Params().Len() {
		p := sig.Params().At(i)
		if _, tp := types.Unalias(p.Type()).(*types.TypeParam); tp || types.IsInterface(p.Type()) {
			params[p] = i
		}
	}
	if len(params) == 0 {
		return nil
	}
	ast.Inspect(body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok {
			for _, l := range as.Lhs {
				if id, ok := ast.Unparen(l).(*ast.Ident); ok {
					delete(params, c.pass.TypesInfo.ObjectOf(id))
				}
			}
		}
		return true
	})
	f := &forwardsFact{Routes: make([]int, sig.Params().Len())}
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false // it runs who knows when
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		fn, _ := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
		if fn == nil {
			return true
		}
		for _, s := range c.sinksOf(fn) {
			if s.param >= len(call.Args) {
				continue
			}
			id, ok := ast.Unparen(call.Args[s.param]).(*ast.Ident)
			if !ok {
				continue
			}
			if i, ok := params[c.pass.TypesInfo.ObjectOf(id)]; ok && f.Routes[i] == 0 {
				f.Routes[i] = int(s.route) + 1
				f.Via = s.via
				found = true
			}
		}
		return true
	})
	if !found {
		return nil
	}
	return f
}

// funcValues returns the functions the analyzer sees a function-typed
// expression may hold: a function named directly or as a method value, a
// variable's assignments, a struct field's values in the package's
// literals, a collection's elements, a function literal.
func (c *checker) funcValues(e ast.Expr, depth int) []sink {
	if depth > maxInterfaceDepth {
		return nil
	}
	e = ast.Unparen(e)
	switch x := e.(type) {
	case *ast.FuncLit:
		sig, _ := c.pass.TypesInfo.TypeOf(x).(*types.Signature)
		if sig == nil {
			return nil
		}
		if f := c.forwardsOf(sig, x.Body); f != nil {
			var out []sink
			for i, r := range f.Routes {
				if r != 0 {
					out = append(out, sink{i, route(r - 1), f.Via, "a function literal"})
				}
			}
			return out
		}
		return nil
	case *ast.IndexExpr:
		var out []sink
		for _, el := range c.elements(x.X, depth+1) {
			out = append(out, c.funcValues(el, depth+1)...)
		}
		return out
	}
	var obj types.Object
	switch x := e.(type) {
	case *ast.Ident:
		obj = c.pass.TypesInfo.Uses[x]
	case *ast.SelectorExpr:
		obj = c.pass.TypesInfo.Uses[x.Sel]
	}
	switch obj := obj.(type) {
	case *types.Func:
		return c.sinksOf(obj)
	case *types.Var:
		var out []sink
		srcs := c.assigned[obj]
		if obj.IsField() {
			srcs = c.fieldValues[obj]
		}
		for _, v := range srcs {
			out = append(out, c.funcValues(v, depth+1)...)
		}
		for _, coll := range c.ranged[obj] {
			for _, el := range c.elements(coll, depth+1) {
				out = append(out, c.funcValues(el, depth+1)...)
			}
		}
		return out
	}
	return nil
}

// elements returns the element expressions of the composite literals a
// collection expression is seen to hold.
func (c *checker) elements(e ast.Expr, depth int) []ast.Expr {
	if depth > maxInterfaceDepth {
		return nil
	}
	e = ast.Unparen(e)
	if lit, ok := e.(*ast.CompositeLit); ok {
		var out []ast.Expr
		for _, el := range lit.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				el = kv.Value
			}
			out = append(out, el)
		}
		return out
	}
	var out []ast.Expr
	if id, ok := e.(*ast.Ident); ok {
		for _, v := range c.assigned[c.pass.TypesInfo.ObjectOf(id)] {
			out = append(out, c.elements(v, depth+1)...)
		}
	}
	return out
}
