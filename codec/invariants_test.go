package codec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// poolNode is a recursive type with a cached property: its view needs a slot.
type poolNode struct {
	Next  *poolNode
	Value int
	Memo  string `cacheprop:"memo"`
}

// poolKey holds a cached property, so a map keyed by it cannot be stripped.
type poolKey struct {
	K    int
	Memo string `cacheprop:"memo"`
}

// failingAfterSlot returns a distinct struct type (told apart by pad's
// length) whose view build takes a slot for *poolNode and then fails on a
// map keyed by a type holding cached properties.
func failingAfterSlot(pad int) reflect.Type {
	return reflect.StructOf([]reflect.StructField{
		{Name: "Node", Type: reflect.TypeFor[*poolNode]()},
		{Name: "Bad", Type: reflect.TypeFor[map[poolKey]int]()},
		{Name: "Pad", Type: reflect.ArrayOf(pad, reflect.TypeFor[byte]())},
	})
}

// Invariant: a failed build returns everything it took. 300 types whose
// builds fail after taking a slot must leave the pool as it was, so a new
// recursive type still builds.
func TestFailedBuildReturnsItsSlots(t *testing.T) {
	for _, c := range []Codec{JSON, Msgpack, CBOR} {
		t.Run(c.Name(), func(t *testing.T) {
			before := ptrSlotsUsed()
			for i := range 300 {
				v := reflect.New(failingAfterSlot(i)).Interface()
				_, err := c.Marshal(v)
				var ute *UnsupportedTypeError
				if !errors.As(err, &ute) || !strings.Contains(ute.Reason, "map key") {
					t.Fatalf("type %d: Marshal error %v, want the map key's UnsupportedTypeError", i, err)
				}
			}
			if after := ptrSlotsUsed(); after != before {
				t.Fatalf("300 failed builds keep %d slots", after-before)
			}
			type fresh struct {
				Left, Right *fresh
				Memo        string `cacheprop:"memo"`
			}
			if _, err := c.Marshal(&fresh{Left: &fresh{}}); err != nil {
				t.Fatalf("a new recursive type after 300 failed builds: %v", err)
			}
		})
	}
}

// ptrSlotsUsed counts the pointer slots in use.
func ptrSlotsUsed() int {
	slotMu.Lock()
	defer slotMu.Unlock()
	n := 0
	for _, si := range ptrSlots.infos {
		if si != nil {
			n++
		}
	}
	return n
}

// Invariant: only reflect's own panics are recovered. A panic of ours
// during a build goes on to the caller, and the build still gives back
// what it took and its lock.
func TestBuildRecoversOnlyReflectPanics(t *testing.T) {
	d := msgpackDialect
	d.classify = func(sf reflect.StructField) fieldClass {
		if sf.Name == "Value" {
			panic("a bug of ours")
		}
		return msgpackClassify(sf)
	}
	s := newStripper(&d)
	before := ptrSlotsUsed()
	func() {
		defer func() {
			if r := recover(); r != "a bug of ours" {
				t.Fatalf("recovered %v, want our own panic to go on", r)
			}
		}()
		s.encEntry(reflect.TypeFor[poolNode]())
		t.Fatal("the build did not panic")
	}()
	if after := ptrSlotsUsed(); after != before {
		t.Fatalf("the panicking build keeps %d slots", after-before)
	}
	if !s.mu.TryLock() {
		t.Fatal("the panicking build keeps the stripper's lock")
	}
	s.mu.Unlock()

	// reflect's own panics become an UnsupportedTypeError.
	d.classify = func(sf reflect.StructField) fieldClass {
		reflect.ValueOf(0).Elem() // panics with a *reflect.ValueError
		return classField
	}
	e := newStripper(&d).encEntry(reflect.TypeFor[poolNode]())
	var ute *UnsupportedTypeError
	if !errors.As(e.err, &ute) || !strings.Contains(ute.Reason, "reflect cannot build its view") {
		t.Fatalf("a reflect panic gives %v, want an UnsupportedTypeError", e.err)
	}
}

// A failed build's error is cached only when the type itself is at fault:
// an empty slot pool is not cached, so the type builds once slots are free.
func TestExhaustedPoolIsNotCached(t *testing.T) {
	type exhaust struct {
		Next *exhaust
		Memo string `cacheprop:"memo"`
	}
	var held []slotRef
	slotMu.Lock()
	for {
		i := ptrSlots.take(&slotInfo{})
		if i < 0 {
			break
		}
		held = append(held, slotRef{&ptrSlots, i})
	}
	slotMu.Unlock()
	_, err := JSON.Marshal(&exhaust{})
	releaseSlots(held)
	if err == nil || !strings.Contains(err.Error(), "more than 256") {
		t.Fatalf("Marshal with every slot taken: %v, want the pool's error", err)
	}
	if _, err := JSON.Marshal(&exhaust{Next: &exhaust{}}); err != nil {
		t.Fatalf("Marshal once slots are free again: %v (the error was cached)", err)
	}
	// The type's own fault is cached: the second call finds the entry.
	bad := reflect.TypeFor[struct{ Bad map[poolKey]int }]()
	first := jsonStrip.encEntry(reflect.PointerTo(bad))
	if first.err == nil || jsonStrip.encEntry(reflect.PointerTo(bad)) != first {
		t.Fatalf("a deterministic type error is not cached: %v", first.err)
	}
}

// Invariant: a view has its type's size, alignment and field offsets, down
// through every struct it holds, for every type of the corpus and codec.
func TestViewsKeepTheLayout(t *testing.T) {
	var check func(t *testing.T, orig, view reflect.Type, seen map[reflect.Type]bool)
	check = func(t *testing.T, orig, view reflect.Type, seen map[reflect.Type]bool) {
		if orig == view || seen[view] {
			return
		}
		seen[view] = true
		if slotOf(view) != nil || wrapperTypes[view] {
			// A wrapper stands for a field of its layout: one word, or a
			// slice header.
			if view.Size() != orig.Size() || view.Align() != orig.Align() {
				t.Errorf("wrapper %v for %v has another size or alignment", view, orig)
			}
			return
		}
		if hosted(view) == orig {
			// A cached field's host (omitzero.go): its room, not its
			// layout, is the struct's, which sameLayout checks.
			return
		}
		if orig.Kind() != view.Kind() {
			t.Fatalf("view %v of %v has another kind", view, orig)
		}
		switch orig.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			check(t, orig.Elem(), view.Elem(), seen)
		case reflect.Struct:
			if err := sameLayout(orig, view); err != nil {
				t.Error(err)
			}
			for i := 0; i < orig.NumField(); i++ {
				check(t, orig.Field(i).Type, view.Field(i).Type, seen)
			}
		}
	}
	views := 0
	for _, c := range rawCorpus() {
		typ := reflect.TypeOf(c.Value())
		for _, s := range []*stripper{jsonStrip, msgpackStrip, cborStrip} {
			for _, e := range []*entry{s.encEntry(typ), s.decEntry(typ)} {
				if e.err != nil || e.view == nil {
					continue
				}
				views++
				check(t, typ, e.view, map[reflect.Type]bool{})
			}
		}
	}
	if views == 0 {
		t.Fatal("no views built")
	}
	// And the check does see a moved field.
	a := reflect.TypeFor[struct {
		A, B int8
		C    int64
	}]()
	b := reflect.TypeFor[struct {
		A int16
		B int8
		C int64
	}]()
	if sameLayout(a, b) == nil {
		t.Fatal("sameLayout misses a moved field")
	}
}

// Invariant: a slot's information is published before any view using it:
// goroutines that build a new recursive type at once and encode with it
// at once find every slot filled (and -race finds no unordered access).
func TestSlotInfoIsPublishedFirst(t *testing.T) {
	type published struct {
		Next *published
		Memo string `cacheprop:"memo"`
		N    int
	}
	done := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := JSON.Marshal(&published{Next: &published{N: 1}})
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	e := jsonStrip.encEntry(reflect.TypeFor[*published]())
	if e.view == nil {
		t.Fatal("no view")
	}
	var walk func(v reflect.Type, seen map[reflect.Type]bool)
	walk = func(v reflect.Type, seen map[reflect.Type]bool) {
		if seen[v] {
			return
		}
		seen[v] = true
		if si := slotOf(v); si != nil {
			if si.view == nil {
				t.Fatalf("published slot %v has no view", v)
			}
			walk(si.view, seen)
			return
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			walk(v.Elem(), seen)
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i).Type, seen)
			}
		}
	}
	walk(e.view, map[reflect.Type]bool{})
}

// slots_list.go is what gen_slots.go writes, and entry i of each list is
// the slot of index i (slotAt finds a slot by its type's array length).
func TestSlotListIsGenerated(t *testing.T) {
	for i := range slotCount {
		for _, typ := range []reflect.Type{ptrSlotTypes[i], sliceSlotTypes[i]} {
			if r, ok := slotIndex[typ]; !ok || r.i != i {
				t.Fatalf("entry %d is %v, indexed %v", i, typ, r.i)
			}
			if want := fmt.Sprintf("[[%d]struct {}]", i); !strings.HasSuffix(typ.Name(), want) {
				t.Fatalf("entry %d is %v, want the instance of %s", i, typ, want)
			}
		}
	}
	if testing.Short() {
		t.Skip("go run gen_slots.go: not in -short")
	}
	out, err := exec.Command("go", "run", "gen_slots.go", "-stdout").Output()
	if err != nil {
		t.Fatalf("go run gen_slots.go: %v", err)
	}
	file, err := os.ReadFile("slots_list.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, file) {
		t.Fatal("slots_list.go is not what gen_slots.go writes: run go generate")
	}
}
