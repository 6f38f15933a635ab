// Package abihost is the one implementation of the host side of the guest ABI's import module palisade_v1
// (abi/SPEC.md §4): fuel, write, now and the general syscall door. Every runtime that runs the guest registers
// its host module with [Instantiate] (host/sandbox for `palisade luau`, host/guildvm for the per-guild
// instances); no other package implements these imports, so this is the file a security review audits.
//
// It is hardened against a hostile guest: every pointer and length is checked against the guest's memory, every
// payload is bounded and decoded with the fuzzed abi decoder, every syscall is checked against the capabilities
// of the template the host is running and then against the rate limit, and no handler ever panics (a recovered
// panic becomes the E_INTERNAL status).
//
// The host runtime plugs its per-instance and per-call behaviour in through the [State] interface (and,
// optionally, [FaultReporter]) and the operations through an [Ops] table. The door finds the [Instance] of the
// calling module with a [Resolver]; [ContextResolver] takes it from the context passed to the export call (see
// [WithInstance]), which costs no allocation per import call.
package abihost

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/palisade-bot/palisade/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// State is what the host runtime supplies for one guild instance. Its methods are called on the goroutine that is
// running the guest (the instance is never entered concurrently), with ctx from the export call.
type State interface {
	// Fuel is called when the guest ran out of fuel: return > 0 to continue, <= 0 to abort the running event.
	Fuel(ctx context.Context) int64
	// Write receives diagnostic output, at most abi.Current.Limits.MaxWriteBytes per call. p aliases guest
	// memory and is only valid during the call: copy it to keep it.
	Write(ctx context.Context, fd int32, p []byte)
	// Now returns clock 0 (monotonic seconds) or 1 (Unix seconds); NaN for other clocks.
	Now(ctx context.Context, clock int32) float64
	// HasCap reports whether the template whose event or call the host is running now holds capability cap.
	// The guest can neither name nor influence that template.
	HasCap(ctx context.Context, cap string) bool
	// RateLimit is consulted after the capability check; a non-nil error refuses the call (E_RATELIMIT).
	RateLimit(ctx context.Context, op string) error
	// StartAsync registers an asynchronous call (the host performs it off the guest, normally with
	// op.Perform, and later calls pal_event_resume). It returns a nonzero call id, ErrNoContext if no event or
	// call is being run, or ErrBusy if too many calls are pending.
	StartAsync(ctx context.Context, op *Op, arg abi.Value) (callID uint32, err error)
}

// FaultReporter may be implemented by a State to learn of invalid requests the door refused: a write outside
// guest memory or to an unknown fd (otherwise silently ignored, as the ABI says) and a syscall whose pointers
// are outside guest memory (answered E_BADPTR). The CLI runner reports them as errors of the run. msg is
// only built when the State implements this interface.
type FaultReporter interface {
	Fault(ctx context.Context, msg string)
}

// Errors a State may return from StartAsync.
var (
	ErrNoContext = errors.New("asynchronous operation outside an event")
	ErrBusy      = errors.New("too many pending calls")
)

// Op is one syscall operation. Ops are data: adding one does not change the ABI.
type Op struct {
	Name   string // e.g. "discord.create_message"; [A-Za-z0-9_.:/-], at most MaxOpNameBytes
	Cap    string // capability required ("" = none)
	Async  bool   // performed off the guest; result delivered through pal_event_resume
	MaxArg int    // bound on the encoded argument (0 = abi.MaxValueBytes)
	// Sync handles a synchronous op inline. A returned error becomes the ERROR status with err.Error() as the
	// script-visible message.
	Sync func(ctx context.Context, st State, arg abi.Value) (abi.Value, error)
	// Perform handles an asynchronous op. The door never calls it: once StartAsync accepted the call, the
	// runtime calls Perform off the guest (with st the State that started the call; it must not be used to
	// enter the guest) and delivers the result through pal_event_resume, an error as the ERROR status.
	Perform func(ctx context.Context, st State, arg abi.Value) (abi.Value, error)
}

// Ops is an immutable op table, shared by all instances.
type Ops struct{ m map[string]*Op }

// NewOps builds an op table, validating names and handlers.
func NewOps(ops ...*Op) (*Ops, error) {
	t := &Ops{m: make(map[string]*Op, len(ops))}
	for _, op := range ops {
		if !validOpName(op.Name) || op.Name[0] == '$' {
			return nil, fmt.Errorf("abihost: invalid op name %q", op.Name)
		}
		if !op.Async && op.Sync == nil {
			return nil, fmt.Errorf("abihost: sync op %q has no handler", op.Name)
		}
		if _, dup := t.m[op.Name]; dup {
			return nil, fmt.Errorf("abihost: duplicate op %q", op.Name)
		}
		t.m[op.Name] = op
	}
	return t, nil
}

// Lookup returns the op named name.
func (t *Ops) Lookup(name string) (*Op, bool) {
	if t == nil {
		return nil, false
	}
	op, ok := t.m[name]
	return op, ok
}

func validOpName(s string) bool {
	if len(s) == 0 || len(s) > abi.Current.Limits.MaxOpNameBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '/' || c == '-' || c == '$') {
			return false
		}
	}
	return true
}

// Instance is the door's per-instance state: the runtime's State, the op table, and the parked result.
type Instance struct {
	State State
	Ops   *Ops

	parked       []byte
	parkedStatus int32
	hasParked    bool
}

// Enter makes st the State for the next host→guest call (nil detaches it) and discards any parked answer: a
// parked result belongs to the guest execution that parked it and must be taken before that call returns, so it
// can never leak into a later event.
func (inst *Instance) Enter(st State) {
	inst.State = st
	inst.parked, inst.parkedStatus, inst.hasParked = nil, 0, false
}

// Resolver finds the Instance of the calling module; nil refuses every call.
type Resolver func(ctx context.Context, m api.Module) *Instance

type ctxKey struct{}

// WithInstance returns a context carrying inst, for use with [ContextResolver].
func WithInstance(ctx context.Context, inst *Instance) context.Context {
	return context.WithValue(ctx, ctxKey{}, inst)
}

// ContextResolver finds the Instance in the context of the export call (see WithInstance).
func ContextResolver(ctx context.Context, _ api.Module) *Instance {
	inst, _ := ctx.Value(ctxKey{}).(*Instance)
	return inst
}

// Door holds the import handlers. Each method has the api.GoModuleFunc signature.
type Door struct{ Resolve Resolver }

// Instantiate registers the host module palisade_v1 (abi.Current.Module) in r with the four imports.
func Instantiate(ctx context.Context, r wazero.Runtime, resolve Resolver) (api.Module, error) {
	d := &Door{Resolve: resolve}
	b := r.NewHostModuleBuilder(abi.Current.Module)
	i32, i64, f64 := api.ValueTypeI32, api.ValueTypeI64, api.ValueTypeF64
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(d.Fuel), nil, []api.ValueType{i64}).Export("fuel")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(d.Write), []api.ValueType{i32, i32, i32}, nil).Export("write")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(d.Now), []api.ValueType{i32}, []api.ValueType{f64}).Export("now")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(d.Syscall),
		[]api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i64}).Export("syscall")
	return b.Instantiate(ctx)
}

func (d *Door) resolve(ctx context.Context, m api.Module) *Instance {
	if d == nil || d.Resolve == nil || m == nil {
		return nil
	}
	inst := d.Resolve(ctx, m)
	if inst == nil || inst.State == nil {
		return nil
	}
	return inst
}

// Fuel implements palisade_v1.fuel() -> i64. Any failure aborts the event (returns 0).
func (d *Door) Fuel(ctx context.Context, m api.Module, stack []uint64) {
	stack[0] = 0
	defer func() { _ = recover() }()
	if inst := d.resolve(ctx, m); inst != nil {
		stack[0] = uint64(inst.State.Fuel(ctx))
	}
}

// Write implements palisade_v1.write(fd, ptr, len). Invalid input is ignored.
func (d *Door) Write(ctx context.Context, m api.Module, stack []uint64) {
	defer func() { _ = recover() }()
	fd, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	inst := d.resolve(ctx, m)
	if inst == nil {
		return
	}
	if fd != 1 && fd != 2 {
		if fr, ok := inst.State.(FaultReporter); ok {
			fr.Fault(ctx, fmt.Sprintf("write to unknown fd %d", fd))
		}
		return
	}
	want := n
	if max := uint32(abi.Current.Limits.MaxWriteBytes); n > max {
		n = max
	}
	mem := m.Memory()
	if mem == nil {
		return
	}
	p, ok := mem.Read(ptr, n)
	if !ok {
		if fr, ok := inst.State.(FaultReporter); ok {
			fr.Fault(ctx, fmt.Sprintf("write(fd=%d, ptr=%d, len=%d) is outside guest memory (%d bytes)", fd, ptr, want, mem.Size()))
		}
		return
	}
	inst.State.Write(ctx, fd, p)
}

// Now implements palisade_v1.now(clock) -> f64.
func (d *Door) Now(ctx context.Context, m api.Module, stack []uint64) {
	clock := int32(stack[0])
	stack[0] = api.EncodeF64(math.NaN())
	defer func() { _ = recover() }()
	if inst := d.resolve(ctx, m); inst != nil {
		stack[0] = api.EncodeF64(inst.State.Now(ctx, clock))
	}
}

// result packs a syscall status and its low word.
func result(status int32, low uint32) uint64 { return uint64(uint32(status))<<32 | uint64(low) }

// Syscall implements palisade_v1.syscall(op_ptr, op_len, arg_ptr, arg_len, out_ptr, out_cap) -> i64.
func (d *Door) Syscall(ctx context.Context, m api.Module, stack []uint64) {
	opPtr, opLen := uint32(stack[0]), uint32(stack[1])
	argPtr, argLen := uint32(stack[2]), uint32(stack[3])
	outPtr, outCap := uint32(stack[4]), uint32(stack[5])
	var mem api.Memory
	outOK := false
	defer func() {
		if r := recover(); r != nil {
			stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEInternal, "internal error in syscall")
		}
	}()
	stack[0] = result(abi.SysEInternal, 0)
	if m == nil {
		return
	}
	mem = m.Memory()
	if mem == nil {
		return
	}
	size := mem.Size()
	inRange := func(p, n uint32) bool { return uint64(p)+uint64(n) <= uint64(size) }
	outOK = outCap == 0 || inRange(outPtr, outCap)
	if !outOK {
		if inst := d.resolve(ctx, m); inst != nil {
			if fr, ok := inst.State.(FaultReporter); ok {
				fr.Fault(ctx, fmt.Sprintf("syscall out buffer (ptr=%d, len=%d) is outside guest memory (%d bytes)", outPtr, outCap, size))
			}
		}
		stack[0] = result(abi.SysEBadPtr, 0)
		return
	}
	inst := d.resolve(ctx, m)
	if inst == nil {
		stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEInternal, "no host state for this instance")
		return
	}
	if opLen == 0 || opLen > uint32(abi.Current.Limits.MaxOpNameBytes) {
		stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEUnknown, "malformed syscall op name")
		return
	}
	if !inRange(opPtr, opLen) || !inRange(argPtr, argLen) {
		const msg = "syscall argument outside guest memory"
		if fr, ok := inst.State.(FaultReporter); ok {
			fr.Fault(ctx, fmt.Sprintf("syscall(op_ptr=%d, op_len=%d, arg_ptr=%d, arg_len=%d): %s (%d bytes)",
				opPtr, opLen, argPtr, argLen, msg, size))
		}
		stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEBadPtr, msg)
		return
	}
	opBytes, _ := mem.Read(opPtr, opLen)
	name := string(opBytes)
	if !validOpName(name) {
		stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEUnknown, "malformed syscall op name")
		return
	}
	if name == abi.TakeOp {
		if !inst.hasParked {
			stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEBadArg, "no parked syscall result")
			return
		}
		if uint32(len(inst.parked)) > outCap {
			stack[0] = result(abi.SysParked, uint32(len(inst.parked)))
			return
		}
		mem.Write(outPtr, inst.parked)
		stack[0] = result(inst.parkedStatus, uint32(len(inst.parked)))
		inst.parked, inst.hasParked = nil, false
		return
	}
	inst.parked, inst.hasParked = nil, false // any other call discards a parked answer
	op, ok := inst.Ops.Lookup(name)
	if !ok {
		stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEUnknown, fmt.Sprintf("unknown syscall op %q", name))
		return
	}
	maxArg := op.MaxArg
	if maxArg <= 0 || maxArg > abi.MaxValueBytes {
		maxArg = abi.MaxValueBytes
	}
	if argLen > uint32(maxArg) {
		stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysETooLarge,
			fmt.Sprintf("argument of %s too large (%d bytes, limit %d)", name, argLen, maxArg))
		return
	}
	if op.Cap != "" && !inst.State.HasCap(ctx, op.Cap) {
		stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEDenied,
			fmt.Sprintf("operation %s not allowed in this template context (needs capability %s)", name, op.Cap))
		return
	}
	if err := inst.State.RateLimit(ctx, name); err != nil {
		stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysERate, err.Error())
		return
	}
	argBytes, _ := mem.Read(argPtr, argLen)
	arg, err := abi.DecodeWith(argBytes, abi.CodecLimits{MaxBytes: maxArg}) // copies: nothing aliases guest memory
	if err != nil {
		stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEBadArg, fmt.Sprintf("bad argument to %s: %v", name, err))
		return
	}
	if op.Async {
		id, err := inst.State.StartAsync(ctx, op, arg)
		switch {
		case err == nil && id != 0:
			stack[0] = result(abi.SysPending, id)
		case errors.Is(err, ErrBusy):
			stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEBusy, err.Error())
		case errors.Is(err, ErrNoContext):
			stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysENotAsync, err.Error())
		case err == nil:
			stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysEInternal, "host returned call id 0")
		default:
			stack[0] = d.fail(mem, outOK, outPtr, outCap, abi.SysError, err.Error())
		}
		return
	}
	status := abi.SysOK
	res, err := op.Sync(ctx, inst.State, arg)
	var enc []byte
	if err == nil {
		enc, err = abi.Encode(res)
		if err != nil {
			err = fmt.Errorf("result of %s cannot be encoded: %v", name, err)
		}
	}
	if err != nil {
		status = abi.SysError
		enc, _ = abi.Encode(truncMsg(err.Error(), 64<<10))
	}
	if uint32(len(enc)) > outCap {
		inst.parked, inst.parkedStatus, inst.hasParked = enc, status, true
		stack[0] = result(abi.SysParked, uint32(len(enc)))
		return
	}
	mem.Write(outPtr, enc)
	stack[0] = result(status, uint32(len(enc)))
}

func truncMsg(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// fail writes msg as an encoded STRING (truncated to fit) at out and returns the packed status.
func (d *Door) fail(mem api.Memory, outOK bool, outPtr, outCap uint32, status int32, msg string) uint64 {
	if mem == nil || !outOK || outCap < 5 {
		return result(status, 0)
	}
	if uint32(len(msg)) > outCap-5 {
		msg = msg[:outCap-5]
	}
	enc, err := abi.Encode(msg)
	if err != nil || !mem.Write(outPtr, enc) {
		return result(status, 0)
	}
	return result(status, uint32(len(enc)))
}
