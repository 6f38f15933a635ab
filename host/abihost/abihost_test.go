package abihost

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/palisade-bot/palisade/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// memModule is a hand-assembled wasm module that only defines and exports a 1-page memory.
var memModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
	0x05, 0x03, 0x01, 0x00, 0x01, // memory section: 1 memory, min 1 page
	0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, // export "memory"
}

type fakeState struct {
	caps    map[string]bool
	rate    error
	writes  []string
	nextID  uint32
	pending int
	inEvent bool
}

func (s *fakeState) Fuel(context.Context) int64 { return 1000 }
func (s *fakeState) Write(_ context.Context, fd int32, p []byte) {
	s.writes = append(s.writes, string(p))
}
func (s *fakeState) Now(_ context.Context, clock int32) float64 {
	if clock == 1 {
		return 1.7e9
	}
	return math.NaN()
}
func (s *fakeState) HasCap(_ context.Context, c string) bool { return s.caps[c] || s.caps["*"] }
func (s *fakeState) RateLimit(context.Context, string) error { return s.rate }
func (s *fakeState) StartAsync(_ context.Context, op *Op, arg abi.Value) (uint32, error) {
	if !s.inEvent {
		return 0, ErrNoContext
	}
	if s.pending >= 2 {
		return 0, ErrBusy
	}
	s.pending++
	s.nextID++
	return s.nextID, nil
}

func testOps(t testing.TB) *Ops {
	ops, err := NewOps(
		&Op{Name: "echo", Sync: func(_ context.Context, _ State, arg abi.Value) (abi.Value, error) { return arg, nil }},
		&Op{Name: "fail", Sync: func(context.Context, State, abi.Value) (abi.Value, error) {
			return nil, errors.New("it failed")
		}},
		&Op{Name: "boom", Sync: func(context.Context, State, abi.Value) (abi.Value, error) { panic("boom") }},
		&Op{Name: "bad.result", Sync: func(context.Context, State, abi.Value) (abi.Value, error) { return func() {}, nil }},
		&Op{Name: "discord.create_message", Cap: "discord:create_message", Async: true},
		&Op{Name: "small", MaxArg: 16, Sync: func(context.Context, State, abi.Value) (abi.Value, error) { return true, nil }},
	)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

type harness struct {
	ctx  context.Context
	mod  api.Module
	door *Door
	inst *Instance
	st   *fakeState
}

func newHarness(t testing.TB) *harness {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	mod, err := r.Instantiate(ctx, memModule)
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeState{caps: map[string]bool{}, inEvent: true}
	inst := &Instance{State: st, Ops: testOps(t)}
	return &harness{ctx: WithInstance(ctx, inst), mod: mod, door: &Door{Resolve: ContextResolver}, inst: inst, st: st}
}

// call places op at 0, arg at 1024, out at 8192 and runs the syscall handler.
func (h *harness) call(op string, arg []byte, outCap uint32) (int32, uint32, []byte) {
	mem := h.mod.Memory()
	mem.Write(0, []byte(op))
	mem.Write(1024, arg)
	stack := []uint64{0, uint64(len(op)), 1024, uint64(len(arg)), 8192, uint64(outCap)}
	h.door.Syscall(h.ctx, h.mod, stack)
	st, low := int32(stack[0]>>32), uint32(stack[0])
	var out []byte
	if st != abi.SysPending && st != abi.SysParked {
		out, _ = mem.Read(8192, low)
	}
	return st, low, append([]byte(nil), out...)
}

func enc(t testing.TB, v abi.Value) []byte {
	b, err := abi.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeMsg(t testing.TB, b []byte) string {
	v, err := abi.Decode(b)
	if err != nil {
		t.Fatalf("message not decodable: %v (%x)", err, b)
	}
	s, _ := v.(string)
	return s
}

func TestSyscall(t *testing.T) {
	h := newHarness(t)
	arg := enc(t, abi.MapOf("content", "hi", "n", 1.5))

	st, _, out := h.call("echo", arg, 4096)
	if st != abi.SysOK || string(out) != string(arg) {
		t.Fatalf("echo: %d %x", st, out)
	}
	st, _, out = h.call("fail", enc(t, nil), 4096)
	if st != abi.SysError || decodeMsg(t, out) != "it failed" {
		t.Fatalf("fail: %d %q", st, out)
	}
	st, _, out = h.call("boom", enc(t, nil), 4096)
	if st != abi.SysEInternal || decodeMsg(t, out) != "internal error in syscall" {
		t.Fatalf("boom: %d %q", st, out)
	}
	st, _, out = h.call("bad.result", enc(t, nil), 4096)
	if st != abi.SysError || !strings.Contains(decodeMsg(t, out), "cannot be encoded") {
		t.Fatalf("bad.result: %d %q", st, out)
	}
	st, _, out = h.call("nope", enc(t, nil), 4096)
	if st != abi.SysEUnknown || decodeMsg(t, out) != `unknown syscall op "nope"` {
		t.Fatalf("unknown: %d %q", st, out)
	}
	st, _, _ = h.call("bad name!", enc(t, nil), 4096)
	if st != abi.SysEUnknown {
		t.Fatalf("bad name: %d", st)
	}
	st, _, out = h.call("discord.create_message", arg, 4096)
	if st != abi.SysEDenied || !strings.Contains(decodeMsg(t, out), "needs capability discord:create_message") {
		t.Fatalf("denied: %d %q", st, out)
	}
	h.st.caps["discord:create_message"] = true
	h.st.rate = errors.New("rate limited: try again in 2s")
	if st, _, out = h.call("discord.create_message", arg, 4096); st != abi.SysERate || decodeMsg(t, out) != "rate limited: try again in 2s" {
		t.Fatalf("rate: %d %q", st, out)
	}
	h.st.rate = nil
	st, low, _ := h.call("discord.create_message", arg, 4096)
	if st != abi.SysPending || low != 1 {
		t.Fatalf("async: %d %d", st, low)
	}
	h.call("discord.create_message", arg, 4096)
	if st, _, _ = h.call("discord.create_message", arg, 4096); st != abi.SysEBusy {
		t.Fatalf("busy: %d", st)
	}
	h.st.inEvent, h.st.pending = false, 0
	if st, _, _ = h.call("discord.create_message", arg, 4096); st != abi.SysENotAsync {
		t.Fatalf("no context: %d", st)
	}
	if st, _, out = h.call("echo", []byte{0x0a}, 4096); st != abi.SysEBadArg || !strings.Contains(decodeMsg(t, out), "unknown value tag") {
		t.Fatalf("bad arg: %d %q", st, out)
	}
	if st, _, _ = h.call("small", enc(t, strings.Repeat("x", 20)), 4096); st != abi.SysETooLarge {
		t.Fatalf("too large: %d", st)
	}
	// small out buffer: message truncated, never overflowing out_cap
	if st, low, out = h.call("nope", enc(t, nil), 8); st != abi.SysEUnknown || low != 8 || decodeMsg(t, out) != "unk" {
		t.Fatalf("truncated message: %d %d %q", st, low, out)
	}
	if st, low, _ = h.call("nope", enc(t, nil), 4); st != abi.SysEUnknown || low != 0 {
		t.Fatalf("no room for message: %d %d", st, low)
	}
}

func TestParked(t *testing.T) {
	h := newHarness(t)
	arg := enc(t, strings.Repeat("y", 300))
	st, low, _ := h.call("echo", arg, 100)
	if st != abi.SysParked || low != uint32(len(arg)) {
		t.Fatalf("parked: %d %d", st, low)
	}
	if st, low, _ = h.call(abi.TakeOp, nil, 100); st != abi.SysParked || low != uint32(len(arg)) {
		t.Fatalf("take with small buffer: %d %d", st, low)
	}
	st, _, out := h.call(abi.TakeOp, nil, 4096)
	if st != abi.SysOK || string(out) != string(arg) {
		t.Fatalf("take: %d", st)
	}
	if st, _, _ = h.call(abi.TakeOp, nil, 4096); st != abi.SysEBadArg {
		t.Fatalf("second take: %d", st)
	}
	h.call("echo", arg, 100)
	h.call("echo", enc(t, nil), 100) // discards the parked answer
	if st, _, _ = h.call(abi.TakeOp, nil, 4096); st != abi.SysEBadArg {
		t.Fatalf("take after another call: %d", st)
	}
	h.call("echo", arg, 100)
	h.inst.Enter(h.st) // the host enters the guest again (another event): the parked answer is gone
	if st, _, _ = h.call(abi.TakeOp, nil, 4096); st != abi.SysEBadArg {
		t.Fatalf("take after a new host entry: %d", st)
	}
}

func TestBadPointers(t *testing.T) {
	h := newHarness(t)
	const pg = 65536
	cases := []struct {
		name string
		args [6]uint64
		want int32
	}{
		{"out beyond memory", [6]uint64{0, 4, 0, 1, pg - 2, 16}, abi.SysEBadPtr},
		{"out wraps", [6]uint64{0, 4, 0, 1, 0xffffffff, 16}, abi.SysEBadPtr},
		{"op beyond memory", [6]uint64{pg - 1, 4, 0, 1, 0, 64}, abi.SysEBadPtr},
		{"arg beyond memory", [6]uint64{0, 4, pg, 1, 0, 64}, abi.SysEBadPtr},
		{"arg wraps", [6]uint64{0, 4, 0xfffffff0, 0x20, 0, 64}, abi.SysEBadPtr},
		{"empty op", [6]uint64{0, 0, 0, 1, 0, 64}, abi.SysEUnknown},
		{"huge op", [6]uint64{0, 1 << 20, 0, 1, 0, 64}, abi.SysEUnknown},
	}
	h.mod.Memory().Write(0, []byte("echo"))
	for _, c := range cases {
		stack := c.args[:]
		h.door.Syscall(h.ctx, h.mod, stack)
		if got := int32(stack[0] >> 32); got != c.want {
			t.Errorf("%s: status %d want %d", c.name, got, c.want)
		}
	}
	// no state: refused, not a panic
	stack := []uint64{0, 4, 0, 1, 0, 64}
	h.door.Syscall(context.Background(), h.mod, stack)
	if int32(stack[0]>>32) != abi.SysEInternal {
		t.Fatalf("no instance: %d", int32(stack[0]>>32))
	}
	h.door.Syscall(h.ctx, nil, stack)
	(&Door{}).Fuel(h.ctx, h.mod, stack)
	if stack[0] != 0 {
		t.Fatal("fuel without resolver must abort")
	}
}

func TestWriteNowFuel(t *testing.T) {
	h := newHarness(t)
	h.mod.Memory().Write(100, []byte("hello"))
	h.door.Write(h.ctx, h.mod, []uint64{1, 100, 5})
	h.door.Write(h.ctx, h.mod, []uint64{3, 100, 5})     // bad fd: ignored
	h.door.Write(h.ctx, h.mod, []uint64{1, 65530, 100}) // out of range: ignored
	h.door.Write(h.ctx, h.mod, []uint64{2, 0, 1 << 20}) // clamped to 64 KiB = whole page
	if len(h.st.writes) != 2 || h.st.writes[0] != "hello" || len(h.st.writes[1]) != 65536 {
		t.Fatalf("writes: %d %q", len(h.st.writes), h.st.writes[0])
	}
	stack := []uint64{1}
	h.door.Now(h.ctx, h.mod, stack)
	if api.DecodeF64(stack[0]) != 1.7e9 {
		t.Fatalf("now: %v", api.DecodeF64(stack[0]))
	}
	h.door.Fuel(h.ctx, h.mod, stack)
	if stack[0] != 1000 {
		t.Fatalf("fuel: %d", stack[0])
	}
}

func TestInstantiate(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	m, err := Instantiate(ctx, r, ContextResolver)
	if err != nil {
		t.Fatal(err)
	}
	defs := m.ExportedFunctionDefinitions()
	for _, f := range abi.Current.Imports {
		def, ok := defs[f.Name]
		if !ok {
			t.Fatalf("host module lacks %s", f.Name)
		}
		if len(def.ParamTypes()) != len(f.Params) || len(def.ResultTypes()) != len(f.Results) {
			t.Fatalf("%s: signature differs from abi.json", f.Name)
		}
		for i, p := range def.ParamTypes() {
			if api.ValueTypeName(p) != f.Params[i].Type {
				t.Fatalf("%s param %d: %s vs %s", f.Name, i, api.ValueTypeName(p), f.Params[i].Type)
			}
		}
	}
	if len(defs) != len(abi.Current.Imports) {
		t.Fatalf("host module exports %d functions, abi.json has %d imports", len(defs), len(abi.Current.Imports))
	}
}

func TestNewOpsValidation(t *testing.T) {
	if _, err := NewOps(&Op{Name: "$take", Async: true}); err == nil {
		t.Fatal("reserved name accepted")
	}
	if _, err := NewOps(&Op{Name: "x"}); err == nil {
		t.Fatal("sync op without handler accepted")
	}
	if _, err := NewOps(&Op{Name: "x", Async: true}, &Op{Name: "x", Async: true}); err == nil {
		t.Fatal("duplicate accepted")
	}
}

// TestHotPathNoAlloc: fuel, now and a valid write cost no allocation per call (fuel is called about every 100k
// guest instructions; the runtimes resolve their Instance from the call's context).
func TestHotPathNoAlloc(t *testing.T) {
	h := newHarness(t)
	h.st.writes = make([]string, 0, 1)
	stack := make([]uint64, 3)
	if n := testing.AllocsPerRun(1000, func() { h.door.Fuel(h.ctx, h.mod, stack) }); n != 0 {
		t.Errorf("fuel: %v allocations per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() { stack[0] = 1; h.door.Now(h.ctx, h.mod, stack) }); n != 0 {
		t.Errorf("now: %v allocations per call", n)
	}
	nop := &Instance{State: nopWriteState{h.st}}
	ctx := WithInstance(context.Background(), nop)
	if n := testing.AllocsPerRun(1000, func() { stack[0], stack[1], stack[2] = 1, 100, 5; h.door.Write(ctx, h.mod, stack) }); n != 0 {
		t.Errorf("write: %v allocations per call", n)
	}
}

type nopWriteState struct{ *fakeState }

func (nopWriteState) Write(context.Context, int32, []byte) {}

// TestFaultReporter: a State that implements FaultReporter learns of the requests the door refused.
func TestFaultReporter(t *testing.T) {
	h := newHarness(t)
	fs := &faultState{fakeState: h.st}
	h.inst.State = fs
	h.door.Write(h.ctx, h.mod, []uint64{1, 65530, 100})
	h.door.Write(h.ctx, h.mod, []uint64{7, 0, 1})
	h.door.Syscall(h.ctx, h.mod, []uint64{0, 4, 65536, 1, 0, 64})
	h.door.Syscall(h.ctx, h.mod, []uint64{0, 4, 0, 1, 65530, 64})
	h.door.Write(h.ctx, h.mod, []uint64{1, 0, 4}) // valid: no fault
	want := []string{"outside guest memory", "unknown fd 7", "syscall argument outside guest memory", "out buffer"}
	if len(fs.faults) != len(want) {
		t.Fatalf("faults %q", fs.faults)
	}
	for i, w := range want {
		if !strings.Contains(fs.faults[i], w) {
			t.Errorf("fault %d = %q, want it to contain %q", i, fs.faults[i], w)
		}
	}
}

type faultState struct {
	*fakeState
	faults []string
}

func (s *faultState) Fault(_ context.Context, msg string) { s.faults = append(s.faults, msg) }
