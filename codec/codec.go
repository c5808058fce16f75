package codec

import (
	"fmt"
	"sort"
	"sync"
)

// A Codec turns values into bytes and back. The codecs of this package leave
// every cached property (see package cacheprop) out of what they write and
// reset every cached property of what they decode into; otherwise they behave
// exactly as the library they wrap.
//
// A Codec is safe for concurrent use.
type Codec interface {
	// Name is the codec's registered name, such as "json".
	Name() string
	// Marshal returns the encoding of v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into the value pointed to by v.
	Unmarshal(data []byte, v any) error
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Codec{}
)

// Register makes c available to [ByName] under c.Name(). It returns an error
// if the name is empty or already taken.
func Register(c Codec) error {
	name := c.Name()
	if name == "" {
		return fmt.Errorf("codec: register: empty name")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		return fmt.Errorf("codec: register: name %q already registered", name)
	}
	registry[name] = c
	return nil
}

// ByName returns the codec registered under name: "json", "gob", "msgpack"
// and "cbor" are always present.
func ByName(name string) (Codec, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	c, ok := registry[name]
	return c, ok
}

// Names returns the names of all registered codecs, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StripsCachedProperties reports whether c leaves cached properties out of
// what it writes: true for this package's codecs, and for any codec with a
// method StripsCachedProperties() bool that returns true. Tools that explain
// a value's encoded size, such as memcache.Breakdown, use it to know whether
// a cached property counts.
func StripsCachedProperties(c Codec) bool {
	if s, ok := c.(interface{ StripsCachedProperties() bool }); ok {
		return s.StripsCachedProperties()
	}
	if _, ok := c.(budgeted); ok {
		// This package's codecs, whatever their budget: WithBudget's
		// codecs are not == to the package's variables.
		return true
	}
	switch c {
	case JSON, Gob: // until they carry a budget too
		return true
	}
	return false
}
