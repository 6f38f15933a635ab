package guildvm

import (
	"context"
	"math"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/tetratelabs/wazero/api"
)

// The imports of module palisade_v1 (abi/SPEC.md §4). One host module serves every guild: the calling
// instance's per-call state comes from the Call's ctx.
//
// NOTE for integration: host/abihost is meant to own the syscall door (capabilities, rate limits); until it
// provides a host-module builder, these minimal, bounds-checked handlers live here.

const (
	maxWrite      = 64 << 10
	maxOpName     = 64
	maxPending    = 256
	maxFuelGrant  = 1 << 40
	minFuelGrant  = 1000
	sysOK         = 0
	sysError      = 1
	sysPending    = 2
	sysParked     = 3
	sysBadPtr     = -1
	sysUnknownOp  = -2
	sysTooLarge   = -5
	sysBadArg     = -6
	sysBusy       = -7
	sysInternal   = -8
	sysNotAsync   = -9
	valueTooLarge = 4 << 20
)

func (h *Host) instantiateImports(ctx context.Context) error {
	i32, i64, f64 := api.ValueTypeI32, api.ValueTypeI64, api.ValueTypeF64
	_, err := h.rt.NewHostModuleBuilder(abi.Current.Module).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(h.fuel), nil, []api.ValueType{i64}).Export("fuel").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(h.write), []api.ValueType{i32, i32, i32}, nil).Export("write").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(h.now), []api.ValueType{i32}, []api.ValueType{f64}).Export("now").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(h.syscall), []api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i64}).Export("syscall").
		Instantiate(ctx)
	return err
}

// fuel refills the guest's fuel counter, or answers 0 once the event's deadline has passed (the guest then
// raises the uncatchable "Script execution time limit exceeded"). The grant adapts so the guest returns
// about every RefillInterval: the time since the last refill is the time the previous grant took.
func (h *Host) fuel(ctx context.Context, _ api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		stack[0] = 0
		return
	}
	now := time.Now()
	if !now.Before(cs.deadline) {
		cs.aborted = true
		stack[0] = 0
		return
	}
	inst := cs.inst
	g := inst.grant
	target := h.cfg.RefillInterval
	switch el := now.Sub(cs.last); {
	case el < target/2 && g < maxFuelGrant:
		g *= 2
	case el > target*2 && g > minFuelGrant:
		g /= 2
	}
	inst.grant = g
	// Let other guilds' guests run: hand this guest's execution slot to a waiting one (Go hands a buffered
	// channel's freed slot to blocked senders in FIFO order), then queue for it again.
	<-h.sem
	h.sem <- struct{}{}
	now = time.Now()
	cs.last = now
	cs.fuel += g
	h.m.refills.Inc()
	h.m.fuel.Add(float64(g))
	stack[0] = uint64(g)
}

func (h *Host) write(ctx context.Context, m api.Module, stack []uint64) {
	fd, p, n := int32(stack[0]), uint32(stack[1]), int32(stack[2])
	if h.cfg.Output == nil || (fd != 1 && fd != 2) || n <= 0 {
		return
	}
	if n > maxWrite {
		n = maxWrite
	}
	b, ok := m.Memory().Read(p, uint32(n))
	if !ok {
		return
	}
	var guild uint64
	if cs := stateOf(ctx); cs != nil {
		guild = cs.guild
	}
	func() {
		defer func() { recover() }()
		h.cfg.Output(guild, int(fd), b)
	}()
}

func (h *Host) now(_ context.Context, _ api.Module, stack []uint64) {
	var v float64
	switch int32(stack[0]) {
	case 0:
		v = time.Since(h.epoch).Seconds()
	case 1:
		v = float64(time.Now().UnixNano()) / 1e9
	default:
		v = math.NaN()
	}
	stack[0] = math.Float64bits(v)
}

func sysResult(status int32, low uint32) uint64 { return uint64(uint32(status))<<32 | uint64(low) }

// syscall is the general door (abi/SPEC.md §4.3). It never panics.
func (h *Host) syscall(ctx context.Context, m api.Module, stack []uint64) {
	opPtr, opLen := uint32(stack[0]), uint32(stack[1])
	argPtr, argLen := uint32(stack[2]), uint32(stack[3])
	outPtr, outCap := uint32(stack[4]), uint32(stack[5])
	mem := m.Memory()
	reply := func(status int32, msg string) {
		low := uint32(0)
		if b, err := abi.Encode(msg); err == nil && outCap >= 5 {
			if uint32(len(b)) > outCap { // truncate the message to fit, keeping it one STRING value
				s := msg[:outCap-5]
				b, _ = abi.Encode(s)
			}
			if mem.Write(outPtr, b) {
				low = uint32(len(b))
			}
		}
		stack[0] = sysResult(status, low)
	}
	defer func() {
		if r := recover(); r != nil {
			reply(sysInternal, "internal error")
		}
	}()
	if outCap > 0 {
		if _, ok := mem.Read(outPtr, outCap); !ok {
			outCap = 0
			reply(sysBadPtr, "out buffer outside memory")
			return
		}
	}
	opb, ok1 := mem.Read(opPtr, opLen)
	if !ok1 || opLen > maxOpName {
		if !ok1 {
			reply(sysBadPtr, "op name outside memory")
		} else {
			reply(sysUnknownOp, "op name too long")
		}
		return
	}
	for _, c := range opb {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '/' || c == '$' || c == '-') {
			reply(sysUnknownOp, "malformed op name")
			return
		}
	}
	cs := stateOf(ctx)
	if cs == nil {
		reply(sysNotAsync, "no call context")
		return
	}
	inst := cs.inst
	if string(opb) == "$take" {
		p := inst.parked
		inst.parked = nil
		if p == nil {
			reply(sysBadArg, "nothing parked")
			return
		}
		if uint32(len(p)) > outCap {
			inst.parked = p
			stack[0] = sysResult(sysParked, uint32(len(p)))
			return
		}
		mem.Write(outPtr, p)
		stack[0] = sysResult(sysOK, uint32(len(p)))
		return
	}
	inst.parked = nil
	op, ok := h.cfg.Ops[string(opb)]
	if !ok {
		reply(sysUnknownOp, "unknown op "+string(opb))
		return
	}
	limit := uint32(valueTooLarge)
	if op.MaxArg > 0 && uint32(op.MaxArg) < limit {
		limit = uint32(op.MaxArg)
	}
	if argLen > limit {
		reply(sysTooLarge, "argument too large")
		return
	}
	argb, ok := mem.Read(argPtr, argLen)
	if !ok {
		reply(sysBadPtr, "argument outside memory")
		return
	}
	var arg abi.Value
	if argLen > 0 {
		var err error
		if arg, err = abi.Decode(argb); err != nil {
			reply(sysBadArg, err.Error())
			return
		}
	}
	if op.Async {
		if cs.event == 0 {
			reply(sysNotAsync, "async op outside an event")
			return
		}
		if len(inst.pending) >= maxPending {
			reply(sysBusy, "too many pending calls")
			return
		}
		if inst.pending == nil {
			inst.pending = map[uint32]*pendingCall{}
		}
		for {
			inst.nextCall++
			if inst.nextCall != 0 && inst.pending[inst.nextCall] == nil {
				break
			}
		}
		inst.pending[inst.nextCall] = &pendingCall{event: cs.event, op: &op, name: string(opb), arg: arg}
		stack[0] = sysResult(sysPending, inst.nextCall)
		return
	}
	v, err := safeHandle(ctx, &op, cs.guild, arg)
	if err != nil {
		reply(sysError, err.Error())
		return
	}
	b, err := abi.Encode(v)
	if err != nil {
		reply(sysError, "cannot encode the result: "+err.Error())
		return
	}
	if uint32(len(b)) > outCap {
		inst.parked = b
		stack[0] = sysResult(sysParked, uint32(len(b)))
		return
	}
	mem.Write(outPtr, b)
	stack[0] = sysResult(sysOK, uint32(len(b)))
}
