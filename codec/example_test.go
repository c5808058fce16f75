package codec_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
)

// Post is a domain object with two cached properties: rendered HTML,
// tagged, and a word count, a Lazy.
type Post struct {
	Title string              `json:"title" msgpack:"title" cbor:"1,keyasint"`
	Body  string              `json:"body" msgpack:"body" cbor:"2,keyasint"`
	HTML  string              `json:"html" msgpack:"html" cbor:"3,keyasint" cacheprop:"cached"`
	Words cacheprop.Lazy[int] `json:"words"`
}

// WordCount is the cached word count, computed on first use.
func (a *Post) WordCount() int {
	return a.Words.Get(func() int { return len(strings.Fields(a.Body)) })
}

func ExampleJSON() {
	a := &Post{Title: "Hello", Body: "one two three", HTML: "<h1>Hello</h1><p>one two three</p>"}
	a.WordCount()

	data, err := codec.JSON.Marshal(a)
	fmt.Println(string(data), err)

	// Decoding into a value whose cached properties were computed leaves
	// them not computed: they belonged to the old data.
	back := &Post{HTML: "<h1>stale</h1>"}
	back.Words.Set(99)
	err = codec.JSON.Unmarshal(data, back)
	_, computed := back.Words.Peek()
	fmt.Printf("%q %q %v %v\n", back.Title, back.HTML, computed, err)
	fmt.Println(back.WordCount())
	// Output:
	// {"title":"Hello","body":"one two three"} <nil>
	// "Hello" "" false <nil>
	// 3
}

func ExampleMsgpack() {
	a := &Post{Title: "Hello", Body: "one two three", HTML: strings.Repeat("<p>rendered</p>", 100)}
	data, err := codec.Msgpack.Marshal(a)
	fmt.Println(len(data), err)
	var back Post
	fmt.Println(codec.Msgpack.Unmarshal(data, &back), back.Body)
	// Output:
	// 32 <nil>
	// <nil> one two three
}

func ExampleCBOR() {
	a := &Post{Title: "Hello", Body: "one two three", HTML: "<h1>Hello</h1>"}
	data, err := codec.CBOR.Marshal(a)
	fmt.Printf("%x %v\n", data, err)
	// Output:
	// a2016548656c6c6f026d6f6e652074776f207468726565 <nil>
}

// Session values are held in interfaces; what they hold is stripped too.
func ExampleJSON_interfaceFields() {
	session := map[string]any{
		"user":    &Post{Title: "Hello", HTML: "<h1>Hello</h1>"},
		"visits":  3,
		"history": []any{Post{Title: "Older", HTML: "<h1>Older</h1>"}},
	}
	data, err := codec.JSON.Marshal(session)
	fmt.Println(string(data), err)
	// Output:
	// {"history":[{"title":"Older","body":""}],"user":{"title":"Hello","body":""},"visits":3} <nil>
}

func ExampleUnsupportedTypeError() {
	type key struct {
		ID   int
		Hash string `cacheprop:"cached"`
	}
	type index struct {
		ByKey map[key]string
	}
	_, err := codec.JSON.Marshal(index{})
	var ute *codec.UnsupportedTypeError
	if errors.As(err, &ute) {
		fmt.Println(ute.Codec, ute.Path)
		fmt.Println(err)
	}
	// Output:
	// json .ByKey
	// codec: json: unsupported type codec_test.index at .ByKey: map key type codec_test.key holds cached properties
}

func ExampleByName() {
	for _, name := range []string{"json", "msgpack", "cbor"} {
		c, ok := codec.ByName(name)
		data, _ := c.Marshal(&Post{Title: "T", HTML: "<h1>T</h1>"})
		fmt.Println(ok, c.Name(), len(data))
	}
	// Output:
	// true json 23
	// true msgpack 15
	// true cbor 6
}
