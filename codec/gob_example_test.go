package codec_test

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"strings"

	"github.com/leancache/leancache/cacheprop"
	"github.com/leancache/leancache/codec"
)

// Article keeps its rendered page with it; plain gob would refuse it
// because Words is an exported Lazy.
type Article struct {
	Title string
	Body  string
	HTML  string `cacheprop:"cached"`
	Words cacheprop.Lazy[int]
}

// ArticleTwin is Article without its cached properties.
type ArticleTwin struct {
	Title string
	Body  string
}

func ExampleGob() {
	a := &Article{Title: "Gob", Body: "small data, big page"}
	a.HTML = strings.Repeat("<p>rendered</p>", 1000)
	a.Words.Get(func() int { return len(strings.Fields(a.Body)) })

	data, err := codec.Gob.Marshal(a)
	if err != nil {
		panic(err)
	}
	fmt.Println("rendered page written:", bytes.Contains(data, []byte("<p>")))

	// Plain encoding/gob reads it as the type without cached fields.
	var twin ArticleTwin
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&twin); err != nil {
		panic(err)
	}
	fmt.Printf("plain gob: %+v\n", twin)

	var back Article
	if err := codec.Gob.Unmarshal(data, &back); err != nil {
		panic(err)
	}
	_, computed := back.Words.Peek()
	fmt.Printf("decoded: %q, HTML %q, Words computed: %v\n", back.Title, back.HTML, computed)
	// Output:
	// rendered page written: false
	// plain gob: {Title:Gob Body:small data, big page}
	// decoded: "Gob", HTML "", Words computed: false
}
