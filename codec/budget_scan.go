package codec

import "strings"

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
	worst    int64
	cost     int64
	max      int64
	depth    int
	maxDepth int
	// keys, when set, are names watched for among map keys (see
	// watchKey); keyHit says one was met.
	keys   []string
	keyHit bool
	// maxItems is how many items count may find before it is clear
	// that their bound exceeds the budget: it then stops, and the typed
	// walk decides.
	maxItems int64
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
	items, payload, known, err := s.count()
	if err != nil {
		return s.cost, keysUnseen, err
	}
	if bound := s.cost + items*plan.perItem + 2*payload; known && bound <= s.max {
		// Too few items to exceed the budget whatever the type does
		// with them: most values, and the cheap path.
		return bound, keysUnseen, nil
	}
	s.keys = keys
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
		data: data, format: format, codec: codec, cost: decodeFixedCost,
		worst: plan.worst, max: b.MaxAlloc(len(data)), maxDepth: b.Depth(),
	}
	s.maxItems = (s.max - s.cost) / max(plan.perItem, 1)
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
// their payload bytes; known is false for input count cannot bound
// (CBOR's indefinite lengths, or more than maxItems items before a
// container), which must be
// walked with its type. The typed walk checks everything count does.
func (s *budgetScan) count() (items, payload int64, known bool, err error) {
	if s.format == scanMsgpack {
		return msgpackCount(s)
	}
	return cborCount(s)
}

// cborCount is budgetScan.count for CBOR. It keeps its place in a local
// (s.pos only around the calls to head, so that the loop stays in
// registers) and reads inline, besides the one-byte headers, the items a
// struct's fields mostly hold: integers and floats with argument bytes
// (times, prices), and definite strings with a one- or two-byte length.
// Anything else, and any header that does not fit in the input, goes to
// head, which returns the error.
func cborCount(s *budgetScan) (items, payload int64, known bool, err error) {
	var stackBuf [32]int64
	stack := stackBuf[:0] // items left in each open container
	data, pos, left := s.data, s.pos, int64(1)
	for {
		for left == 0 {
			if len(stack) == 0 {
				s.pos = pos
				return items, payload, true, nil
			}
			left, stack = stack[len(stack)-1], stack[:len(stack)-1]
		}
		left--
		items++
		if rest := len(data) - pos; rest > 0 {
			c := data[pos]
			major, info := c>>5, c&0x1f
			switch {
			case c < 0x18 || c >= 0x20 && c < 0x38 || c >= 0xf4 && c <= 0xf7:
				pos++
				continue
			case major == 3 && info < 24 && int(info) < rest:
				payload += int64(info)
				pos += 1 + int(info)
				continue
			case (major <= 1 && info >= 24 || major == 7 && info >= 25) && info <= 27 && 1<<(info-24) < rest:
				pos += 1 + 1<<(info-24)
				continue
			case (major == 2 || major == 3) && info == 24 && rest > 1 && 2+int(data[pos+1]) <= rest:
				payload += int64(data[pos+1])
				pos += 2 + int(data[pos+1])
				continue
			case (major == 2 || major == 3) && info == 25 && rest > 2:
				if n := int(data[pos+1])<<8 | int(data[pos+2]); 3+n <= rest {
					payload += int64(n)
					pos += 3 + n
					continue
				}
			}
		}
		s.pos = pos
		it, err := s.head()
		pos = s.pos
		if err != nil {
			return 0, 0, false, err
		}
		sub := it.n
		switch it.class {
		case itemText, itemBytes:
			payload += it.n
			continue
		case itemMap:
			sub *= 2
		case itemTag:
			sub = 1
		case itemArray:
		default:
			continue
		}
		if it.n < 0 {
			return 0, 0, false, nil
		}
		if err := s.enterCount(len(stack)); err != nil {
			return 0, 0, false, err
		}
		if items > s.maxItems {
			return items, payload, false, nil
		}
		if sub > 0 {
			stack = append(stack, left)
			left = sub
		}
	}
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
	if n.kind == costWorst || n.recursive && it.class != itemNil {
		c := s.worst
		if n.recursive {
			c = reentryCost
		}
		if err := s.charge(c); err != nil {
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
	c := allocSize(count * size)
	if s.format == scanMsgpack {
		c *= 2
	}
	return c
}

func (s *budgetScan) mapping(n *costNode, count int64) error {
	if err := s.enter(); err != nil {
		return err
	}
	var per, fixed int64 // charged per entry beyond the first eight, and once
	key, val := worstNode, worstNode
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
				err = s.item(worstNode, it)
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
