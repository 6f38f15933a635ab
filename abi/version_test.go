package abi

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ---- a tiny wasm assembler for test modules (no WAT toolchain needed) ----

func uleb(v uint64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
		} else {
			return append(out, c)
		}
	}
}

func sleb(v int64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

func wname(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func vt(s string) byte {
	return map[string]byte{"i32": 0x7f, "i64": 0x7e, "f32": 0x7d, "f64": 0x7c}[s]
}

func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
}

func vec(items [][]byte) []byte {
	out := uleb(uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

type tfunc struct {
	module, name    string
	params, results []string
	ret             int64 // exports returning one integer: the constant returned
}

// buildModule assembles a module importing imps and exporting funcs (each returning zero values or ret),
// a 1-page memory "memory" and, if sp, a mutable i32 global "__stack_pointer".
func buildModule(imps, funcs []tfunc, sp bool) []byte {
	var types [][]byte
	typeOf := func(f tfunc) uint64 {
		t := []byte{0x60}
		var ps, rs []byte
		for _, p := range f.params {
			ps = append(ps, vt(p))
		}
		for _, r := range f.results {
			rs = append(rs, vt(r))
		}
		t = append(append(append(t, uleb(uint64(len(ps)))...), ps...), append(uleb(uint64(len(rs))), rs...)...)
		types = append(types, t)
		return uint64(len(types) - 1)
	}
	var imports, fsec, exports, code [][]byte
	for _, f := range imps {
		imports = append(imports, append(append(append(wname(f.module), wname(f.name)...), 0x00), uleb(typeOf(f))...))
	}
	for i, f := range funcs {
		fsec = append(fsec, uleb(typeOf(f)))
		exports = append(exports, append(append(wname(f.name), 0x00), uleb(uint64(len(imps)+i))...))
		body := []byte{0x00} // no locals
		for _, r := range f.results {
			switch r {
			case "i32":
				body = append(append(body, 0x41), sleb(f.ret)...)
			case "i64":
				body = append(append(body, 0x42), sleb(f.ret)...)
			case "f32":
				body = append(body, 0x43, 0, 0, 0, 0)
			case "f64":
				body = append(body, 0x44, 0, 0, 0, 0, 0, 0, 0, 0)
			}
		}
		body = append(body, 0x0b)
		code = append(code, append(uleb(uint64(len(body))), body...))
	}
	exports = append(exports, append(wname("memory"), 0x02, 0x00))
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = append(out, section(1, vec(types))...)
	if len(imports) > 0 {
		out = append(out, section(2, vec(imports))...)
	}
	out = append(out, section(3, vec(fsec))...)
	out = append(out, section(5, []byte{0x01, 0x00, 0x01})...)
	if sp {
		out = append(out, section(6, vec([][]byte{{0x7f, 0x01, 0x41, 0x80, 0x80, 0x04, 0x0b}}))...)
		exports = append(exports, append(wname("__stack_pointer"), 0x03, 0x00))
	}
	out = append(out, section(7, vec(exports))...)
	out = append(out, section(10, vec(code))...)
	return out
}

// specModule builds a module whose layout is exactly the spec's, announcing version ver.
func specModule(s *Spec, ver int64) []byte {
	var imps, funcs []tfunc
	for _, f := range s.Imports {
		imps = append(imps, tfunc{module: s.Module, name: f.Name, params: f.ParamTypes(), results: f.Results})
	}
	for _, f := range s.Exports {
		if f.Kind == "func" {
			funcs = append(funcs, tfunc{name: f.Name, params: f.ParamTypes(), results: f.Results, ret: ver})
		}
	}
	return buildModule(imps, funcs, true)
}

// v0Module builds the pre-release layout.
func v0Module(ver int64) []byte {
	var imps, funcs []tfunc
	for _, n := range Current.Previous.Imports {
		f, _ := Current.Import(n)
		imps = append(imps, tfunc{module: Current.Previous.Module, name: n, params: f.ParamTypes(), results: f.Results})
	}
	for _, n := range Current.Previous.Exports {
		if f, ok := Current.Export(n); ok && f.Kind == "func" {
			funcs = append(funcs, tfunc{name: n, params: f.ParamTypes(), results: f.Results, ret: ver})
		}
	}
	return buildModule(imps, funcs, true)
}

func hostRuntime(t *testing.T) (context.Context, wazero.Runtime) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	b := r.NewHostModuleBuilder(Current.Module)
	for _, f := range Current.Imports {
		var ps, rs []api.ValueType
		for _, p := range f.ParamTypes() {
			ps = append(ps, map[string]api.ValueType{"i32": api.ValueTypeI32, "i64": api.ValueTypeI64, "f64": api.ValueTypeF64}[p])
		}
		for _, p := range f.Results {
			rs = append(rs, map[string]api.ValueType{"i32": api.ValueTypeI32, "i64": api.ValueTypeI64, "f64": api.ValueTypeF64}[p])
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}), ps, rs).Export(f.Name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx, r
}

func negotiate(t *testing.T, wasm []byte) (Compat, error) {
	ctx, r := hostRuntime(t)
	cm, err := r.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if c, err := CheckCompiled(cm); err != nil {
		return c, err
	}
	mod, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return Negotiate(ctx, cm, mod)
}

func TestVersionNegotiation(t *testing.T) {
	c, err := negotiate(t, specModule(Current, 1))
	if err != nil || c.Version != 1 || !c.Events {
		t.Fatalf("current version: %+v %v", c, err)
	}
	c, err = negotiate(t, v0Module(0))
	if err != nil || c.Version != 0 || c.Events {
		t.Fatalf("previous version: %+v %v", c, err)
	}
	_, err = negotiate(t, specModule(Current, 7))
	if err == nil || err.Error() != "guest ABI version 7 is not supported: this host speaks ABI version 1 and also accepts version 0" {
		t.Fatalf("unknown announced version: %v", err)
	}
	_, err = negotiate(t, specModule(Current, 0))
	if err == nil || !strings.Contains(err.Error(), "announces ABI version 0 but its imports and exports have the version 1 layout") {
		t.Fatalf("mismatch: %v", err)
	}
	// a guest built for a future ABI imports palisade_v2: refused before instantiation
	v2 := *Current
	v2.Module = "palisade_v2"
	ctx, r := hostRuntime(t)
	cm, err := r.CompileModule(ctx, specModule(&v2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckCompiled(cm); err == nil || err.Error() != `guest was built for ABI version 2 (it imports module "palisade_v2"): this host speaks ABI version 1 and also accepts version 0` {
		t.Fatalf("v2 module: %v", err)
	}
	// WASI imports are refused
	wasi := buildModule([]tfunc{{module: "wasi_snapshot_preview1", name: "fd_write", params: []string{"i32", "i32", "i32", "i32"}, results: []string{"i32"}}},
		[]tfunc{{name: "pal_abi_version", results: []string{"i32"}, ret: 1}}, false)
	cm, err = r.CompileModule(ctx, wasi)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckCompiled(cm); err == nil || !strings.Contains(err.Error(), "wasi_snapshot_preview1.fd_write") {
		t.Fatalf("wasi: %v", err)
	}
	// no version export
	cm, _ = r.CompileModule(ctx, buildModule(nil, nil, false))
	if _, err := CheckCompiled(cm); err == nil || !strings.Contains(err.Error(), "pal_abi_version") {
		t.Fatalf("no version export: %v", err)
	}
	for _, v := range []uint32{0, 1} {
		if err := CheckVersion(v); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLayoutCheck(t *testing.T) {
	good := specModule(Current, 1)
	if err := Current.CheckLayout(good); err != nil {
		t.Fatalf("spec module does not match its own spec: %v", err)
	}
	// drift is detected: drop an export, change a signature
	s := *Current
	s.Exports = append([]Func(nil), Current.Exports...)
	s.Exports = s.Exports[:len(s.Exports)-1]
	s.Imports = append([]Func(nil), Current.Imports...)
	s.Imports[0].Results = []string{"i32"}
	err := Current.CheckLayout(specModule(&s, 1))
	if err == nil || !strings.Contains(err.Error(), "pal_event_cancel: in abi.json") || !strings.Contains(err.Error(), "import palisade_v1.fuel: abi.json says func() -> (i64), binary has func() -> (i32)") {
		t.Fatalf("drift not reported: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("\x00asm\x01\x00\x00\x00\x07\xff"), good[:len(good)/2]} {
		if err := Current.CheckLayout(bad); err == nil {
			t.Fatalf("malformed binary accepted")
		}
	}
}

// TestABILock compares the built guest (guest/palisade.wasm) with abi.json. It skips while the guest has not
// been built, unless PALISADE_REQUIRE_WASM=1.
func TestABILock(t *testing.T) {
	path := os.Getenv("PALISADE_WASM")
	if path == "" {
		path = "../guest/palisade.wasm"
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("PALISADE_REQUIRE_WASM") == "1" {
			t.Fatalf("guest not built: %v", err)
		}
		t.Skipf("guest not built (%v); run `make guest`", err)
	}
	if err := Current.CheckLayout(wasm); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseLayout(f *testing.F) {
	f.Add(specModule(Current, 1))
	f.Add(v0Module(0))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLayout(b)
		if err == nil {
			_ = Current.Diff(l)
		}
	})
}

func TestDescribe(t *testing.T) {
	var b strings.Builder
	if err := Describe(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"ABI version 1", "syscall(op_ptr i32, op_len i32, arg_ptr i32, arg_len i32, out_ptr i32, out_cap i32) -> i64", "pal_event_resume", "PENDING", "limits: value 4194304 bytes, depth 64"} {
		if !strings.Contains(out, want) {
			t.Errorf("Describe output lacks %q", want)
		}
	}
}
