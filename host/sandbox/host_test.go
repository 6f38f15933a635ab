package sandbox

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/palisade-bot/palisade/host/abihost"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// tinyModule assembles a wasm module that imports mod.name with type (i32, i32, i32) -> () and exports
// f(a, b, c) calling it, plus a one-page memory. Used to drive the host functions with hostile arguments.
func tinyModule(mod, name string) []byte {
	str := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	section := func(id byte, body []byte) []byte { return append([]byte{id, byte(len(body))}, body...) }
	var m []byte
	m = append(m, 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00)
	m = append(m, section(1, []byte{0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00})...)
	imp := []byte{0x01}
	imp = append(imp, str(mod)...)
	imp = append(imp, str(name)...)
	imp = append(imp, 0x00, 0x00)
	m = append(m, section(2, imp)...)
	m = append(m, section(3, []byte{0x01, 0x00})...)
	m = append(m, section(5, []byte{0x01, 0x00, 0x01})...)
	exp := []byte{0x02}
	exp = append(exp, str("f")...)
	exp = append(exp, 0x00, 0x01)
	exp = append(exp, str("memory")...)
	exp = append(exp, 0x02, 0x00)
	m = append(m, section(7, exp)...)
	body := []byte{0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0x10, 0x00, 0x0b}
	m = append(m, section(10, append([]byte{0x01, byte(len(body))}, body...))...)
	return m
}

func TestEngineRefusesForeignImports(t *testing.T) {
	tests := []struct {
		mod, name string
		want      string
	}{
		{"wasi_snapshot_preview1", "fd_write", "imports wasi_snapshot_preview1.fd_write, which the host does not provide"},
		{"env", "abort", "imports env.abort"},
		{"palisade_v1", "exec", "imports palisade_v1.exec"},
		{"palisade_v1", "syscall", "imports palisade_v1.syscall with type (i32, i32, i32) -> ()"},
		{"palisade_v1", "fuel", "imports palisade_v1.fuel with type (i32, i32, i32) -> ()"},
	}
	for _, tc := range tests {
		t.Run(tc.mod+"."+tc.name, func(t *testing.T) {
			_, err := NewEngine(context.Background(), Config{Wasm: tinyModule(tc.mod, tc.name)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewEngine error %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "does not export pal_run_script") {
				t.Errorf("error does not list the missing exports: %v", err)
			}
		})
	}
}

// TestHostWriteValidates calls the write import from a module with out-of-range pointers and unknown fds: each
// is recorded as a guest fault, nothing panics, and valid writes still work.
func TestHostWriteValidates(t *testing.T) {
	ctx := context.Background()
	e, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := e.rt.CompileModule(ctx, tinyModule(HostModule, "write"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := e.rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	if !mod.Memory().WriteString(100, "hello") {
		t.Fatal("cannot seed memory")
	}
	tests := []struct {
		name          string
		fd, ptr, n    uint32
		stdout, fault string
	}{
		{"valid", 1, 100, 5, "hello", ""},
		{"empty", 1, 100, 0, "", ""},
		{"ptr past end", 1, 65536, 1, "", "outside guest memory"},
		{"len past end", 1, 65530, 100, "", "outside guest memory"},
		{"huge len wraps", 1, 100, math.MaxUint32, "", "outside guest memory"},
		{"unknown fd", 7, 100, 5, "", "unknown fd 7"},
		{"negative fd", math.MaxUint32, 100, 5, "", "unknown fd -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			st := &runState{ctx: ctx, stdout: &out, stderr: &out}
			err := mod.ExportedFunction("f").CallWithStack(abihost.WithInstance(ctx, &abihost.Instance{State: st}),
				[]uint64{uint64(tc.fd), uint64(tc.ptr), uint64(tc.n)})
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if out.String() != tc.stdout {
				t.Errorf("wrote %q, want %q", out.String(), tc.stdout)
			}
			switch {
			case tc.fault == "" && st.fault != nil:
				t.Errorf("unexpected fault %v", st.fault)
			case tc.fault != "" && (st.fault == nil || !strings.Contains(st.fault.Error(), tc.fault)):
				t.Errorf("fault %v, want one containing %q", st.fault, tc.fault)
			}
		})
	}
}

func TestHostFuel(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		st    runState
		grant int64
		abort AbortReason
	}{
		{"unlimited", runState{ctx: context.Background()}, FuelRefill, AbortNone},
		{"before deadline", runState{ctx: context.Background(), deadline: time.Now().Add(time.Hour)}, FuelRefill, AbortNone},
		{"after deadline", runState{ctx: context.Background(), deadline: time.Now().Add(-time.Second)}, 0, AbortTimeout},
		{"canceled", runState{ctx: canceled}, 0, AbortCanceled},
		{"last partial grant", runState{ctx: context.Background(), fuelLimit: 250_000, fuelGranted: 200_000}, 50_000, AbortNone},
		{"fuel used up", runState{ctx: context.Background(), fuelLimit: 250_000, fuelGranted: 250_000}, 0, AbortFuel},
		{"stays aborted", runState{ctx: context.Background(), abort: AbortTimeout}, 0, AbortTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			stack := []uint64{uint64(st.Fuel(context.Background()))}
			if int64(stack[0]) != tc.grant || st.abort != tc.abort {
				t.Fatalf("grant %d abort %v, want %d %v", int64(stack[0]), st.abort, tc.grant, tc.abort)
			}
		})
	}
	// Outside a run the import never hands out fuel.
	stack := []uint64{42}
	(&abihost.Door{Resolve: abihost.ContextResolver}).Fuel(context.Background(), nil, stack)
	if stack[0] != 0 {
		t.Fatalf("fuel outside a run = %d", stack[0])
	}
}

func TestHostNow(t *testing.T) {
	e, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		clock  int32
		ok     func(float64) bool
		expect string
	}{
		{0, func(v float64) bool { return v >= 0 && v < 1e6 }, "monotonic seconds since start"},
		{1, func(v float64) bool { return v > 1.6e9 && math.Abs(v-float64(time.Now().Unix())) < 5 }, "Unix time"},
		{2, math.IsNaN, "NaN"},
		{-1, math.IsNaN, "NaN"},
	} {
		st := &runState{start: e.start}
		stack := []uint64{api.EncodeF64(st.Now(context.Background(), tc.clock))}
		if v := api.DecodeF64(stack[0]); !tc.ok(v) {
			t.Errorf("now(%d) = %v, want %s", tc.clock, v, tc.expect)
		}
	}
}
