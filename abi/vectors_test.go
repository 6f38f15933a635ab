package abi

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the Go encoder")

// typed is the JSON notation of a Value in vectors.json: {"t": kind, "v": ...}.
type typed struct {
	T string          `json:"t"`
	V json.RawMessage `json:"v,omitempty"`
}

func toTyped(v Value) typed {
	raw := func(x any) json.RawMessage { b, _ := json.Marshal(x); return b }
	switch x := v.(type) {
	case nil:
		return typed{T: "nil"}
	case NullType:
		return typed{T: "null"}
	case bool:
		return typed{T: "bool", V: raw(x)}
	case int64:
		return typed{T: "int", V: raw(strconv.FormatInt(x, 10))}
	case float64:
		return typed{T: "float", V: raw(fmt.Sprintf("%016x", math.Float64bits(x)))}
	case string:
		return typed{T: "str", V: raw(hex.EncodeToString([]byte(x)))}
	case Buffer:
		return typed{T: "buf", V: raw(hex.EncodeToString(x))}
	case []Value:
		l := make([]typed, len(x))
		for i := range x {
			l[i] = toTyped(x[i])
		}
		return typed{T: "list", V: raw(l)}
	case *Map:
		l := make([][2]typed, x.Len())
		for i := range l {
			k, vv := x.At(i)
			l[i] = [2]typed{toTyped(k), toTyped(vv)}
		}
		return typed{T: "map", V: raw(l)}
	}
	panic(fmt.Sprintf("toTyped %T", v))
}

func fromTyped(t typed) (Value, error) {
	var s string
	switch t.T {
	case "nil":
		return nil, nil
	case "null":
		return Null, nil
	case "bool":
		var b bool
		err := json.Unmarshal(t.V, &b)
		return b, err
	case "int", "float", "str", "buf":
		if err := json.Unmarshal(t.V, &s); err != nil {
			return nil, err
		}
		switch t.T {
		case "int":
			return strconv.ParseInt(s, 10, 64)
		case "float":
			u, err := strconv.ParseUint(s, 16, 64)
			return math.Float64frombits(u), err
		case "str":
			b, err := hex.DecodeString(s)
			return string(b), err
		default:
			b, err := hex.DecodeString(s)
			return Buffer(b), err
		}
	case "list":
		var l []typed
		if err := json.Unmarshal(t.V, &l); err != nil {
			return nil, err
		}
		out := make([]Value, len(l))
		for i := range l {
			v, err := fromTyped(l[i])
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case "map":
		var l [][2]typed
		if err := json.Unmarshal(t.V, &l); err != nil {
			return nil, err
		}
		m := NewMap(len(l))
		for _, kv := range l {
			k, err := fromTyped(kv[0])
			if err != nil {
				return nil, err
			}
			v, err := fromTyped(kv[1])
			if err != nil {
				return nil, err
			}
			m.Set(k, v)
		}
		return m, nil
	}
	return nil, fmt.Errorf("unknown typed kind %q", t.T)
}

// guestView predicts what the guest makes of a value: INT becomes a Luau number (FLOAT) when |v| <= 2^53,
// NIL map values disappear, trailing list holes disappear, INT/FLOAT keys with equal values collide.
func guestView(v Value) (Value, error) {
	switch x := v.(type) {
	case int64:
		if x > 1<<53 || x < -(1<<53) {
			return nil, fmt.Errorf("integer %d cannot be represented as a Luau number", x)
		}
		return float64(x), nil
	case []Value:
		out := make([]Value, 0, len(x))
		for _, e := range x {
			g, err := guestView(e)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		for len(out) > 0 && out[len(out)-1] == nil {
			out = out[:len(out)-1]
		}
		return out, nil
	case *Map:
		m := NewMap(x.Len())
		for i := 0; i < x.Len(); i++ {
			k, vv := x.At(i)
			gk, err := guestView(k)
			if err != nil {
				return nil, err
			}
			if f, ok := gk.(float64); ok && f == 0 {
				gk = 0.0 // -0 and 0 are one key
			}
			if _, dup := m.Get(gk); dup {
				return nil, fmt.Errorf("duplicate map key")
			}
			gv, err := guestView(vv)
			if err != nil {
				return nil, err
			}
			if gv != nil {
				m.Set(gk, gv)
			} else {
				m.Set(gk, nil) // placeholder so duplicates are still detected; dropped below
			}
		}
		out := NewMap(m.Len())
		m.Range(func(k, v Value) bool {
			if v != nil {
				out.Set(k, v)
			}
			return true
		})
		return out, nil
	}
	return v, nil
}

type vector struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"` // "ok" or "error"
	Hex        string `json:"hex"`
	Error      string `json:"error,omitempty"`       // kind error: substring of the decode error (both sides)
	GuestHex   string `json:"guest_hex,omitempty"`   // kind ok: what the guest re-encodes (maps compared unordered), if different
	GuestError string `json:"guest_error,omitempty"` // kind ok: the guest cannot represent it
	Value      *typed `json:"value,omitempty"`
}

type vectorFile struct {
	Comment string   `json:"comment"`
	Vectors []vector `json:"vectors"`
}

func vectorValues() []struct {
	name string
	v    Value
} {
	deep := Value([]Value{})
	for i := 0; i < 63; i++ {
		deep = []Value{deep}
	}
	return []struct {
		name string
		v    Value
	}{
		{"nil", nil}, {"null", Null}, {"true", true}, {"false", false},
		{"int small", int64(42)}, {"int negative", int64(-7)}, {"int 2^53", int64(1 << 53)},
		{"int max", int64(math.MaxInt64)}, {"float", 1.5}, {"float integral", 3.0},
		{"float -0", math.Copysign(0, -1)}, {"float nan", math.NaN()}, {"float inf", math.Inf(1)},
		{"string empty", ""}, {"string", "héllo"}, {"string binary", "\x00\x01\xff"},
		{"buffer", Buffer{0xde, 0xad, 0, 0xbe}}, {"buffer empty", Buffer{}},
		{"list empty", []Value{}}, {"list", []Value{1.0, "two", true, Null}},
		{"list hole", []Value{1.0, nil, 3.0}}, {"list trailing nil", []Value{1.0, nil}},
		{"map empty", NewMap(0)},
		{"map", MapOf("name", "MESSAGE_CREATE", "data", MapOf("content", "hi", "mentions", []Value{}, "flags", int64(0)))},
		{"map number keys", MapOf(1.5, "a", true, "b", int64(10), "c")},
		{"map nil value", MapOf("a", nil, "b", 1.0)},
		{"map int/float key collision", MapOf(int64(1), "a", 1.0, "b")},
		{"depth 64", deep},
	}
}

func buildVectors(t *testing.T) vectorFile {
	vf := vectorFile{Comment: "Shared value-encoding vectors (SPEC.md §3). Generated by `go test ./abi -run TestVectors -update`; checked by the Go tests and guest/tests/valcodec_test.c. Typed values: t = nil|null|bool|int (decimal)|float (bits hex)|str (hex)|buf (hex)|list|map."}
	for _, e := range vectorValues() {
		b, err := Encode(e.v)
		if err != nil {
			t.Fatal(e.name, err)
		}
		tv := toTyped(e.v)
		vec := vector{Name: e.name, Kind: "ok", Hex: hex.EncodeToString(b), Value: &tv}
		g, gerr := guestView(e.v)
		if gerr != nil {
			vec.GuestError = gerr.Error()
		} else if gb, _ := Encode(g); string(gb) != string(b) {
			vec.GuestHex = hex.EncodeToString(gb)
		}
		vf.Vectors = append(vf.Vectors, vec)
	}
	deep := ""
	for i := 0; i < 65; i++ {
		deep += "0801000000"
	}
	for _, e := range []struct{ name, hex, err string }{
		{"empty input", "", "truncated"},
		{"unknown tag", "0a", "unknown value tag"},
		{"trailing bytes", "0000", "trailing bytes"},
		{"truncated int", "040102", "truncated"},
		{"truncated string", "060500000061", "truncated"},
		{"hostile list count", "08ffffffff00", "truncated"},
		{"list as key", "09010000000800000000" + "00", "invalid map key"},
		{"nan key", "090100000005000000000000f87f00", "NaN map key"},
		{"duplicate key", "0902000000060100000061000601000000610" + "0", "duplicate map key"},
		{"too deep", deep + "00", "value nested too deeply (limit 64)"},
	} {
		vf.Vectors = append(vf.Vectors, vector{Name: e.name, Kind: "error", Hex: e.hex, Error: e.err})
	}
	return vf
}

func TestVectors(t *testing.T) {
	const path = "testdata/vectors.json"
	if *update {
		vf := buildVectors(t)
		// keep the vectors produced by the C encoder (valcodec_test --emit)
		if old, err := os.ReadFile(path); err == nil {
			var prev vectorFile
			if json.Unmarshal(old, &prev) == nil {
				for _, v := range prev.Vectors {
					if v.Kind == "c" {
						vf.Vectors = append(vf.Vectors, v)
					}
				}
			}
		}
		b, _ := json.MarshalIndent(vf, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) < 20 {
		t.Fatalf("only %d vectors", len(vf.Vectors))
	}
	for _, vec := range vf.Vectors {
		raw, err := hex.DecodeString(vec.Hex)
		if err != nil {
			t.Fatalf("%s: %v", vec.Name, err)
		}
		got, err := Decode(raw)
		switch vec.Kind {
		case "error":
			if err == nil || !contains(err.Error(), vec.Error) {
				t.Errorf("%s: got %v, want error %q", vec.Name, err, vec.Error)
			}
		case "ok", "c":
			if err != nil {
				t.Errorf("%s: %v", vec.Name, err)
				continue
			}
			want, err := fromTyped(*vec.Value)
			if err != nil {
				t.Fatalf("%s: %v", vec.Name, err)
			}
			if vec.Kind == "c" { // produced by the C encoder: table order is arbitrary
				if !EqualUnordered(got, want) {
					t.Errorf("%s (from C): got %v want %v", vec.Name, got, want)
				}
				continue
			}
			if !Equal(got, want) {
				t.Errorf("%s: got %v want %v", vec.Name, got, want)
			}
			if enc, _ := Encode(want); hex.EncodeToString(enc) != vec.Hex {
				t.Errorf("%s: Go encodes %x, file has %s", vec.Name, enc, vec.Hex)
			}
		default:
			t.Errorf("%s: unknown kind %q", vec.Name, vec.Kind)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
