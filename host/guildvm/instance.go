package guildvm

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/palisade-bot/palisade/host/abihost"
	"github.com/palisade-bot/palisade/host/linmem"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Step codes of pal_event_start/resume/cancel (abi/SPEC.md §5.2).
const (
	stepDone       = 0
	stepFailed     = 1
	stepPending    = 2
	stepIdle       = 3
	stepNotBooted  = -1
	stepBadCall    = -2
	stepNoMem      = -3
	stepBadPayload = -4
)

// instance is one guild's live wasm instance.
type instance struct {
	h       *Host
	image   *image // the image it was started from
	mod     api.Module
	mem     linearMemory
	memory  api.Memory
	globals []api.MutableGlobal
	sp      api.MutableGlobal // __stack_pointer, restored after a failed call

	fStart, fResume, fCancel api.Function
	fAlloc, fFree            api.Function // looked up on first use (ExportedFunction costs microseconds)
	stack                    [6]uint64

	mailbox, scratch uint32
	memSize          uint32
	cow              bool
	learn            *image // the image whose hot pages this instance reports after its first event
	refusals         uint32 // the guest's mem_refusals count at its last step

	nextEvent uint32
	nextCall  uint32
	events    map[uint32]bool // events in flight
	pending   map[uint32]*pendingCall
	grant     int64           // current fuel grant (adapted towards Config.RefillInterval)
	caps      map[string]bool // capabilities common to the guild's templates (see callState.HasCap)

	// door is the instance's state in the palisade_v1 door (abihost): its State is the callState of the
	// event being run (set by Host.call), and it keeps a parked syscall answer.
	door abihost.Instance
}

type pendingCall struct {
	event uint32
	cs    *callState // the event's state: the op's handler gets it as its abihost.State
	op    *abihost.Op
	arg   abi.Value
}

// callState is what the imports need while the guest runs one event (it implements abihost.State, see
// state.go). Host.call installs it as the instance's door state for every guest call of the event.
type callState struct {
	h        *Host
	inst     *instance
	guild    uint64
	event    uint32          // 0: no event context (boot)
	caps     map[string]bool // capabilities of the template(s) this event runs; nil = none
	deadline time.Time
	last     time.Time // last entry into the guest or last refill
	fuel     int64
	aborted  bool

	written   int64 // output bytes passed to Config.Output during the event
	truncated bool  // the rest of the event's output is dropped (Config.MaxOutput)
}

// enter returns the context for guest calls made with cs: it carries the instance's door for
// abihost.ContextResolver.
func (cs *callState) enter(ctx context.Context) context.Context {
	cs.inst.door.Enter(cs)
	return abihost.WithInstance(ctx, &cs.inst.door)
}

// compile creates the runtime, the host module and the compiled guest, and checks the guest's ABI.
func (h *Host) compile(ctx context.Context) error {
	rc := wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(h.cfg.MaxMemoryPages).
		WithDebugInfoEnabled(false).
		WithCloseOnContextDone(false)
	if h.cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(h.cfg.CacheDir)
		if err != nil {
			return fmt.Errorf("guildvm: compilation cache: %w", err)
		}
		h.cache = cache
		rc = rc.WithCompilationCache(cache)
	}
	h.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := abihost.Instantiate(ctx, h.rt, abihost.ContextResolver); err != nil {
		return fmt.Errorf("guildvm: host module: %w", err)
	}
	cm, err := h.rt.CompileModule(ctx, h.cfg.Wasm)
	if err != nil {
		return fmt.Errorf("guildvm: compile guest: %w", err)
	}
	h.cm = cm
	compat, err := abi.CheckCompiled(cm)
	if err != nil {
		return fmt.Errorf("guildvm: %w", err)
	}
	if !compat.Events {
		return fmt.Errorf("guildvm: guest has the ABI version %d layout without the event protocol; guild instances need version %d", compat.Version, abi.Current.Version)
	}
	// A rand source of our own: the guest imports no WASI, and the default one seeds a math/rand source per
	// instance (~15 µs of every restore).
	h.modCfg = wazero.NewModuleConfig().WithName("").WithStartFunctions().WithRandSource(rand.Reader)
	h.cmRestore = cm
	if stripped, ok := stripData(h.cfg.Wasm); ok {
		if cm2, err := h.rt.CompileModule(ctx, stripped); err == nil {
			h.cmRestore = cm2
		} else {
			h.cfg.Logger.Debug("guildvm: guest without data segments does not compile; restores apply them", "err", err)
		}
	}
	return nil
}

// takeSnapshot boots one instance (pal_boot) and keeps its memory and globals as the image new guild
// instances start from.
func (h *Host) takeSnapshot(ctx context.Context) error {
	names, err := checkSnapshotable(h.cfg.Wasm)
	if err != nil {
		return fmt.Errorf("guildvm: %w", err)
	}
	mem := &sliceMemory{linmem.Slice{Max: uint64(h.cfg.MaxMemoryPages) * pageSize}}
	actx := experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(_, _ uint64) experimental.LinearMemory { return mem }))
	mod, err := h.rt.InstantiateModule(actx, h.cm, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		return fmt.Errorf("guildvm: instantiate guest: %w", err)
	}
	defer mod.Close(ctx)
	inst, err := h.wrap(mod, mem)
	if err != nil {
		return err
	}
	cs := &callState{h: h, inst: inst, deadline: time.Now().Add(h.cfg.EventTimeout)}
	cctx := cs.enter(ctx)
	if _, err := abi.Negotiate(cctx, h.cm, mod); err != nil {
		return fmt.Errorf("guildvm: %w", err)
	}
	boot := mod.ExportedFunction("pal_boot")
	var res []uint64
	booted := int64(0)
	if len(boot.Definition().ParamTypes()) == 1 { // entry.c's pal_boot(budget)
		res, err = boot.Call(cctx, uint64(h.cfg.MemoryBudget))
		booted = h.cfg.MemoryBudget
	} else {
		res, err = boot.Call(cctx)
	}
	if err != nil {
		return fmt.Errorf("guildvm: pal_boot: %w", err)
	}
	if int32(res[0]) != 0 {
		return fmt.Errorf("guildvm: pal_boot failed with status %d", int32(res[0]))
	}
	res, err = mod.ExportedFunction("pal_abi_mailbox").Call(cctx)
	if err != nil {
		return fmt.Errorf("guildvm: pal_abi_mailbox: %w", err)
	}
	inst.mailbox = uint32(res[0])
	res, err = inst.allocFn().Call(cctx, scratchSize)
	if err != nil || uint32(res[0]) == 0 {
		return fmt.Errorf("guildvm: allocate the scratch buffer: %v", err)
	}
	inst.scratch = uint32(res[0])
	if booted == 0 {
		// pal_boot() takes no budget: set it through the dispatcher before the snapshot.
		vm := &guildVM{inst: inst}
		if _, err := h.runEventOn(ctx, vm, BudgetEvent, encodeInt(h.cfg.MemoryBudget), false); err != nil {
			h.cfg.Logger.Warn("guildvm: the guest did not accept the memory budget event; per-guild budgets will fail", "err", err)
		}
	}
	h.globalNames = names
	im, err := h.captureImage(inst, h.cfg.MemoryBudget, !h.cfg.DisableCoW && cowAvailable)
	if err != nil {
		return err
	}
	h.snap = im
	return nil
}

// wrap looks up what the host needs of a fresh instance.
func (h *Host) wrap(mod api.Module, mem linearMemory) (*instance, error) {
	inst := &instance{h: h, mod: mod, mem: mem, memory: mod.Memory(), grant: h.cfg.InitialFuel}
	inst.door.Ops = h.cfg.Ops
	inst.fStart = mod.ExportedFunction("pal_event_start")
	if inst.fStart == nil || inst.memory == nil {
		return nil, errors.New("guildvm: guest lacks the event exports")
	}
	sp, ok := mod.ExportedGlobal("__stack_pointer").(api.MutableGlobal)
	if !ok {
		return nil, errors.New("guildvm: guest does not export a mutable __stack_pointer")
	}
	inst.sp = sp
	return inst, nil
}

// export returns the guest export name, looked up on first use and kept in *slot.
func (inst *instance) export(slot *api.Function, name string) api.Function {
	if *slot == nil {
		*slot = inst.mod.ExportedFunction(name)
	}
	return *slot
}

func (inst *instance) allocFn() api.Function  { return inst.export(&inst.fAlloc, "pal_buf_alloc") }
func (inst *instance) resumeFn() api.Function { return inst.export(&inst.fResume, "pal_event_resume") }
func (inst *instance) freeFn() api.Function   { return inst.export(&inst.fFree, "pal_buf_free") }
func (inst *instance) cancelFn() api.Function { return inst.export(&inst.fCancel, "pal_event_cancel") }

func (inst *instance) close(ctx context.Context) {
	inst.mod.Close(ctx) // frees the linear memory through the allocator
}

// restore creates a guild instance from an image (the base snapshot or a template image).
func (h *Host) restore(ctx context.Context, budget int64, im *image) (*instance, error) {
	lim := h.ceiling(budget, im)
	useCow := im.fd >= 0
	var mem linearMemory
	alloc := experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
		l := lim
		if max < l {
			l = max
		}
		if useCow {
			if m, err := newCowMemoryFromImage(im.fd, l); err == nil {
				mem = m
				return m
			}
			useCow = false
		}
		m := &sliceMemory{linmem.Slice{Max: l}}
		mem = m
		return m
	})
	mod, err := h.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, alloc), h.cmRestore, h.modCfg)
	if err != nil {
		return nil, fmt.Errorf("guildvm: instantiate: %w", err)
	}
	memory := mod.Memory()
	if cur := memory.Size(); cur < uint32(im.size) {
		if _, ok := memory.Grow((uint32(im.size) - cur) / pageSize); !ok {
			mod.Close(ctx)
			return nil, errImageTooLarge(im.size, mem.ceiling())
		}
	}
	if !useCow && !memory.Write(0, im.data) {
		mod.Close(ctx)
		return nil, errors.New("guildvm: write snapshot image")
	}
	for i, n := range h.globalNames {
		mod.ExportedGlobal(n).(api.MutableGlobal).Set(im.globals[i])
	}
	inst, err := h.wrap(mod, mem)
	if err != nil {
		mod.Close(ctx)
		return nil, err
	}
	inst.mailbox, inst.scratch, inst.nextEvent, inst.refusals = im.mailbox, im.scratch, im.nextEvent, im.refusals
	inst.memSize = memory.Size()
	inst.cow = useCow
	inst.image = im
	if cm, ok := mem.(*cowMemory); ok && useCow {
		if hot := im.hot.Load(); hot != nil {
			cm.prefault(*hot)
		} else if im.learning.CompareAndSwap(false, true) {
			inst.learn = im
		}
	}
	if useCow {
		h.m.created.WithLabelValues("cow").Inc()
	} else {
		h.m.created.WithLabelValues("copy").Inc()
	}
	return inst, nil
}

// call enters the guest: one guest call at a time per instance (vm.mu is held), at most MaxConcurrent
// across the host. After a failed call (a trap) __stack_pointer is put back.
func (h *Host) call(ctx context.Context, cs *callState, fn api.Function, args ...uint64) (uint64, error) {
	inst := cs.inst
	st := inst.stack[:]
	copy(st, args)
	h.sem <- struct{}{}
	sp := inst.sp.Get()
	inst.door.Enter(cs) // another event of the guild may have run since cs last entered the guest
	cs.last = time.Now()
	err := fn.CallWithStack(ctx, st)
	<-h.sem
	if err != nil {
		inst.sp.Set(sp)
		return 0, err
	}
	return st[0], nil
}

type mailbox struct {
	step      int32
	event     uint32
	call      uint32
	ptr, n    uint32
	errStatus int32
	refusals  uint32 // allocations the guest refused since boot (SPEC §5.1 mem_refusals)
}

func (inst *instance) readMailbox() (mailbox, bool) {
	b, ok := inst.memory.Read(inst.mailbox, 32)
	if !ok {
		return mailbox{}, false
	}
	le := binary.LittleEndian
	return mailbox{step: int32(le.Uint32(b)), event: le.Uint32(b[4:]), call: le.Uint32(b[8:]),
		ptr: le.Uint32(b[12:]), n: le.Uint32(b[16:]), errStatus: int32(le.Uint32(b[20:])), refusals: le.Uint32(b[24:])}, true
}

// runEvent runs one event to completion on vm's instance (vm.mu held; released while waiting on async ops).
func (h *Host) runEvent(ctx context.Context, vm *guildVM, name string, data []byte) (Result, error) {
	return h.runEventOn(ctx, vm, name, data, true)
}

func (h *Host) runEventOn(ctx context.Context, vm *guildVM, name string, data []byte, track bool) (Result, error) {
	inst := vm.inst
	if inst.events == nil {
		inst.events = map[uint32]bool{}
	}
	for {
		inst.nextEvent++
		if inst.nextEvent != 0 && !inst.events[inst.nextEvent] {
			break
		}
	}
	id := inst.nextEvent
	inst.events[id] = true
	defer delete(inst.events, id)
	defer inst.dropPending(id) // calls the guest made in this event but never parked on
	// The allocator refused during the event (the budget was hit), even if the script caught "not enough
	// memory" with pcall: the VM is marked broken once the event has its result.
	refused := false
	defer func() {
		if refused && track && vm.inst == inst {
			h.markBroken(ctx, vm, "memory", ErrNoMemory)
		}
	}()

	cs := &callState{h: h, inst: inst, guild: vm.guild, event: id, deadline: time.Now().Add(h.cfg.EventTimeout)}
	if !strings.HasPrefix(name, "$") { // reserved events ($install, $budget) run no template
		cs.caps = inst.caps
	}
	if d, ok := ctx.Deadline(); ok && d.Before(cs.deadline) {
		cs.deadline = d
	}
	cctx := cs.enter(ctx)

	// Name and data go through the scratch buffer when they fit, else through pal_buf_alloc.
	total := uint32(len(name) + len(data))
	buf := inst.scratch
	if total > scratchSize {
		p, err := h.call(cctx, cs, inst.allocFn(), uint64(total))
		if err != nil {
			return Result{}, h.trapped(ctx, vm, inst, err, track)
		}
		if uint32(p) == 0 {
			return Result{}, h.brokenErr(ctx, vm, "memory", ErrNoMemory, track)
		}
		buf = uint32(p)
	}
	if !inst.memory.WriteString(buf, name) || !inst.memory.Write(buf+uint32(len(name)), data) {
		return Result{}, fmt.Errorf("guildvm: event buffer outside guest memory")
	}
	step, err := h.call(cctx, cs, inst.fStart, uint64(id), uint64(buf), uint64(len(name)), uint64(buf+uint32(len(name))), uint64(len(data)))
	if err == nil && buf != inst.scratch {
		_, err = h.call(cctx, cs, inst.freeFn(), uint64(buf))
	}
	for {
		if err != nil {
			return Result{Fuel: cs.fuel}, h.trapped(ctx, vm, inst, err, track)
		}
		h.noteMemory(inst)
		mb, ok := inst.readMailbox()
		if !ok {
			return Result{}, h.trapped(ctx, vm, inst, errors.New("mailbox outside guest memory"), track)
		}
		if mb.refusals != inst.refusals {
			inst.refusals = mb.refusals
			refused = true
		}
		switch int32(step) {
		case stepDone:
			v, derr := h.readValue(inst, mb)
			if derr != nil {
				return Result{Fuel: cs.fuel}, fmt.Errorf("guildvm: decode event result: %w", derr)
			}
			return Result{Value: v, Fuel: cs.fuel}, nil
		case stepFailed, stepNoMem:
			if cs.aborted {
				// The host refused fuel during this call, so whatever the guest reports (it may fail to
				// encode the error while its abort flag is still set, and say E_NOMEM), the cause is the
				// time limit, and the VM is not broken.
				return Result{Fuel: cs.fuel}, &ScriptError{Status: statusAbort, Kind: "time_limit", Message: ErrTimeLimit.Error()}
			}
			if int32(step) == stepNoMem {
				return Result{Fuel: cs.fuel}, h.brokenErr(ctx, vm, "memory", ErrNoMemory, track)
			}
			se := &ScriptError{Status: int(mb.errStatus), Kind: "script", Message: h.errorMessage(inst, mb)}
			switch se.Status {
			case statusMemory:
				se.Kind = "memory"
				if track {
					h.markBroken(ctx, vm, "memory", se)
				}
			case statusAbort:
				se.Kind = "time_limit"
			}
			return Result{Fuel: cs.fuel}, se
		case stepPending:
			pc := inst.takePending(mb.call, id)
			if pc == nil {
				h.cancelEvent(ctx, cctx, vm, cs, id, track)
				return Result{Fuel: cs.fuel}, fmt.Errorf("guildvm: guest parked on unknown call %d", mb.call)
			}
			status, payload := h.perform(ctx, vm, pc)
			if vm.inst != inst {
				return Result{Fuel: cs.fuel}, &ScriptError{Message: ErrBroken.Error(), Kind: "broken"}
			}
			if ctx.Err() != nil {
				h.cancelEvent(ctx, cctx, vm, cs, id, track)
				return Result{Fuel: cs.fuel}, ctx.Err()
			}
			if give := time.Now().Add(h.cfg.GiveTime); cs.deadline.Before(give) {
				cs.deadline = give
				if d, ok := ctx.Deadline(); ok && d.Before(give) {
					cs.deadline = d
				}
			}
			step, err = h.resume(cctx, cs, mb.call, status, payload)
		case stepIdle:
			return Result{Fuel: cs.fuel}, errors.New("guildvm: event resumed into a background thread")
		case stepNotBooted:
			return Result{}, h.brokenErr(ctx, vm, "start", errors.New("guest not booted"), track)
		case stepBadPayload:
			return Result{Fuel: cs.fuel}, fmt.Errorf("guildvm: guest rejected the payload: %s", h.errorMessage(inst, mb))
		default:
			return Result{Fuel: cs.fuel}, fmt.Errorf("guildvm: guest returned step %d", int32(step))
		}
	}
}

// takePending removes and returns the pending call the guest says event parked on. mb.call is guest data: a
// call registered by another event (or none) is refused, so an event can only wait on its own calls.
func (inst *instance) takePending(call, event uint32) *pendingCall {
	pc := inst.pending[call]
	if pc == nil || pc.event != event {
		return nil
	}
	delete(inst.pending, call)
	return pc
}

// dropPending forgets the calls event registered and did not park on (they would otherwise hold pending slots
// until the instance is rebuilt).
func (inst *instance) dropPending(event uint32) {
	for k, pc := range inst.pending {
		if pc.event == event {
			delete(inst.pending, k)
		}
	}
}

// perform runs an async op with the guild's instance unlocked, so other events of the guild can run.
func (h *Host) perform(ctx context.Context, vm *guildVM, pc *pendingCall) (int32, []byte) {
	vm.mu.Unlock()
	v, err := performOp(ctx, pc)
	vm.mu.Lock()
	if err != nil {
		b, _ := abi.Encode(err.Error())
		return 1, b
	}
	b, err := abi.Encode(v)
	if err != nil {
		b, _ = abi.Encode("cannot encode the result of " + pc.op.Name + ": " + err.Error())
		return 1, b
	}
	return 0, b
}

func (h *Host) resume(ctx context.Context, cs *callState, call uint32, status int32, payload []byte) (uint64, error) {
	inst := cs.inst
	buf := inst.scratch
	if len(payload) > scratchSize {
		p, err := h.call(ctx, cs, inst.allocFn(), uint64(len(payload)))
		if err != nil {
			return 0, err
		}
		if uint32(p) == 0 {
			b, _ := abi.Encode("not enough memory")
			payload, status = b, 1
		} else {
			buf = uint32(p)
		}
	}
	if !inst.memory.Write(buf, payload) {
		return 0, errors.New("resume buffer outside guest memory")
	}
	step, err := h.call(ctx, cs, inst.resumeFn(), uint64(call), uint64(uint32(status)), uint64(buf), uint64(len(payload)))
	if err == nil && buf != inst.scratch {
		_, err = h.call(ctx, cs, inst.freeFn(), uint64(buf))
	}
	return step, err
}

// cancelEvent kills event id in the guest (cctx: the event's guest-call context). A trap while doing so marks the
// VM broken, like any other trap.
func (h *Host) cancelEvent(ctx, cctx context.Context, vm *guildVM, cs *callState, id uint32, track bool) {
	if fn := cs.inst.cancelFn(); fn != nil {
		if _, err := h.call(cctx, cs, fn, uint64(id)); err != nil {
			h.trapped(ctx, vm, cs.inst, err, track)
		}
	}
	cs.inst.dropPending(id)
}

func (h *Host) readValue(inst *instance, mb mailbox) (abi.Value, error) {
	b, ok := inst.memory.Read(mb.ptr, mb.n)
	if !ok {
		return nil, errors.New("result outside guest memory")
	}
	return abi.Decode(b)
}

func (h *Host) errorMessage(inst *instance, mb mailbox) string {
	v, err := h.readValue(inst, mb)
	if err != nil {
		return "script error (undecodable error value)"
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "nil"
	default:
		return fmt.Sprint(x)
	}
}

func (h *Host) noteMemory(inst *instance) {
	if s := inst.memory.Size(); s != inst.memSize {
		h.m.guestMemory.Add(float64(s) - float64(inst.memSize))
		inst.memSize = s
	}
}

// trapped handles a failed guest call: the instance is broken (its interpreter state may be inconsistent).
func (h *Host) trapped(ctx context.Context, vm *guildVM, inst *instance, err error, track bool) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	se := &ScriptError{Message: "script crashed the VM: " + msg, Kind: "trap"}
	if track && vm.inst == inst {
		h.markBroken(ctx, vm, "trap", err)
	}
	return se
}

func (h *Host) brokenErr(ctx context.Context, vm *guildVM, reason string, err error, track bool) error {
	se := &ScriptError{Message: err.Error(), Kind: reason}
	if errors.Is(err, ErrNoMemory) {
		se.Status = statusMemory
		se.Kind = "memory"
	}
	if track {
		h.markBroken(ctx, vm, reason, err)
	}
	return se
}
