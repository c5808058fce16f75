package codec

import (
	"errors"
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
