// Package cachepropvet is a go/analysis analyzer that catches cached
// properties (see package cacheprop) on their way out of the program by a
// road that does not strip them. leancache's codecs leave every field
// tagged `cacheprop:"..."` and every cacheprop cell (Lazy, Memo, ...) out
// of what they write; nothing stops the same value from reaching
// json.Marshal, or a hand-built gomemcache Item, with its derived data
// riding along until memcached refuses the item. The analyzer reports,
// each time with the field path that leaks (Order.Lines[].Total):
//
//   - a value whose type reaches a cached property, through pointers,
//     slices, arrays, maps, embedding, generic instances and aliases, or
//     through an interface whose contents the analyzer can see (a
//     composite literal's elements, what a local variable is assigned, what
//     the package puts in an interface-typed struct field),
//     passed to encoding/json (Marshal, MarshalIndent, Encoder.Encode),
//     encoding/gob (Encoder.Encode), msgpack v5 (Marshal, Encoder.Encode)
//     or cbor v2 (Marshal, MarshalToBuffer, Encoder.Encode, EncMode's
//     Marshal) instead of a leancache codec. Each encoder's own rules
//     apply: a field it skips (unexported, or tagged "-" for it) does not
//     leak to it, and a type with its marshaler methods decides for
//     itself.
//     The same holds for a call of a function that passes a parameter of
//     interface or type parameter type on to such an encoder (a fact
//     records it, so wrappers in other packages count), and for a call
//     through a function value the analyzer sees the possible targets of
//     (a variable, a struct field set in the package's literals, a map or
//     slice of encoders, a function literal);
//   - such an encoding used as a gomemcache Item's Value (the variable a
//     Marshal returned, or buf.Bytes() of the buffer an Encoder wrote);
//   - memcache.NewStore[T] given, by memcache.WithCodec, a codec whose
//     Marshal passes values on to such an encoder, when T leaks through it;
//   - memcache.Store[T], or a call such as memcache.NewStore[T], with T a
//     struct (not a pointer) that holds cells: every Get would copy them;
//   - as a suggestion (category "suggestion", with a fix; -suggestions=false
//     turns it off), a cacheprop-tagged field that also carries
//     json:"-"-style tags for every codec that reads tags: the cacheprop tag
//     already strips it.
//
// It exports a fact for every package-level type that reaches a cached
// property, and for every function that forwards a value to an encoder, so
// a type or function from another package is judged by that package's own
// analysis. What it does not see it does not report: values other packages
// put in interface fields, function values passed in as parameters,
// reflection.
//
// # Deliberate leaks
//
// A line that leaks on purpose (an example comparing sizes with and without
// stripping) is silenced by a comment that gives a reason, at the end of
// the line or alone on the line before:
//
//	data, _ := json.Marshal(order) //cachepropvet:ignore shows the unstripped size
//
// A directive without a reason silences nothing and is itself reported.
//
// # Running it
//
// As a vet tool:
//
//	go install github.com/leancache/leancache/cmd/cachepropvet@latest
//	go vet -vettool=$(which cachepropvet) ./...
//
// or on its own: cachepropvet ./... (add -fix to apply the suggestions).
//
// # golangci-lint
//
// The module github.com/leancache/leancache/cacheprop/cachepropvet/golangci
// registers the analyzer as a golangci-lint module plugin (it is a module
// of its own, so the core module does not depend on the plugin
// registration). Build a custom golangci-lint with .custom-gcl.yml:
//
//	version: v2.5.0
//	plugins:
//	  - module: github.com/leancache/leancache/cacheprop/cachepropvet/golangci
//	    import: github.com/leancache/leancache/cacheprop/cachepropvet/golangci
//	    version: latest
//
// then run golangci-lint custom, and enable it in .golangci.yml:
//
//	version: "2"
//	linters:
//	  enable:
//	    - cachepropvet
//	  settings:
//	    custom:
//	      cachepropvet:
//	        type: module
//	        description: cached properties that leak past leancache's codecs
//	        settings:
//	          suggestions: true
package cachepropvet
