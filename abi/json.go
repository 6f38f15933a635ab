package abi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// FromJSON converts a JSON document (for example a raw gateway "d" payload) to a Value following AntiRaid's
// bridging rules: objects become ordered *Map (key order kept), arrays become []Value (the guest gives them the
// array metatable), null becomes Null, integer literals that fit int64 become int64, other numbers float64.
func FromJSON(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := jsonValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errf("json: trailing data after value")
	}
	return v, nil
}

func jsonValue(dec *json.Decoder, depth int) (Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	switch t := tok.(type) {
	case nil:
		return Null, nil
	case bool:
		return t, nil
	case string:
		return t, nil
	case json.Number:
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errf("json: bad number %q", s)
		}
		return f, nil
	case json.Delim:
		if depth+1 > MaxValueDepth {
			return nil, &limitErr{ErrTooDeep, MaxValueDepth, ""}
		}
		switch t {
		case '[':
			out := []Value{}
			for dec.More() {
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token()
			return out, err
		case '{':
			m := NewMap(0)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				m.Set(k, v)
			}
			_, err := dec.Token()
			return m, err
		}
	}
	return nil, errf("json: unexpected token %v", tok)
}

// ToJSON renders a Value as JSON: nil and Null → null, Buffer → base64 string, non-string map keys →
// their decimal/boolean text; NaN and infinities are an error.
func ToJSON(v Value) ([]byte, error) {
	var b bytes.Buffer
	if err := toJSON(&b, v, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func toJSON(b *bytes.Buffer, v Value, depth int) error {
	if depth > MaxValueDepth {
		return &limitErr{ErrTooDeep, MaxValueDepth, ""}
	}
	switch x := v.(type) {
	case nil, NullType:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return errf("cannot represent %v in JSON", x)
		}
		s, _ := json.Marshal(x)
		b.Write(s)
	case string:
		s, _ := json.Marshal(x)
		b.Write(s)
	case Buffer:
		b.WriteByte('"')
		b.WriteString(base64.StdEncoding.EncodeToString(x))
		b.WriteByte('"')
	case []Value:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := toJSON(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *Map:
		b.WriteByte('{')
		for i := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			var ks string
			switch k := x.keys[i].(type) {
			case string:
				ks = k
			case int64:
				ks = strconv.FormatInt(k, 10)
			case float64:
				ks = strconv.FormatFloat(k, 'g', -1, 64)
			case bool:
				ks = strconv.FormatBool(k)
			default:
				return errf("cannot represent map key of type %T in JSON", k)
			}
			s, _ := json.Marshal(ks)
			b.Write(s)
			b.WriteByte(':')
			if err := toJSON(b, x.vals[i], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return errf("cannot represent Go type %T in JSON", v)
	}
	return nil
}
