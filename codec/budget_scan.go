package codec

import (
	"strings"
	"unicode/utf8"
)

// The pre-scan of the self-describing formats (msgpack, CBOR): before the
// library decodes anything, walk the input alongside the cost plan of the
// target's type, add up what decoding it would allocate (a slice's
// elements, a map's entries, a string's bytes, a pointee, what an interface
// gets) and refuse it with a *BudgetError as soon as that exceeds the
// budget, or as soon as it nests deeper than the budget allows. The whole
// input is walked once, from the top, so the limits hold across the
// codec's re-entries into the library through slots and boxes, which
// restart the library's own counts.

// itemClass is what a format's header announces.
type itemClass uint8

const (
	itemScalar itemClass = iota // a number, bool or other fixed value
	itemInt                     // an integer whose value is in ival
	itemNil                     // nil, null, undefined
	itemText                    // a string of n bytes at start (start < 0: chunked)
	itemBytes                   // binary or extension data of n bytes
	itemArray                   // n items follow (n < 0: until a break)
	itemMap                     // n pairs follow (n < 0: until a break)
	itemTag                     // one item follows (CBOR tags)
	itemBreak                   // the end of an indefinite-length item
)

type scanItem struct {
	class itemClass
	n     int64
	start int
	ival  int64
}

// A budgetScan is one pre-scan of one input.
type budgetScan struct {
	data []byte
	pos  int
	// format is the input's; see head.
	format   scanFormat
	codec    string
	plan     *costPlan
	cost     int64
	max      int64
	depth    int
	maxDepth int
	// keys, when set, are names watched for among map keys (see
	// watchKey); keyHit says one was met.
	keys   []string
	keyHit bool
	// keyFilter turns most other keys away quickly.
	keyFilter keyFilter
	// counts are what count adds up per item: [0] for values, [1] for
	// map keys.
	counts [2]countCosts
	// bound is count's: see count.
	bound int64
}

// countCosts are a classCosts in the form count adds up: per item of a
// class, and per element or entry a container declares.
type countCosts struct {
	scalar, text, tag     int64
	arrayFixed, arrayElem int64
	mapFixed, mapEntry    int64
}

// counting returns c's costs as count adds them up, for a format whose
// library allocates a slice copies times. Each is a linear bound of the
// class's charge: allocSize(n) <= 16 + n + n/4 (n <= 16: 16; up to 32
// KiB: n + n/8; beyond, whole 8 KiB pages, less than n/4 over), so a
// string is charged text plus 5/4 of its bytes, a slice of count
// elements copies·(16 + count·(slice + slice/4 rounded up)).
func (c *classCosts) counting(copies int64, cbor bool) countCosts {
	per := copies * (c.slice + (c.slice+3)/4)
	fixed := copies * 16
	if c.any {
		per, fixed = max(per, anyElemCost+anyElemCost/4), max(fixed, 16)
	}
	return countCosts{
		scalar: c.scalar(), text: c.text(0) + 16, tag: c.text(0),
		arrayFixed: c.head + c.arrayFixed() + fixed, arrayElem: per,
		mapFixed: c.head + c.mapFixedCost(), mapEntry: c.mapPerEntry(false, cbor),
	}
}

type scanFormat uint8

const (
	scanMsgpack scanFormat = iota
	scanCBOR
)

// head reads the header at pos and moves pos past it and past any payload
// bytes it announces (not past contained items). It switches rather than
// calls a function value, so that the scan stays on the stack.
func (s *budgetScan) head() (scanItem, error) {
	if s.format == scanCBOR {
		return cborHead(s)
	}
	return msgpackHead(s)
}

// scanBudget pre-scans the first value in data as decoded into a value
// whose type plan describes, under budget b, and returns the allocation it
// estimates, starting from the libraries' fixed cost per call.
func scanBudget(codec string, format scanFormat, data []byte, plan *costPlan, b Budget) (int64, error) {
	est, _, err := scanBudgetKeys(codec, format, data, plan, b, nil)
	return est, err
}

// A keyVerdict says whether a scan that watched for keys met one.
type keyVerdict uint8

const (
	keysUnseen keyVerdict = iota // the typed walk did not run
	keysClean                    // no map key is one of the names
	keysHit                      // some map key may be one
)

// scanBudgetKeys is scanBudget that also watches the map keys for the
// given names (see watchKey) if the typed walk runs: a big input gets
// that answer from the walk it needs anyway.
func scanBudgetKeys(codec string, format scanFormat, data []byte, plan *costPlan, b Budget, keys []string) (int64, keyVerdict, error) {
	s := newBudgetScan(codec, format, data, plan, b)
	s.watch(keys)
	_, _, known, err := s.count()
	if err != nil {
		return s.cost, keysUnseen, err
	}
	if known && s.bound <= s.max {
		// Items that cannot exceed the budget whatever the type does
		// with them, each charged its class's most (see count): most
		// values, and the cheap path. Count read the keys as the walk
		// does.
		switch {
		case keys == nil || s.pos != len(data):
			return s.bound, keysUnseen, nil
		case s.keyHit:
			return s.bound, keysHit, nil
		}
		return s.bound, keysClean, nil
	}
	s.keyHit = false
	est, err := s.estimate(plan)
	switch {
	case err != nil || s.pos != len(data):
		// Not every key was read (cbor refuses such input).
		return est, keysUnseen, err
	case s.keyHit:
		return est, keysHit, nil
	}
	return est, keysClean, nil
}

func newBudgetScan(codec string, format scanFormat, data []byte, plan *costPlan, b Budget) budgetScan {
	s := budgetScan{
		data: data, format: format, codec: codec, plan: plan, cost: decodeFixedCost,
		max: b.MaxAlloc(len(data)), maxDepth: b.Depth(),
	}
	s.counts[0] = plan.val.counting(s.sliceCopies(), format == scanCBOR)
	s.counts[1] = plan.key.counting(s.sliceCopies(), format == scanCBOR)
	return s
}

// estimate walks the input from the start alongside plan.
func (s *budgetScan) estimate(plan *costPlan) (int64, error) {
	s.pos = 0
	err := s.value(plan.root)
	return s.cost, err
}

// count walks the first value in data without a type, checking its
// nesting against the budget, and returns how many items it holds and
// their payload bytes. It also sets s.bound to a bound of what the typed
// walk would charge for them, whatever the type does with them: each item
// at the most the walk charges an item of its class anywhere in the type
// (s.counts: as a map key for the keys of maps, else as a value), and 5/4
// of the payload. Why that holds: the walk charges an item at a node the
// pointees of the pointers it passes, a recursive type's re-entry and
// then a term of the node's kind and the item's count or length; each
// term is at most its largest over the type's nodes (classCosts, whose
// maxima the worst nodes charge), and counting writes their sum in a form
// linear in the count or length. FuzzBudgetScan checks it. Known is false
// for input count cannot bound (CBOR's indefinite lengths), or once the
// bound exceeds the budget: the typed walk then decides. The typed walk
// checks everything count does. With s.keys set it watches the map keys
// as the walk does.
func (s *budgetScan) count() (items, payload int64, known bool, err error) {
	if s.format == scanMsgpack {
		return msgpackCount(s)
	}
	return cborCount(s)
}

// countLevel is what count keeps of an open container: the items still
// due, shifted left, and in the low bit 1 for a map, whose items
// alternate keys and values: with left counting down from an even
// number, an item is a key when left&keyBit is 1 after the decrement.
type countLevel int64

func (l countLevel) open() (left, keyBit int64) { return int64(l >> 1), int64(l & 1) }

func openLevel(left, keyBit int64) countLevel { return countLevel(left<<1 | keyBit) }

// over reports whether count's bound, bound plus 5/4 of payload bytes,
// exceeds the budget.
func (s *budgetScan) over(bound, payload int64) bool {
	s.bound = bound + payload + payload/4
	return s.bound > s.max
}

// cborCount is budgetScan.count for CBOR. It keeps its place in a local
// (s.pos only around the calls to head, so that the loop stays in
// registers) and reads inline, besides the one-byte headers, the items a
// struct's fields mostly hold: integers and floats with argument bytes
// (times, prices), and definite strings with a one- or two-byte length.
// Anything else, and any header that does not fit in the input, goes to
// head, which returns the error.
func cborCount(s *budgetScan) (items, payload int64, known bool, err error) {
	var stackBuf [32]countLevel
	stack := stackBuf[:0] // the open containers
	data, pos, left, keyBit := s.data, s.pos, int64(1), int64(0)
	bound, counts, watching := s.cost, &s.counts, s.keys != nil
	for {
		for left == 0 {
			if len(stack) == 0 {
				s.pos = pos
				return items, payload, !s.over(bound, payload), nil
			}
			left, keyBit = stack[len(stack)-1].open()
			stack = stack[:len(stack)-1]
		}
		left--
		items++
		k := left & keyBit // 1: a key (a map's odd items are)
		cc := &counts[k]
		var it scanItem
		if rest := len(data) - pos; rest > 0 {
			c := data[pos]
			major, info := c>>5, c&0x1f
			switch {
			case major == 4 && info < 24 && int(info) < rest, major == 5 && info < 24 && 2*int(info) < rest:
				// A small container: its header, inline.
				it = scanItem{class: itemArray + itemClass(major-4), n: int64(info), start: pos + 1}
				pos++
				goto container
			case c < 0x18 || c >= 0x20 && c < 0x38 || c >= 0xf4 && c <= 0xf5:
				bound += cc.scalar
				pos++
				continue
			case c == 0xf6 || c == 0xf7:
				pos++
				continue
			case major == 3 && info < 24 && int(info) < rest:
				if watching && k == 1 && !s.keyHit && s.keyFilter.may(data[pos+1:pos+1+int(info)]) {
					s.watchKey(cborString(3, int(info), pos+1))
				}
				bound += cc.text
				payload += int64(info)
				pos += 1 + int(info)
				continue
			case (major <= 1 && info >= 24 || major == 7 && info >= 25) && info <= 27 && 1<<(info-24) < rest:
				bound += cc.scalar
				pos += 1 + 1<<(info-24)
				continue
			case (major == 2 || major == 3) && info == 24 && rest > 1 && 2+int(data[pos+1]) <= rest:
				n := int(data[pos+1])
				if watching && k == 1 && !s.keyHit && s.keyFilter.may(data[pos+2:pos+2+n]) {
					s.watchKey(cborString(major, n, pos+2))
				}
				bound += cc.text
				payload += int64(n)
				pos += 2 + n
				continue
			case (major == 2 || major == 3) && info == 25 && rest > 2:
				if n := int(data[pos+1])<<8 | int(data[pos+2]); 3+n <= rest {
					if watching && k == 1 && !s.keyHit && s.keyFilter.may(data[pos+3:pos+3+n]) {
						s.watchKey(cborString(major, n, pos+3))
					}
					bound += cc.text
					payload += int64(n)
					pos += 3 + n
					continue
				}
			}
		}
		s.pos = pos
		it, err = s.head()
		pos = s.pos
		if err != nil {
			return 0, 0, false, err
		}
		if watching && k == 1 {
			s.watchKey(it)
		}
	container:
		sub, isMap := it.n, int64(0)
		switch it.class {
		case itemText, itemBytes:
			bound += cc.text
			payload += it.n
			continue
		case itemNil:
			continue
		case itemMap:
			sub, isMap = 2*it.n, 1
			bound += cc.mapFixed + it.n*cc.mapEntry
		case itemTag:
			sub = 1
			bound += cc.tag
		case itemArray:
			bound += cc.arrayFixed + it.n*cc.arrayElem
		default:
			bound += cc.scalar
			continue
		}
		if it.n < 0 {
			return 0, 0, false, nil
		}
		if err := s.enterCount(len(stack)); err != nil {
			return 0, 0, false, err
		}
		if s.over(bound, payload) {
			return items, payload, false, nil
		}
		if sub > 0 {
			stack = append(stack, openLevel(left, keyBit))
			left, keyBit = sub, isMap
		}
	}
}

// cborString is the item of a definite string of major type 2 or 3, n
// bytes at start.
func cborString(major byte, n, start int) scanItem {
	if major == 3 {
		return scanItem{class: itemText, n: int64(n), start: start}
	}
	return scanItem{class: itemBytes, n: int64(n), start: start}
}

func (s *budgetScan) charge(c int64) error {
	s.cost += c
	if s.cost > s.max {
		return &BudgetError{Codec: s.codec, Limit: "allocation", Max: s.max, Need: s.cost}
	}
	return nil
}

func (s *budgetScan) enter() error {
	s.depth++
	if s.depth > s.maxDepth {
		return &BudgetError{Codec: s.codec, Limit: "depth", Max: int64(s.maxDepth), Need: int64(s.depth)}
	}
	return nil
}

// enterCount checks the depth of a container count finds inside open
// others.
func (s *budgetScan) enterCount(open int) error {
	if open+1 > s.maxDepth {
		return &BudgetError{Codec: s.codec, Limit: "depth", Max: int64(s.maxDepth), Need: int64(open + 1)}
	}
	return nil
}

func (s *budgetScan) value(n *costNode) error {
	it, err := s.head()
	if err != nil {
		return err
	}
	return s.item(n, it)
}

// item charges the item whose header is it, and what it contains, as
// decoded into n.
func (s *budgetScan) item(n *costNode, it scanItem) error {
	for n.kind == costPointer {
		if it.class == itemNil {
			return nil
		}
		if err := s.charge(allocSize(n.size)); err != nil {
			return err
		}
		n = n.elem
	}
	switch {
	case n.kind == costWorst:
		w := s.worstCosts(n)
		var c int64
		switch it.class {
		case itemNil:
			return nil
		case itemText, itemBytes:
			return s.charge(w.text(it.n))
		case itemTag:
			c = w.text(0)
		case itemArray, itemMap:
			c = w.head // array and mapping charge the rest
		default:
			return s.charge(w.scalar())
		}
		if err := s.charge(c); err != nil {
			return err
		}
	case n.recursive && it.class != itemNil:
		if err := s.charge(reentryCost); err != nil {
			return err
		}
	}
	switch it.class {
	case itemScalar, itemInt:
		if n.kind == costAny {
			return s.charge(anyScalarCost)
		}
	case itemText, itemBytes:
		c := allocSize(it.n)
		if n.kind == costAny {
			c += anyHeaderCost
		}
		return s.charge(c)
	case itemTag:
		if n.kind == costAny {
			if err := s.charge(anyHeaderCost); err != nil {
				return err
			}
		}
		if err := s.enter(); err != nil {
			return err
		}
		err := s.value(n)
		s.depth--
		return err
	case itemArray:
		return s.array(n, it.n)
	case itemMap:
		return s.mapping(n, it.n)
	}
	return nil
}

func (s *budgetScan) array(n *costNode, count int64) error {
	if err := s.enter(); err != nil {
		return err
	}
	var per int64 // charged per element of an indefinite-length array
	elem, list := worstNode, []*costNode(nil)
	var err error
	switch n.kind {
	case costSlice:
		elem, per = n.elem, 2*n.size // append doubles
		if count > 0 {
			err = s.charge(s.sliceCost(count, n.size))
		}
	case costArray:
		elem = n.elem
	case costAny:
		elem, per = n, 2*anyElemCost
		err = s.charge(anyHeaderCost + allocSize(max(count, 0)*anyElemCost))
	case costStruct:
		err = s.charge(n.fixed)
		if count == int64(len(n.list)) {
			list = n.list
		}
	case costString:
		// cbor fills a []byte from an array of integers.
		per = 2
		if count > 0 {
			err = s.charge(s.sliceCost(count, 1))
		}
	case costWorst:
		w := s.worstCosts(n)
		per = w.arrayPerElem()
		err = s.charge(w.arrayFixed() + w.arrayCount(count, s.sliceCopies()))
	}
	for i := 0; err == nil && (count < 0 || int64(i) < count); i++ {
		var it scanItem
		if it, err = s.head(); err != nil {
			break
		}
		if count < 0 {
			if it.class == itemBreak {
				break
			}
			if err = s.charge(per); err != nil {
				break
			}
		}
		e := elem
		if list != nil {
			e = list[i]
		}
		err = s.item(e, it)
	}
	s.depth--
	return err
}

// sliceCost is what a slice of count elements of size costs. msgpack
// v5.4.1 makes a slice of count elements and appends it to the target's
// (growSliceValue), allocating it twice; a slice of a view type, which
// the codec decodes itself (msgpackViewSlice), once: charging twice bounds
// both.
func (s *budgetScan) sliceCost(count, size int64) int64 {
	return s.sliceCopies() * allocSize(count*size)
}

// sliceCopies is how many times the format's library allocates a slice.
func (s *budgetScan) sliceCopies() int64 {
	if s.format == scanMsgpack {
		return 2
	}
	return 1
}

// worstCosts are the maxima the worst node n charges: a key's or a
// value's.
func (s *budgetScan) worstCosts(n *costNode) *classCosts {
	if n == worstKey {
		return &s.plan.key
	}
	return &s.plan.val
}

func (s *budgetScan) mapping(n *costNode, count int64) error {
	if err := s.enter(); err != nil {
		return err
	}
	var per, fixed int64 // charged per entry beyond the first eight, and once
	key, val := worstKey, worstNode
	switch n.kind {
	case costMap:
		key, val, per, fixed = n.key, n.elem, n.size, n.fixed
		if count < 0 {
			per = n.grow
		}
	case costAny:
		key, val, per, fixed = n, n, anyEntryCost, anyMapCost
		if count < 0 || s.format == scanCBOR {
			per = anyGrowEntryCost // cbor gives map[any]any no size hint
		}
	case costStruct:
		fixed = n.fixed
	case costWorst:
		w := s.worstCosts(n)
		per, fixed = w.mapPerEntry(count < 0, count < 0 || s.format == scanCBOR), w.mapFixedCost()
	}
	err := s.charge(fixed)
	next := 0 // the struct field expected next
	for i := int64(0); err == nil && (count < 0 || i < count); i++ {
		var it scanItem
		if it, err = s.head(); err != nil {
			break
		}
		if count < 0 && it.class == itemBreak {
			break
		}
		if s.keys != nil {
			s.watchKey(it)
		}
		if i >= mapSmall {
			if err = s.charge(per); err != nil {
				break
			}
		}
		v := val
		if n.kind == costStruct {
			v, next = s.field(n, it, next)
			if it.class == itemText {
				err = s.charge(it.n)
			} else {
				err = s.item(worstKey, it)
			}
		} else {
			err = s.item(key, it)
		}
		if err == nil {
			err = s.value(v)
		}
	}
	s.depth--
	return err
}

// watch sets the names watchKey watches for.
func (s *budgetScan) watch(keys []string) {
	s.keys, s.keyFilter = keys, newKeyFilter(keys)
}

// A keyFilter turns away, in a few instructions, most map keys that
// cannot match any of some names as cborKeyMatches matches: by their
// length, and by an ASCII first byte (two of which match only if they
// are equal under |0x20, see cborKeyMatches).
type keyFilter struct {
	lens  uint64    // bit n: a name of n bytes (bit 63: of 63 or more)
	heads [2]uint64 // bit b: a name whose ASCII first byte is b|0x20; all, if a name starts otherwise
}

func newKeyFilter(names []string) keyFilter {
	var f keyFilter
	for _, name := range names {
		f.lens |= 1 << min(len(name), 63)
		switch {
		case name == "":
		case name[0] < utf8.RuneSelf:
			c := name[0] | 0x20
			f.heads[c>>6] |= 1 << (c & 63)
		default:
			f.heads = [2]uint64{^uint64(0), ^uint64(0)}
		}
	}
	return f
}

// may reports whether key may match one of the names.
func (f *keyFilter) may(key []byte) bool {
	if f.lens>>min(len(key), 63)&1 == 0 {
		return false
	}
	if len(key) == 0 || key[0] >= utf8.RuneSelf {
		return true
	}
	c := key[0] | 0x20
	return f.heads[c>>6]>>(c&63)&1 != 0
}

// watchKey notes a map key that may be one of s.keys as cbor matches
// field names (cborKeyMatches), or that the scan cannot read: a tagged or
// chunked one.
func (s *budgetScan) watchKey(key scanItem) {
	switch {
	case key.class == itemTag, (key.class == itemText || key.class == itemBytes) && key.start < 0:
		s.keyHit = true
	case key.class == itemText:
		k := s.data[key.start : key.start+int(key.n)]
		for _, name := range s.keys {
			if cborKeyMatches(name, k) {
				s.keyHit = true
			}
		}
	}
}

// field returns the node of the field of struct n that key names, or the
// worst node if the scan cannot tell which (the library then skips the
// value, or fills a field this scan does not know of), and the index of
// the field expected after it.
func (s *budgetScan) field(n *costNode, key scanItem, next int) (*costNode, int) {
	switch {
	case key.class == itemInt:
		if f, ok := n.intFields[key.ival]; ok {
			return f, next
		}
	case key.class == itemText && key.start >= 0:
		name := s.data[key.start : key.start+int(key.n)]
		if next < len(n.named) && n.named[next].name == string(name) {
			return n.named[next].node, next + 1
		}
		if i, ok := n.fields[string(name)]; ok {
			return n.named[i].node, i + 1
		}
		if n.fold {
			var match *costNode
			for _, f := range n.named {
				if strings.EqualFold(f.name, string(name)) {
					if match != nil {
						return worstNode, next
					}
					match = f.node
				}
			}
			if match != nil {
				return match, next
			}
		}
	}
	return worstNode, next
}
