package abi

import (
	"bytes"
	"fmt"
	"math"
)

// Value is a Luau value as the host sees it. Decode produces exactly these dynamic types:
//
//	nil        absent (Luau nil)
//	NullType   interop.null ("present but null"; the guest's light-userdata NULL)
//	bool
//	int64      a 64-bit integer (from the host, or a Luau integer value)
//	float64    a Luau number (always, even when integral: see SPEC.md §3.2)
//	string     a Luau string (binary-safe)
//	Buffer     a Luau buffer
//	[]Value    a list (a table with the array metatable, or a table whose keys are exactly 1..n)
//	*Map       a map with keys of type string, int64, float64 or bool, in wire order
type Value = any

// NullType is the type of [Null].
type NullType struct{}

// Null is interop.null: present but null (JSON null). It is distinct from nil (absent).
var Null = NullType{}

// String implements fmt.Stringer.
func (NullType) String() string { return "null" }

// Buffer is the contents of a Luau buffer. A plain []byte given to Encode is encoded as a string.
type Buffer []byte

// Map is an insertion-ordered map. The zero value is an empty map ready to use.
type Map struct {
	keys []Value
	vals []Value
	idx  map[Value]int
}

// NewMap returns an empty map with room for n entries.
func NewMap(n int) *Map {
	return &Map{keys: make([]Value, 0, n), vals: make([]Value, 0, n)}
}

// MapOf builds a map from alternating keys and values: MapOf("a", 1, "b", 2).
func MapOf(kv ...Value) *Map {
	m := NewMap(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i], kv[i+1])
	}
	return m
}

func normKey(k Value) Value {
	switch x := k.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	}
	return k
}

func hashable(k Value) bool {
	switch k.(type) {
	case string, int64, float64, bool:
		return true
	}
	return false
}

// Set sets key k to v, keeping the key's original position if it exists. Keys are normalised (int → int64,
// float32 → float64, []byte → string); keys of any other type are kept but rejected by Encode.
func (m *Map) Set(k, v Value) {
	k = normKey(k)
	if i, ok := m.find(k); ok {
		m.vals[i] = v
		return
	}
	if m.idx == nil && len(m.keys) >= 8 {
		m.idx = make(map[Value]int, len(m.keys)*2)
		for i, kk := range m.keys {
			if hashable(kk) {
				m.idx[kk] = i
			}
		}
	}
	if m.idx != nil && hashable(k) {
		m.idx[k] = len(m.keys)
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

// appendNew appends without a duplicate check (the decoder checks separately).
func (m *Map) appendNew(k, v Value) {
	if m.idx != nil && hashable(k) {
		m.idx[k] = len(m.keys)
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

func (m *Map) find(k Value) (int, bool) {
	if m == nil {
		return 0, false
	}
	if m.idx != nil && hashable(k) {
		i, ok := m.idx[k]
		return i, ok
	}
	for i, kk := range m.keys {
		if keyEqual(kk, k) {
			return i, true
		}
	}
	return 0, false
}

func keyEqual(a, b Value) bool {
	if !hashable(a) || !hashable(b) {
		return false
	}
	return a == b
}

// Get returns the value stored under k.
func (m *Map) Get(k Value) (Value, bool) {
	i, ok := m.find(normKey(k))
	if !ok {
		return nil, false
	}
	return m.vals[i], true
}

// Len returns the number of entries.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.keys)
}

// At returns the i-th entry in order.
func (m *Map) At(i int) (k, v Value) { return m.keys[i], m.vals[i] }

// Keys returns the keys in order (a copy).
func (m *Map) Keys() []Value { return append([]Value(nil), m.keys...) }

// Range calls fn for each entry in order until fn returns false.
func (m *Map) Range(fn func(k, v Value) bool) {
	if m == nil {
		return
	}
	for i := range m.keys {
		if !fn(m.keys[i], m.vals[i]) {
			return
		}
	}
}

// String renders the map for debugging.
func (m *Map) String() string {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range m.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%v: %v", m.keys[i], m.vals[i])
	}
	b.WriteByte('}')
	return b.String()
}

// Equal reports whether a and b are the same value: same types, floats compared by bits (so NaN equals NaN
// and -0 differs from 0), maps compared in order.
func Equal(a, b Value) bool { return equal(a, b, true) }

// EqualUnordered is Equal with maps compared as sets of entries (the guest's table order is arbitrary).
func EqualUnordered(a, b Value) bool { return equal(a, b, false) }

func equal(a, b Value, ordered bool) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case NullType:
		_, ok := b.(NullType)
		return ok
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case string:
		y, ok := b.(string)
		return ok && x == y
	case Buffer:
		y, ok := b.(Buffer)
		return ok && bytes.Equal(x, y)
	case []Value:
		y, ok := b.([]Value)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i], ordered) {
				return false
			}
		}
		return true
	case *Map:
		y, ok := b.(*Map)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for i := range x.keys {
			j := i
			if ordered {
				if !equal(x.keys[i], y.keys[i], true) {
					return false
				}
			} else if k, found := y.find(x.keys[i]); found {
				j = k
			} else {
				return false
			}
			if !equal(x.vals[i], y.vals[j], ordered) {
				return false
			}
		}
		return true
	}
	return false
}
