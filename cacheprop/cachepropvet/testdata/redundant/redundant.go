// Package redundant has cacheprop fields whose other tags repeat what the
// cacheprop tag already does, and some whose tags do not.
package redundant

// Doc is a document with derived fields.
type Doc struct { // want Doc:"leaks json:.Dash gob:.Words msgpack:.Sum cbor:.Dash"
	Title string
	// Both tag-reading codecs skip it: the suggestion drops both tags.
	Words int `cacheprop:"" json:"-" msgpack:"-"` // want `suggestion: the cacheprop tag already strips this field in every leancache codec; json:"-" msgpack:"-" only matter`
	// cbor:"-" is redundant too, and other keys stay.
	HTML string `db:"html" cacheprop:"x" cbor:"-" json:"-" msgpack:"-"` // want `suggestion: .*cbor:"-" json:"-" msgpack:"-"`
	// msgpack still writes it: nothing redundant.
	Sum string `cacheprop:"" json:"-"`
	// Not a cached property: its tags are all it has.
	Secret string `json:"-" msgpack:"-"`
	// json:"-," names a field "-": not a skip.
	Dash string `cacheprop:"" json:"-," msgpack:"-"`
}
