package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"unsafe"
)

// Wire tags of the value encoding (SPEC.md §3).
const (
	TagNil    byte = 0x00
	TagNull   byte = 0x01
	TagFalse  byte = 0x02
	TagTrue   byte = 0x03
	TagInt    byte = 0x04
	TagFloat  byte = 0x05
	TagString byte = 0x06
	TagBuffer byte = 0x07
	TagList   byte = 0x08
	TagMap    byte = 0x09
)

// Default bounds of the value encoding (abi.json limits).
const (
	MaxValueBytes = 4 << 20
	MaxValueDepth = 64
)

// CodecLimits bounds one Encode or Decode. Zero fields mean the defaults.
type CodecLimits struct {
	MaxBytes int // total encoded size
	MaxDepth int // nesting of lists and maps (a top-level list is depth 1)
}

func (l CodecLimits) norm() CodecLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = MaxValueBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = MaxValueDepth
	}
	return l
}

// CodecError is returned for every encode or decode failure.
type CodecError struct{ Msg string }

func (e *CodecError) Error() string { return e.Msg }

func errf(format string, a ...any) error { return &CodecError{Msg: fmt.Sprintf(format, a...)} }

// ErrTooDeep and ErrTooLarge are matched with errors.Is.
var (
	ErrTooDeep  = errors.New("value nested too deeply")
	ErrTooLarge = errors.New("value too large")
)

type limitErr struct {
	kind  error
	limit int
	unit  string
}

func (e *limitErr) Error() string { return fmt.Sprintf("%v (limit %d%s)", e.kind, e.limit, e.unit) }
func (e *limitErr) Unwrap() error { return e.kind }

// Encode encodes v with the default limits.
func Encode(v Value) ([]byte, error) { return EncodeWith(v, CodecLimits{}) }

// EncodeWith encodes v. Accepted Go types: nil, NullType, bool, all integer types (uint64 above MaxInt64 is
// an error), float32/float64, string, []byte (as a string), Buffer, []Value/[]any, []string, *Map, Map,
// map[string]any / map[string]string (keys sorted).
func EncodeWith(v Value, lim CodecLimits) ([]byte, error) {
	e := encoder{lim: lim.norm()}
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	return e.buf, nil
}

type encoder struct {
	buf  []byte
	lim  CodecLimits
	path []uintptr
}

func (e *encoder) grow(n int) error {
	if len(e.buf)+n > e.lim.MaxBytes {
		return &limitErr{ErrTooLarge, e.lim.MaxBytes, " bytes"}
	}
	return nil
}

func (e *encoder) u32(n int) { e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(n)) }

func (e *encoder) enter(p uintptr, depth int) error {
	if depth+1 > e.lim.MaxDepth {
		return &limitErr{ErrTooDeep, e.lim.MaxDepth, ""}
	}
	if p != 0 {
		for _, q := range e.path {
			if q == p {
				return errf("cannot encode a cyclic value")
			}
		}
	}
	e.path = append(e.path, p)
	return nil
}

func (e *encoder) leave() { e.path = e.path[:len(e.path)-1] }

func (e *encoder) str(tag byte, s string) error {
	if err := e.grow(5 + len(s)); err != nil {
		return err
	}
	e.buf = append(e.buf, tag)
	e.u32(len(s))
	e.buf = append(e.buf, s...)
	return nil
}

func (e *encoder) int(i int64) error {
	if err := e.grow(9); err != nil {
		return err
	}
	e.buf = append(e.buf, TagInt)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(i))
	return nil
}

func (e *encoder) value(v Value, depth int) error {
	switch x := v.(type) {
	case nil:
		return e.byte1(TagNil)
	case NullType:
		return e.byte1(TagNull)
	case *NullType:
		return e.byte1(TagNull)
	case bool:
		if x {
			return e.byte1(TagTrue)
		}
		return e.byte1(TagFalse)
	case int:
		return e.int(int64(x))
	case int8:
		return e.int(int64(x))
	case int16:
		return e.int(int64(x))
	case int32:
		return e.int(int64(x))
	case int64:
		return e.int(x)
	case uint:
		if uint64(x) > math.MaxInt64 {
			return errf("cannot encode integer %d: out of int64 range", x)
		}
		return e.int(int64(x))
	case uint8:
		return e.int(int64(x))
	case uint16:
		return e.int(int64(x))
	case uint32:
		return e.int(int64(x))
	case uint64:
		if x > math.MaxInt64 {
			return errf("cannot encode integer %d: out of int64 range", x)
		}
		return e.int(int64(x))
	case float32:
		return e.float(float64(x))
	case float64:
		return e.float(x)
	case string:
		return e.str(TagString, x)
	case []byte:
		return e.str(TagString, unsafe.String(unsafe.SliceData(x), len(x)))
	case Buffer:
		return e.str(TagBuffer, unsafe.String(unsafe.SliceData(x), len(x)))
	case []Value:
		return e.list(len(x), func(i int) Value { return x[i] }, slicePtr(x), depth)
	case []string:
		return e.list(len(x), func(i int) Value { return x[i] }, 0, depth)
	case *Map:
		if x == nil {
			return e.byte1(TagNil)
		}
		return e.mapv(x, depth)
	case Map:
		return e.mapv(&x, depth)
	case map[string]any:
		return e.gomap(len(x), func(yield func(string, Value)) {
			for k, v := range x {
				yield(k, v)
			}
		}, reflect.ValueOf(x).UnsafePointer(), depth)
	case map[string]string:
		return e.gomap(len(x), func(yield func(string, Value)) {
			for k, v := range x {
				yield(k, v)
			}
		}, nil, depth)
	}
	return errf("cannot encode a value of Go type %T", v)
}

func slicePtr(s []Value) uintptr {
	if len(s) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&s[0]))
}

func (e *encoder) byte1(t byte) error {
	if err := e.grow(1); err != nil {
		return err
	}
	e.buf = append(e.buf, t)
	return nil
}

func (e *encoder) float(f float64) error {
	if err := e.grow(9); err != nil {
		return err
	}
	e.buf = append(e.buf, TagFloat)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(f))
	return nil
}

func (e *encoder) list(n int, at func(int) Value, p uintptr, depth int) error {
	if err := e.enter(p, depth); err != nil {
		return err
	}
	if err := e.grow(5); err != nil {
		return err
	}
	e.buf = append(e.buf, TagList)
	e.u32(n)
	for i := 0; i < n; i++ {
		if err := e.value(at(i), depth+1); err != nil {
			return err
		}
	}
	e.leave()
	return nil
}

func (e *encoder) key(k Value) error {
	switch x := k.(type) {
	case string, []byte, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32:
		return e.value(k, 0)
	case float64:
		if math.IsNaN(x) {
			return errf("cannot encode a NaN map key")
		}
		return e.float(x)
	}
	return errf("cannot encode a map key of Go type %T (keys must be strings, integers, floats or booleans)", k)
}

func (e *encoder) mapv(m *Map, depth int) error {
	if err := e.enter(uintptr(unsafe.Pointer(m)), depth); err != nil {
		return err
	}
	if err := e.grow(5); err != nil {
		return err
	}
	e.buf = append(e.buf, TagMap)
	e.u32(len(m.keys))
	for i := range m.keys {
		if err := e.key(m.keys[i]); err != nil {
			return err
		}
		if err := e.value(m.vals[i], depth+1); err != nil {
			return err
		}
	}
	e.leave()
	return nil
}

func (e *encoder) gomap(n int, each func(func(string, Value)), p unsafe.Pointer, depth int) error {
	keys := make([]string, 0, n)
	vals := make(map[string]Value, n)
	each(func(k string, v Value) { keys = append(keys, k); vals[k] = v })
	sort.Strings(keys)
	if err := e.enter(uintptr(p), depth); err != nil {
		return err
	}
	if err := e.grow(5); err != nil {
		return err
	}
	e.buf = append(e.buf, TagMap)
	e.u32(len(keys))
	for _, k := range keys {
		if err := e.str(TagString, k); err != nil {
			return err
		}
		if err := e.value(vals[k], depth+1); err != nil {
			return err
		}
	}
	e.leave()
	return nil
}

// Decode decodes one value with the default limits. The whole input must be consumed.
func Decode(b []byte) (Value, error) { return DecodeWith(b, CodecLimits{}) }

// DecodeWith decodes one value. It never panics and allocates at most a small multiple of len(b).
func DecodeWith(b []byte, lim CodecLimits) (Value, error) {
	lim = lim.norm()
	if len(b) > lim.MaxBytes {
		return nil, &limitErr{ErrTooLarge, lim.MaxBytes, " bytes"}
	}
	d := decoder{b: b, lim: lim}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, errf("trailing bytes after value (offset %d of %d)", d.off, len(b))
	}
	return v, nil
}

type decoder struct {
	b   []byte
	off int
	lim CodecLimits
}

var errTrunc = &CodecError{Msg: "truncated value"}

// maxPrealloc bounds the capacity a decoded MAP is presized with from its (untrusted) count.
const maxPrealloc = 1024

func (d *decoder) need(n int) error {
	if n < 0 || len(d.b)-d.off < n {
		return errTrunc
	}
	return nil
}

func (d *decoder) u32() (int, error) {
	if err := d.need(4); err != nil {
		return 0, err
	}
	n := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return int(n), nil
}

func (d *decoder) value(depth int) (Value, error) {
	if err := d.need(1); err != nil {
		return nil, err
	}
	tag := d.b[d.off]
	d.off++
	switch tag {
	case TagNil:
		return nil, nil
	case TagNull:
		return Null, nil
	case TagFalse:
		return false, nil
	case TagTrue:
		return true, nil
	case TagInt:
		if err := d.need(8); err != nil {
			return nil, err
		}
		v := int64(binary.LittleEndian.Uint64(d.b[d.off:]))
		d.off += 8
		return v, nil
	case TagFloat:
		if err := d.need(8); err != nil {
			return nil, err
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
		d.off += 8
		return v, nil
	case TagString, TagBuffer:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		if err := d.need(n); err != nil {
			return nil, err
		}
		p := d.b[d.off : d.off+n]
		d.off += n
		if tag == TagString {
			return string(p), nil
		}
		return Buffer(append([]byte{}, p...)), nil
	case TagList:
		if depth+1 > d.lim.MaxDepth {
			return nil, &limitErr{ErrTooDeep, d.lim.MaxDepth, ""}
		}
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		if n > len(d.b)-d.off { // every element takes at least one byte
			return nil, errTrunc
		}
		out := make([]Value, n)
		for i := range out {
			if out[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case TagMap:
		if depth+1 > d.lim.MaxDepth {
			return nil, &limitErr{ErrTooDeep, d.lim.MaxDepth, ""}
		}
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		if n > (len(d.b)-d.off)/2 { // every entry takes at least two bytes
			return nil, errTrunc
		}
		// n is untrusted: presize for at most maxPrealloc entries and let append grow with the entries actually
		// decoded (a hostile count with duplicate keys must not cost a huge up-front allocation).
		hint := min(n, maxPrealloc)
		m := NewMap(hint)
		if n > 8 {
			m.idx = make(map[Value]int, hint)
		}
		for i := 0; i < n; i++ {
			k, err := d.key()
			if err != nil {
				return nil, err
			}
			if _, dup := m.find(k); dup {
				return nil, errf("duplicate map key %v", describeKey(k))
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m.appendNew(k, v)
		}
		return m, nil
	}
	return nil, errf("unknown value tag 0x%02x at offset %d", tag, d.off-1)
}

func (d *decoder) key() (Value, error) {
	if err := d.need(1); err != nil {
		return nil, err
	}
	switch d.b[d.off] {
	case TagString, TagInt, TagTrue, TagFalse:
		return d.value(0)
	case TagFloat:
		v, err := d.value(0)
		if err == nil && math.IsNaN(v.(float64)) {
			return nil, errf("NaN map key")
		}
		return v, err
	}
	return nil, errf("invalid map key tag 0x%02x at offset %d (keys must be strings, integers, floats or booleans)", d.b[d.off], d.off)
}

func describeKey(k Value) string {
	if s, ok := k.(string); ok {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%v", k)
}
