package abi

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// WasmItem is one import or export found in a wasm binary.
type WasmItem struct {
	Module  string   // imports only
	Name    string   //
	Kind    string   // "func", "table", "memory", "global"
	Params  []string // funcs
	Results []string // funcs
	Type    string   // globals: value type
	Mutable bool     // globals
	Index   uint32   // exports and defined globals: index in the module's space of that kind
}

func (w WasmItem) sig() string {
	switch w.Kind {
	case "func":
		return fmt.Sprintf("func(%s) -> (%s)", strings.Join(w.Params, ","), strings.Join(w.Results, ","))
	case "global":
		if w.Mutable {
			return "global mut " + w.Type
		}
		return "global " + w.Type
	}
	return w.Kind
}

// WasmLayout is the import and export surface of a wasm binary, plus the globals it defines (a memory snapshot
// must be able to save and restore every mutable one).
type WasmLayout struct {
	Imports []WasmItem
	Exports []WasmItem
	Globals []WasmItem // defined (not imported) globals, with Index
}

var errBadWasm = errors.New("malformed wasm binary")

type wreader struct {
	b   []byte
	off int
}

func (r *wreader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errBadWasm
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *wreader) uleb() (uint64, error) {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errBadWasm
}

func (r *wreader) skip(n int) error {
	if n < 0 || len(r.b)-r.off < n {
		return errBadWasm
	}
	r.off += n
	return nil
}

func (r *wreader) name() (string, error) {
	n, err := r.uleb()
	if err != nil {
		return "", err
	}
	if uint64(len(r.b)-r.off) < n {
		return "", errBadWasm
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s, nil
}

func valType(c byte) string {
	switch c {
	case 0x7f:
		return "i32"
	case 0x7e:
		return "i64"
	case 0x7d:
		return "f32"
	case 0x7c:
		return "f64"
	case 0x7b:
		return "v128"
	case 0x70:
		return "funcref"
	case 0x6f:
		return "externref"
	}
	return fmt.Sprintf("0x%02x", c)
}

func (r *wreader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.uleb(); err != nil {
		return err
	}
	if flags&1 != 0 {
		if _, err := r.uleb(); err != nil {
			return err
		}
	}
	return nil
}

// constExpr skips a constant expression up to and including its end opcode.
func (r *wreader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b:
			return nil
		case 0x41, 0x42, 0x23, 0xd2: // i32.const, i64.const, global.get, ref.func
			if _, err := r.uleb(); err != nil {
				return err
			}
		case 0x43:
			if err := r.skip(4); err != nil {
				return err
			}
		case 0x44:
			if err := r.skip(8); err != nil {
				return err
			}
		case 0xd0:
			if _, err := r.byte(); err != nil {
				return err
			}
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		default:
			return fmt.Errorf("%w: unsupported opcode 0x%02x in constant expression", errBadWasm, op)
		}
	}
}

// ParseLayout reads the import and export sections of a wasm binary (with function signatures and global
// types). It never panics on malformed input.
func ParseLayout(wasm []byte) (*WasmLayout, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || wasm[4] != 1 || wasm[5] != 0 || wasm[6] != 0 || wasm[7] != 0 {
		return nil, fmt.Errorf("%w: bad header", errBadWasm)
	}
	type ftype struct{ params, results []string }
	type gtype struct {
		t   string
		mut bool
	}
	var (
		types   []ftype
		funcs   []int // type index per function index
		globals []gtype
		out     WasmLayout
		exports []struct {
			name string
			kind byte
			idx  int
		}
	)
	r := &wreader{b: wasm, off: 8}
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.uleb()
		if err != nil {
			return nil, err
		}
		if uint64(len(r.b)-r.off) < size {
			return nil, fmt.Errorf("%w: section %d overruns the file", errBadWasm, id)
		}
		s := &wreader{b: r.b[r.off : r.off+int(size)]}
		r.off += int(size)
		switch id {
		case 1: // type
			n, err := s.uleb()
			if err != nil {
				return nil, err
			}
			for i := uint64(0); i < n; i++ {
				form, err := s.byte()
				if err != nil {
					return nil, err
				}
				if form != 0x60 {
					return nil, fmt.Errorf("%w: unsupported type form 0x%02x", errBadWasm, form)
				}
				var ft ftype
				for _, dst := range []*[]string{&ft.params, &ft.results} {
					m, err := s.uleb()
					if err != nil {
						return nil, err
					}
					if m > uint64(len(s.b)) {
						return nil, errBadWasm
					}
					*dst = []string{}
					for j := uint64(0); j < m; j++ {
						c, err := s.byte()
						if err != nil {
							return nil, err
						}
						*dst = append(*dst, valType(c))
					}
				}
				types = append(types, ft)
			}
		case 2: // import
			n, err := s.uleb()
			if err != nil {
				return nil, err
			}
			for i := uint64(0); i < n; i++ {
				mod, err := s.name()
				if err != nil {
					return nil, err
				}
				name, err := s.name()
				if err != nil {
					return nil, err
				}
				kind, err := s.byte()
				if err != nil {
					return nil, err
				}
				it := WasmItem{Module: mod, Name: name}
				switch kind {
				case 0:
					ti, err := s.uleb()
					if err != nil {
						return nil, err
					}
					if ti >= uint64(len(types)) {
						return nil, fmt.Errorf("%w: import %s.%s has bad type index", errBadWasm, mod, name)
					}
					it.Kind, it.Params, it.Results = "func", types[ti].params, types[ti].results
					funcs = append(funcs, int(ti))
				case 1:
					it.Kind = "table"
					if _, err := s.byte(); err != nil {
						return nil, err
					}
					if err := s.limits(); err != nil {
						return nil, err
					}
				case 2:
					it.Kind = "memory"
					if err := s.limits(); err != nil {
						return nil, err
					}
				case 3:
					c, err := s.byte()
					if err != nil {
						return nil, err
					}
					m, err := s.byte()
					if err != nil {
						return nil, err
					}
					it.Kind, it.Type, it.Mutable = "global", valType(c), m == 1
					globals = append(globals, gtype{valType(c), m == 1})
				default:
					return nil, fmt.Errorf("%w: unknown import kind %d", errBadWasm, kind)
				}
				out.Imports = append(out.Imports, it)
			}
		case 3: // function
			n, err := s.uleb()
			if err != nil {
				return nil, err
			}
			if n > uint64(len(s.b)) {
				return nil, errBadWasm
			}
			for i := uint64(0); i < n; i++ {
				ti, err := s.uleb()
				if err != nil {
					return nil, err
				}
				if ti >= uint64(len(types)) {
					return nil, fmt.Errorf("%w: function has bad type index", errBadWasm)
				}
				funcs = append(funcs, int(ti))
			}
		case 6: // global
			n, err := s.uleb()
			if err != nil {
				return nil, err
			}
			for i := uint64(0); i < n; i++ {
				c, err := s.byte()
				if err != nil {
					return nil, err
				}
				m, err := s.byte()
				if err != nil {
					return nil, err
				}
				if err := s.constExpr(); err != nil {
					return nil, err
				}
				out.Globals = append(out.Globals, WasmItem{Name: "", Kind: "global", Type: valType(c), Mutable: m == 1, Index: uint32(len(globals))})
				globals = append(globals, gtype{valType(c), m == 1})
			}
		case 7: // export
			n, err := s.uleb()
			if err != nil {
				return nil, err
			}
			for i := uint64(0); i < n; i++ {
				name, err := s.name()
				if err != nil {
					return nil, err
				}
				kind, err := s.byte()
				if err != nil {
					return nil, err
				}
				idx, err := s.uleb()
				if err != nil {
					return nil, err
				}
				if idx > 1<<31 {
					return nil, errBadWasm
				}
				exports = append(exports, struct {
					name string
					kind byte
					idx  int
				}{name, kind, int(idx)})
			}
		}
	}
	for _, e := range exports {
		it := WasmItem{Name: e.name, Index: uint32(e.idx)}
		switch e.kind {
		case 0:
			if e.idx >= len(funcs) {
				return nil, fmt.Errorf("%w: export %q has bad function index", errBadWasm, e.name)
			}
			ft := types[funcs[e.idx]]
			it.Kind, it.Params, it.Results = "func", ft.params, ft.results
		case 1:
			it.Kind = "table"
		case 2:
			it.Kind = "memory"
		case 3:
			if e.idx >= len(globals) {
				return nil, fmt.Errorf("%w: export %q has bad global index", errBadWasm, e.name)
			}
			it.Kind, it.Type, it.Mutable = "global", globals[e.idx].t, globals[e.idx].mut
		default:
			return nil, fmt.Errorf("%w: unknown export kind %d", errBadWasm, e.kind)
		}
		out.Exports = append(out.Exports, it)
	}
	return &out, nil
}

func specItem(f Func, module string, export bool) WasmItem {
	it := WasmItem{Name: f.Name, Kind: f.Kind}
	if !export {
		it.Module, it.Kind = module, "func"
	}
	if it.Kind == "" {
		it.Kind = "func"
	}
	if it.Kind == "func" {
		it.Params = f.ParamTypes()
		it.Results = append([]string{}, f.Results...)
	}
	if it.Kind == "global" {
		it.Type, it.Mutable = f.Type, f.Mutable
	}
	return it
}

// Diff lists every difference between a binary's layout and the spec (exact match of imports and exports,
// with signatures). An empty result means the binary matches.
func (s *Spec) Diff(l *WasmLayout) []string {
	var diffs []string
	cmp := func(what string, want, got []WasmItem) {
		key := func(w WasmItem) string { return w.Module + "." + w.Name }
		wm := map[string]WasmItem{}
		for _, w := range want {
			wm[key(w)] = w
		}
		gm := map[string]WasmItem{}
		for _, g := range got {
			gm[key(g)] = g
		}
		for k, w := range wm {
			g, ok := gm[k]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s %s: in abi.json (%s) but missing from the binary", what, strings.TrimPrefix(k, "."), w.sig()))
			case g.sig() != w.sig():
				diffs = append(diffs, fmt.Sprintf("%s %s: abi.json says %s, binary has %s", what, strings.TrimPrefix(k, "."), w.sig(), g.sig()))
			}
		}
		for k, g := range gm {
			if _, ok := wm[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s %s: in the binary (%s) but not in abi.json", what, strings.TrimPrefix(k, "."), g.sig()))
			}
		}
	}
	var wi, we []WasmItem
	for _, f := range s.Imports {
		wi = append(wi, specItem(f, s.Module, false))
	}
	for _, f := range s.Exports {
		we = append(we, specItem(f, "", true))
	}
	cmp("import", wi, l.Imports)
	cmp("export", we, l.Exports)
	sort.Strings(diffs)
	return diffs
}

// CheckLayout parses a wasm binary and fails on any difference from the spec.
func (s *Spec) CheckLayout(wasm []byte) error {
	l, err := ParseLayout(wasm)
	if err != nil {
		return err
	}
	if d := s.Diff(l); len(d) > 0 {
		return fmt.Errorf("guest ABI differs from abi.json (version %d):\n  %s", s.Version, strings.Join(d, "\n  "))
	}
	return nil
}
