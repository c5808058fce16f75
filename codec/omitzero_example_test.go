package codec_test

import (
	"fmt"

	"github.com/leancache/leancache/codec"
)

// Draft holds a Post by value under omitzero: the field is left out
// exactly when its data is zero, whatever its cached properties hold, as
// encoding/json leaves out a field of a type that lacks them.
type Draft struct {
	ID   int  `json:"id"`
	Post Post `json:"post,omitzero"`
}

func Example_omitzero() {
	d := &Draft{ID: 1, Post: Post{HTML: "<p>rendered from an older body</p>"}}
	d.Post.WordCount()
	data, err := codec.JSON.Marshal(d)
	fmt.Println(string(data), err)

	d.Post.Title = "Hello"
	data, err = codec.JSON.Marshal(d)
	fmt.Println(string(data), err)
	// Output:
	// {"id":1} <nil>
	// {"id":1,"post":{"title":"Hello","body":""}} <nil>
}
