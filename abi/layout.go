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

// wreader reads a wasm binary. Its first error sticks: every later read returns a zero value, so a parser reads
// a whole construct and checks r.err once (loops over counts stop on it).
type wreader struct {
	b   []byte
	off int
	err error
}

func (r *wreader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *wreader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail(errBadWasm)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *wreader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 64 && r.err == nil; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail(errBadWasm)
	return 0
}

// bytes returns the next n bytes.
func (r *wreader) bytes(n uint64) []byte {
	if r.err != nil || uint64(len(r.b)-r.off) < n {
		r.fail(errBadWasm)
		return nil
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

func (r *wreader) name() string { return string(r.bytes(r.uleb())) }

// valTypes reads a vector of value types.
func (r *wreader) valTypes() []string {
	n := r.uleb()
	var out []string
	for j := uint64(0); j < n && r.err == nil; j++ {
		out = append(out, valType(r.byte()))
	}
	return out
}

// globalType reads a global's value type and mutability.
func (r *wreader) globalType() (string, bool) {
	c, m := r.byte(), r.byte()
	return valType(c), m == 1
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

func (r *wreader) limits() {
	flags := r.byte()
	r.uleb() // minimum
	if flags&1 != 0 {
		r.uleb() // maximum
	}
}

// constExpr skips a constant expression up to and including its end opcode.
func (r *wreader) constExpr() {
	for r.err == nil {
		switch op := r.byte(); op {
		case 0x0b:
			return
		case 0x41, 0x42, 0x23, 0xd2: // i32.const, i64.const, global.get, ref.func
			r.uleb()
		case 0x43:
			r.bytes(4)
		case 0x44:
			r.bytes(8)
		case 0xd0:
			r.byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		default:
			r.fail(fmt.Errorf("%w: unsupported opcode 0x%02x in constant expression", errBadWasm, op))
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
	type export struct {
		name string
		kind byte
		idx  uint64
	}
	var (
		types   []ftype
		funcs   []int // type index per function index
		globals []gtype
		exports []export
		out     WasmLayout
	)
	r := &wreader{b: wasm, off: 8}
	for r.off < len(r.b) && r.err == nil {
		id := r.byte()
		s := &wreader{b: r.bytes(r.uleb())}
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d overruns the file", errBadWasm, id)
		}
		var n uint64 // the sections read here start with their entry count
		switch id {
		case 1, 2, 3, 6, 7:
			n = s.uleb()
		}
		switch id {
		case 1: // type
			for i := uint64(0); i < n && s.err == nil; i++ {
				if form := s.byte(); form != 0x60 {
					s.fail(fmt.Errorf("%w: unsupported type form 0x%02x", errBadWasm, form))
					break
				}
				params := s.valTypes()
				types = append(types, ftype{params, s.valTypes()})
			}
		case 2: // import
			for i := uint64(0); i < n && s.err == nil; i++ {
				it := WasmItem{Module: s.name(), Name: s.name()}
				switch kind := s.byte(); kind {
				case 0:
					if ti := s.uleb(); s.err == nil && ti >= uint64(len(types)) {
						s.fail(fmt.Errorf("%w: import %s.%s has bad type index", errBadWasm, it.Module, it.Name))
					} else if s.err == nil {
						it.Kind, it.Params, it.Results = "func", types[ti].params, types[ti].results
						funcs = append(funcs, int(ti))
					}
				case 1:
					it.Kind = "table"
					s.byte()
					s.limits()
				case 2:
					it.Kind = "memory"
					s.limits()
				case 3:
					it.Kind = "global"
					it.Type, it.Mutable = s.globalType()
					globals = append(globals, gtype{it.Type, it.Mutable})
				default:
					s.fail(fmt.Errorf("%w: unknown import kind %d", errBadWasm, kind))
				}
				out.Imports = append(out.Imports, it)
			}
		case 3: // function
			for i := uint64(0); i < n && s.err == nil; i++ {
				ti := s.uleb()
				if s.err == nil && ti >= uint64(len(types)) {
					s.fail(fmt.Errorf("%w: function has bad type index", errBadWasm))
				}
				funcs = append(funcs, int(ti))
			}
		case 6: // global
			for i := uint64(0); i < n && s.err == nil; i++ {
				t, mut := s.globalType()
				s.constExpr()
				out.Globals = append(out.Globals, WasmItem{Kind: "global", Type: t, Mutable: mut, Index: uint32(len(globals))})
				globals = append(globals, gtype{t, mut})
			}
		case 7: // export
			for i := uint64(0); i < n && s.err == nil; i++ {
				e := export{name: s.name(), kind: s.byte(), idx: s.uleb()}
				if e.idx > 1<<31 {
					s.fail(errBadWasm)
				}
				exports = append(exports, e)
			}
		}
		if s.err != nil {
			return nil, s.err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	for _, e := range exports {
		it := WasmItem{Name: e.name, Index: uint32(e.idx)}
		switch e.kind {
		case 0:
			if e.idx >= uint64(len(funcs)) {
				return nil, fmt.Errorf("%w: export %q has bad function index", errBadWasm, e.name)
			}
			ft := types[funcs[e.idx]]
			it.Kind, it.Params, it.Results = "func", ft.params, ft.results
		case 1:
			it.Kind = "table"
		case 2:
			it.Kind = "memory"
		case 3:
			if e.idx >= uint64(len(globals)) {
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
