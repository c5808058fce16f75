package cachewrap

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/tools/go/packages"
)

// source is the loaded type whose methods are wrapped.
type source struct {
	pkg   *packages.Package
	named *types.Named
	// iface is the interface when the type is one; nil for a named type
	// whose method set is wrapped.
	iface *types.Interface
	// next is the type the wrapper forwards to: the interface, or *T when
	// any method of T has a pointer receiver.
	next    types.Type
	methods []*types.Func
	// docs holds each method's directives, by the position of its name.
	docs map[token.Pos][]*ast.CommentGroup
}

func load(cfg *Config) (*source, error) {
	mode := packages.NeedName | packages.NeedFiles | packages.NeedTypes | packages.NeedSyntax | packages.NeedTypesInfo
	pkgs, err := packages.Load(&packages.Config{Mode: mode, Dir: cfg.Dir}, cfg.Package)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrLoad, cfg.Package, err)
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("%w %s: the pattern matches %d packages, want one", ErrLoad, cfg.Package, len(pkgs))
	}
	pkg := pkgs[0]
	// Type errors elsewhere in the package are tolerated: the package
	// that will hold the wrapper usually refers to it before it exists.
	// Only errors that touch the wrapped type's methods stop the run.
	failed := func() error {
		msgs := make([]string, len(pkg.Errors))
		for i, e := range pkg.Errors {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("%w %s: %s", ErrLoad, cfg.Package, strings.Join(msgs, "; "))
	}
	if pkg.Types == nil || len(pkg.Syntax) == 0 {
		return nil, failed()
	}
	obj := pkg.Types.Scope().Lookup(cfg.Type)
	tn, ok := obj.(*types.TypeName)
	if !ok {
		if len(pkg.Errors) > 0 {
			return nil, failed()
		}
		return nil, fmt.Errorf("%w: %s has no type %s", ErrType, pkg.PkgPath, cfg.Type)
	}
	named, ok := tn.Type().(*types.Named)
	if !ok {
		return nil, fmt.Errorf("%w: %s.%s is an alias; name the type it stands for", ErrType, pkg.Name, cfg.Type)
	}
	src := &source{pkg: pkg, named: named, docs: map[token.Pos][]*ast.CommentGroup{}}
	// A generic type is used instantiated with its own type parameters,
	// which the wrapper declares under the same names: Repo[K, V].
	var t types.Type = named
	if tps := named.TypeParams(); tps.Len() > 0 {
		targs := make([]types.Type, tps.Len())
		for i := range targs {
			targs[i] = tps.At(i)
		}
		if t, err = types.Instantiate(nil, named, targs, false); err != nil {
			return nil, fmt.Errorf("%w: %s.%s: %v", ErrType, pkg.Name, cfg.Type, err)
		}
	}
	if it, ok := t.Underlying().(*types.Interface); ok {
		src.iface = it
		src.next = t
		for i := 0; i < it.NumMethods(); i++ {
			src.methods = append(src.methods, it.Method(i))
		}
	} else {
		// The wrapper forwards to *T when some method has a pointer
		// receiver, as the method set of T then lacks it.
		ms := types.NewMethodSet(types.NewPointer(t))
		for i := 0; i < ms.Len(); i++ {
			src.methods = append(src.methods, ms.At(i).Obj().(*types.Func))
		}
		src.next = t
		if types.NewMethodSet(t).Len() < ms.Len() {
			src.next = types.NewPointer(t)
		}
	}
	for _, fn := range src.methods {
		if strings.Contains(types.TypeString(fn.Type(), nil), "invalid type") {
			return nil, failed()
		}
	}
	if len(src.methods) == 0 {
		return nil, fmt.Errorf("%w: %s.%s has no methods", ErrType, pkg.Name, cfg.Type)
	}
	sort.Slice(src.methods, func(i, j int) bool { return src.methods[i].Name() < src.methods[j].Name() })
	for _, f := range pkg.Syntax {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.InterfaceType:
				for _, fld := range n.Methods.List {
					for _, name := range fld.Names {
						src.docs[name.Pos()] = []*ast.CommentGroup{fld.Doc, fld.Comment}
					}
				}
			case *ast.FuncDecl:
				if n.Recv != nil {
					src.docs[n.Name.Pos()] = []*ast.CommentGroup{n.Doc}
				}
			}
			return true
		})
	}
	return src, nil
}

// outputPackage works out the package the generated file belongs to: the
// source package when it is written into the source package's directory,
// otherwise the package of the other Go files there, or one named after the
// directory.
func outputPackage(cfg *Config, src *source) (name string, same bool, err error) {
	out, err := filepath.Abs(filepath.Join(cfg.Dir, cfg.Output))
	if cfg.Output == "" || filepath.IsAbs(cfg.Output) {
		out, err = filepath.Abs(cfg.Output)
	}
	if err != nil {
		return "", false, err
	}
	outDir := filepath.Dir(out)
	if len(src.pkg.GoFiles) > 0 && filepath.Dir(src.pkg.GoFiles[0]) == outDir {
		return src.pkg.Name, true, nil
	}
	if cfg.OutputPackage != "" {
		return cfg.OutputPackage, false, nil
	}
	entries, _ := os.ReadDir(outDir)
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || filepath.Join(outDir, n) == out {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(outDir, n), nil, parser.PackageClauseOnly)
		if err == nil {
			return f.Name.Name, false, nil
		}
	}
	base := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			return unicode.ToLower(r)
		}
		return -1
	}, filepath.Base(outDir))
	if base == "" || !unicode.IsLetter(rune(base[0])) {
		return "", false, fmt.Errorf("%w: cannot tell the output package's name; set it", ErrOption)
	}
	return base, false, nil
}
