package abi

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	nested := []Value{}
	var v Value = nested
	for i := 0; i < 63; i++ {
		v = []Value{v}
	}
	cases := []struct {
		name string
		in   Value
		want Value // nil means same as in
	}{
		{"nil", nil, nil},
		{"null", Null, nil},
		{"true", true, nil},
		{"false", false, nil},
		{"int0", int64(0), nil},
		{"intmin", int64(math.MinInt64), nil},
		{"intmax", int64(math.MaxInt64), nil},
		{"goint", 42, int64(42)},
		{"uint32", uint32(7), int64(7)},
		{"float", 1.5, nil},
		{"float-integral", 3.0, nil},
		{"negzero", math.Copysign(0, -1), nil},
		{"nan", math.NaN(), nil},
		{"inf", math.Inf(-1), nil},
		{"empty string", "", nil},
		{"binary string", "a\x00b\xff", nil},
		{"bytes as string", []byte("xy\x00"), "xy\x00"},
		{"buffer", Buffer{1, 2, 0}, nil},
		{"empty list", []Value{}, nil},
		{"list with holes", []Value{int64(1), nil, Null, "x"}, nil},
		{"empty map", NewMap(0), nil},
		{"map order kept", MapOf("b", int64(1), "a", int64(2), int64(3), true, 1.5, false, true, "t"), nil},
		{"go map sorted", map[string]any{"z": 1, "a": "s"}, MapOf("a", "s", "z", int64(1))},
		{"strings", []string{"a", "b"}, []Value{"a", "b"}},
		{"depth 64", v, nil},
		{"nested", MapOf("data", MapOf("members", []Value{MapOf("id", "123", "roles", []Value{})})), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Encode(c.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			if want == nil {
				want = c.in
			}
			if !Equal(got, want) {
				t.Fatalf("round trip: got %#v want %#v", got, want)
			}
			b2, err := Encode(got)
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs: %x vs %x (%v)", b, b2, err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	deep := Value([]Value{})
	for i := 0; i < 64; i++ {
		deep = []Value{deep}
	}
	cyc := NewMap(0)
	cyc.Set("self", cyc)
	cycList := make([]Value, 1)
	cycList[0] = cycList
	cases := []struct {
		name string
		in   Value
		lim  CodecLimits
		want string
		is   error
	}{
		{"too deep", deep, CodecLimits{}, "value nested too deeply (limit 64)", ErrTooDeep},
		{"too large", strings.Repeat("x", 100), CodecLimits{MaxBytes: 50}, "value too large (limit 50 bytes)", ErrTooLarge},
		{"cycle map", cyc, CodecLimits{}, "cyclic", nil},
		{"cycle list", cycList, CodecLimits{}, "cyclic", nil},
		{"func", func() {}, CodecLimits{}, "cannot encode a value of Go type func()", nil},
		{"bad key", MapOf([]Value{}, 1), CodecLimits{}, "map key", nil},
		{"nan key", MapOf(math.NaN(), 1), CodecLimits{}, "NaN map key", nil},
		{"uint64", uint64(math.MaxUint64), CodecLimits{}, "out of int64 range", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := EncodeWith(c.in, c.lim)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("errors.Is(%v, %v) false", err, c.is)
			}
		})
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeErrors(t *testing.T) {
	deep := bytes.Repeat([]byte{TagList, 1, 0, 0, 0}, 65)
	deep = append(deep, TagNil)
	cases := []struct{ name, hex, want string }{
		{"empty", "", "truncated"},
		{"unknown tag", "0a", "unknown value tag 0x0a"},
		{"trailing", "0000", "trailing bytes"},
		{"short int", "04 0102", "truncated"},
		{"short string", "06 05000000 6162", "truncated"},
		{"huge list count", "08 ffffffff 00", "truncated"},
		{"huge map count", "09 ffffff7f 00", "truncated"},
		{"list key", "09 01000000 08 00000000 00", "invalid map key tag 0x08"},
		{"nil key", "09 01000000 00 00", "invalid map key tag 0x00"},
		{"nan key", "09 01000000 05 000000000000f87f 00", "NaN map key"},
		{"dup key", "09 02000000 06 01000000 61 00 06 01000000 61 00", "duplicate map key \"a\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(mustHex(c.hex))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	if _, err := Decode(deep); err == nil || !errors.Is(err, ErrTooDeep) || err.Error() != "value nested too deeply (limit 64)" {
		t.Fatalf("deep: %v", err)
	}
	if _, err := DecodeWith(make([]byte, 100), CodecLimits{MaxBytes: 10}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("large: %v", err)
	}
}

func TestJSON(t *testing.T) {
	v, err := FromJSON([]byte(`{"id":"1234567890123456789","n":5,"f":1.5,"big":123456789012345678901,"e":1e3,"null":null,"arr":[1,{"b":true}],"empty":[],"obj":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := MapOf("id", "1234567890123456789", "n", int64(5), "f", 1.5, "big", 123456789012345678901.0, "e", 1000.0,
		"null", Null, "arr", []Value{int64(1), MapOf("b", true)}, "empty", []Value{}, "obj", NewMap(0))
	if !Equal(v, want) {
		t.Fatalf("got %v", v)
	}
	out, err := ToJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"id":"1234567890123456789","n":5,"f":1.5,"big":123456789012345680000,"e":1000,"null":null,"arr":[1,{"b":true}],"empty":[],"obj":{}}` {
		t.Fatalf("ToJSON: %s", out)
	}
	if _, err := FromJSON([]byte(`[1] x`)); err == nil {
		t.Fatal("trailing data accepted")
	}
}

func TestMapIndex(t *testing.T) {
	m := NewMap(0)
	for i := 0; i < 100; i++ {
		m.Set(i, i*2)
	}
	m.Set(5, "five")
	if v, ok := m.Get(5); !ok || v != "five" || m.Len() != 100 {
		t.Fatalf("Get(5) = %v %v len %d", v, ok, m.Len())
	}
	if k, _ := m.At(5); k != int64(5) {
		t.Fatalf("order: %v", k)
	}
	if _, ok := m.Get(5.0); ok {
		t.Fatal("float key matched int key")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"00", "01", "0400000000000000ff", "0603000000616263", "080200000000 01", "09010000000601000000610003"} {
		f.Add(mustHex(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeWith(b, CodecLimits{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		out, err := Encode(v)
		if err != nil {
			t.Fatalf("decoded value does not re-encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, out)
		}
	})
}

// TestDecodeHostileCountAlloc: a count in a LIST/MAP header is guest-controlled (syscall arguments, mailbox
// results). Decoding must not allocate far more than the entries it actually decodes before failing.
func TestDecodeHostileCountAlloc(t *testing.T) {
	header := func(tag byte, n uint32, size int, fill byte) []byte {
		b := make([]byte, size)
		b[0] = tag
		b[1], b[2], b[3], b[4] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
		for i := 5; i < len(b); i++ {
			b[i] = fill
		}
		return b
	}
	const size = MaxValueBytes
	cases := []struct {
		name     string
		in       []byte
		maxAlloc uint64 // bytes allocated by Decode, at most
	}{
		// duplicate key "true" on the second entry: only two entries are ever decoded
		{"map count = remaining/2, dup keys", header(TagMap, (size-5)/2, size, TagTrue), 1 << 20},
		{"map count = remaining/2, truncated", header(TagMap, (size-5)/2, 64, TagTrue), 1 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m1, m2 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m1)
			_, err := Decode(c.in)
			runtime.ReadMemStats(&m2)
			if err == nil {
				t.Fatal("hostile input decoded")
			}
			if got := m2.TotalAlloc - m1.TotalAlloc; got > c.maxAlloc {
				t.Fatalf("Decode allocated %d bytes for a %d-byte input that fails early (limit %d): %v", got, len(c.in), c.maxAlloc, err)
			}
		})
	}
}

func TestEqualOrderedAndUnordered(t *testing.T) {
	ab := MapOf("a", 1.0, "b", []Value{2.0, MapOf("x", true, "y", false)})
	ba := MapOf("b", []Value{2.0, MapOf("y", false, "x", true)}, "a", 1.0)
	tests := []struct {
		name             string
		a, b             Value
		equal, unordered bool
	}{
		{"same map", ab, ab, true, true},
		{"maps in another order, nested too", ab, ba, false, true},
		{"different value", ab, MapOf("a", 1.0, "b", []Value{3.0, MapOf("x", true, "y", false)}), false, false},
		{"missing key", ab, MapOf("a", 1.0, "c", []Value{2.0}), false, false},
		{"list order matters", []Value{1.0, 2.0}, []Value{2.0, 1.0}, false, false},
		{"NaN equals NaN by bits", math.NaN(), math.NaN(), true, true},
		{"int is not float", int64(1), 1.0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Equal(tc.a, tc.b); got != tc.equal {
				t.Errorf("Equal = %v, want %v", got, tc.equal)
			}
			if got := EqualUnordered(tc.a, tc.b); got != tc.unordered {
				t.Errorf("EqualUnordered = %v, want %v", got, tc.unordered)
			}
		})
	}
}
