// Package sandbox runs Luau scripts in Palisade's WebAssembly guest (package guest) under wazero.
//
// An [Engine] compiles the guest module once per process (compiler engine, DWARF off, a hard ceiling on linear
// memory, optionally a compilation cache on disk) and registers the host module "palisade_v1" through
// host/abihost, the one implementation of the guest's imports (abi/SPEC.md §4). The sandbox supplies only the
// per-run behaviour, as an abihost.State:
//
//	fuel() -> i64                 refill the guest's fuel counter, or 0 to abort the running script
//	write(fd, ptr, len)           fd 1 = stdout (print), 2 = stderr (diagnostics); at most 64 KiB per call
//	now(clock) -> f64             0 = monotonic seconds, 1 = Unix time in seconds, otherwise NaN
//	syscall(...) -> i64           the ABI's general door: the CLI registers no operations, so every call gets
//	                              E_UNKNOWN_OP ("unknown syscall op ...")
//
// The guest may import nothing else (no WASI): NewEngine refuses a module that imports anything the host
// module does not export. The door checks every pointer and length coming from the guest against its memory;
// a bad one is reported to the sandbox (abihost.FaultReporter), recorded as a guest fault and returned as an
// error of the Run, never a panic.
//
// A [Sandbox] is one instance of the module with one interpreter state (pal_boot) and a memory budget that the
// interpreter's allocator enforces ("not enough memory" is a script error). [Sandbox.Run] runs a script the way
// the luau CLI does (guest/wasm/entry.c): in a new thread with its own sandboxed globals, output to the
// Stdout/Stderr writers, errors on Stderr as "file:line: message", "stacktrace:" and the Luau frames. Time is
// bounded by fuel: the guest calls the fuel import about every 100k instructions (well under a millisecond),
// and the import returns 0 once the deadline, the context or the fuel limit is reached, which makes the guest
// raise its uncatchable "time limit" error. wazero's WithCloseOnContextDone is deliberately not used (it slows
// loops about 20x; see shared/wazero-notes.md).
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/palisade-bot/palisade/guest"
	"github.com/palisade-bot/palisade/host/abihost"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// HostModule is the name of the versioned import module the guest links against.
const HostModule = "palisade_v1"

// ABIVersion is the guest ABI version this host accepts (the guest's pal_abi_version()).
const ABIVersion = 1

const (
	// DefaultMemoryBudget is the interpreter's memory budget when Options.MemoryBudget is 0 (3 MiB, as in the
	// product documentation).
	DefaultMemoryBudget = 3 << 20
	// DefaultTimeout bounds a Run when Limits.Timeout is 0.
	DefaultTimeout = 30 * time.Second
	// FuelRefill is how much fuel (about one unit per bytecode instruction) the host hands out per fuel call.
	FuelRefill = 100_000

	pageSize   = 65536
	stackBytes = 1 << 20 // the guest's shadow stack (-z stack-size), placed first in memory
)

// MemoryLimitFor returns a linear-memory ceiling suited to an interpreter budget of budget bytes: the 1 MiB
// shadow stack, 1 MiB for static data, script source and allocator slack, and the budget plus a quarter.
// A budget <= 0 (unlimited) gives the 4 GiB maximum.
func MemoryLimitFor(budget int64) uint64 {
	if budget <= 0 || budget > 3<<30 {
		return 1 << 32
	}
	return uint64(stackBytes + (1 << 20) + budget + budget/4)
}

// Config configures an Engine.
type Config struct {
	// Wasm is the guest module; nil means the embedded guest.Wasm.
	Wasm []byte
	// MemoryLimit is the hard ceiling of every instance's linear memory, in bytes, rounded up to whole 64 KiB
	// pages. 0 means MemoryLimitFor(DefaultMemoryBudget). It is a backstop behind the interpreter's own budget.
	MemoryLimit uint64
	// CacheDir, when set, keeps wazero's compiled code there across processes.
	CacheDir string
}

// Engine is a compiled guest module plus the wazero runtime that runs its instances. Create one per process
// and share it: it is safe for concurrent use.
type Engine struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	host     api.Module // palisade_v1, registered by abihost
	limit    uint64     // bytes
	start    time.Time
}

var (
	defaultOnce   sync.Once
	defaultEngine *Engine
	defaultErr    error
)

// Default returns the process-wide Engine with the default Config, compiling the guest on first use.
func Default() (*Engine, error) {
	defaultOnce.Do(func() {
		defaultEngine, defaultErr = NewEngine(context.Background(), Config{})
	})
	return defaultEngine, defaultErr
}

// NewEngine compiles the guest and registers the host module. It fails if the guest imports anything other
// than the palisade_v1 functions the host provides.
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	wasm := cfg.Wasm
	if wasm == nil {
		wasm = guest.Wasm
	}
	limit := cfg.MemoryLimit
	if limit == 0 {
		limit = MemoryLimitFor(DefaultMemoryBudget)
	}
	pages := (limit + pageSize - 1) / pageSize
	if pages > 65536 {
		pages = 65536
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(uint32(pages)).
		WithDebugInfoEnabled(false).
		WithCloseOnContextDone(false)
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("sandbox: compilation cache %s: %w", cfg.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	e := &Engine{rt: wazero.NewRuntimeWithConfig(ctx, rc), limit: pages * pageSize, start: time.Now()}
	fail := func(err error) (*Engine, error) {
		e.rt.Close(ctx)
		return nil, err
	}
	host, err := abihost.Instantiate(ctx, e.rt, abihost.ContextResolver)
	if err != nil {
		return fail(fmt.Errorf("sandbox: host module: %w", err))
	}
	e.host = host
	compiled, err := e.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fail(fmt.Errorf("sandbox: compiling the guest: %w", err))
	}
	e.compiled = compiled
	if err := checkModule(compiled, host); err != nil {
		return fail(err)
	}
	return e, nil
}

// MemoryLimit is the per-instance linear memory ceiling in bytes.
func (e *Engine) MemoryLimit() uint64 { return e.limit }

// Close releases the runtime and every instance created from it.
func (e *Engine) Close(ctx context.Context) error { return e.rt.Close(ctx) }

// requiredExports are the guest exports the host calls (guest/wasm/entry.c), with their signatures.
var requiredExports = map[string]struct{ params, results []api.ValueType }{
	"pal_abi_version": {nil, []api.ValueType{api.ValueTypeI32}},
	"pal_buf_alloc":   {[]api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	"pal_buf_free":    {[]api.ValueType{api.ValueTypeI32}, nil},
	"pal_boot":        {[]api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	"pal_run_script": {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32},
		[]api.ValueType{api.ValueTypeI32}},
	"pal_mem_used": {nil, []api.ValueType{api.ValueTypeI64}},
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sig(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return "(" + name(params) + ") -> (" + name(results) + ")"
}

// checkModule refuses a guest whose imports do not match what the host module (abihost's palisade_v1)
// exports, or whose exports do not match what this host calls.
func checkModule(m wazero.CompiledModule, host api.Module) error {
	var bad []string
	provided := host.ExportedFunctionDefinitions()
	names := make([]string, 0, len(provided))
	for n := range provided {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		want, ok := provided[name]
		switch {
		case mod != host.Name() || !ok:
			bad = append(bad, fmt.Sprintf("imports %s.%s, which the host does not provide (only %s.%s)", mod, name,
				host.Name(), strings.Join(names, ", ")))
		case !sameTypes(f.ParamTypes(), want.ParamTypes()) || !sameTypes(f.ResultTypes(), want.ResultTypes()):
			bad = append(bad, fmt.Sprintf("imports %s.%s with type %s, want %s", mod, name,
				sig(f.ParamTypes(), f.ResultTypes()), sig(want.ParamTypes(), want.ResultTypes())))
		}
	}
	for _, mem := range m.ImportedMemories() {
		mod, name, _ := mem.Import()
		bad = append(bad, fmt.Sprintf("imports memory %s.%s (it must define its own)", mod, name))
	}
	exports := m.ExportedFunctions()
	names = make([]string, 0, len(requiredExports))
	for n := range requiredExports {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		want := requiredExports[n]
		f, ok := exports[n]
		if !ok {
			bad = append(bad, "does not export "+n)
		} else if !sameTypes(f.ParamTypes(), want.params) || !sameTypes(f.ResultTypes(), want.results) {
			bad = append(bad, fmt.Sprintf("exports %s with type %s, want %s", n,
				sig(f.ParamTypes(), f.ResultTypes()), sig(want.params, want.results)))
		}
	}
	if _, ok := m.ExportedMemories()["memory"]; !ok {
		bad = append(bad, "does not export its memory")
	}
	if len(bad) > 0 {
		return fmt.Errorf("sandbox: unusable guest module: it %s", strings.Join(bad, "; it "))
	}
	return nil
}

// ---- the sandbox's abihost.State ---------------------------------------------------------------------------------

// runState is the per-call state of the palisade_v1 imports: the Sandbox installs it as its abihost.Instance's
// State for the duration of a boot or Run, and the call's context carries that Instance (abihost.WithInstance).
type runState struct {
	stdout, stderr io.Writer
	start          time.Time // the engine's start: clock 0 counts from it
	deadline       time.Time
	ctx            context.Context
	fuelLimit      int64 // 0 = unlimited
	fuelGranted    int64
	abort          AbortReason
	outLimit       int64 // 0 = unlimited
	outWritten     int64
	truncated      bool
	fault          error // first invalid request from the guest
}

var (
	_ abihost.State         = (*runState)(nil)
	_ abihost.FaultReporter = (*runState)(nil)
)

// Fuel hands out FuelRefill more units, or 0 (abort) once the deadline, the context or the fuel limit is hit.
func (st *runState) Fuel(context.Context) int64 {
	var grant int64 = FuelRefill
	switch {
	case st.abort != AbortNone:
		grant = 0
	case st.ctx.Err() != nil:
		st.abort, grant = AbortCanceled, 0
	case !st.deadline.IsZero() && time.Now().After(st.deadline):
		st.abort, grant = AbortTimeout, 0
	case st.fuelLimit > 0 && st.fuelGranted >= st.fuelLimit:
		st.abort, grant = AbortFuel, 0
	case st.fuelLimit > 0 && st.fuelLimit-st.fuelGranted < grant:
		grant = st.fuelLimit - st.fuelGranted
	}
	st.fuelGranted += grant
	return grant
}

// Write copies guest bytes to the run's stdout (fd 1) or stderr (fd 2); the door has checked fd and range.
func (st *runState) Write(_ context.Context, fd int32, buf []byte) {
	w := st.stdout
	if fd == 2 {
		w = st.stderr
	}
	if w == nil || len(buf) == 0 {
		return
	}
	if st.outLimit > 0 {
		room := st.outLimit - st.outWritten
		if room <= 0 {
			st.truncated = true
			return
		}
		if int64(len(buf)) > room {
			buf, st.truncated = buf[:room], true
		}
		st.outWritten += int64(len(buf))
	}
	w.Write(buf) // a failing writer (closed pipe) must not break the guest
}

// Now returns seconds since the engine started (clock 0) or Unix time (clock 1), NaN otherwise.
func (st *runState) Now(_ context.Context, clock int32) float64 {
	switch clock {
	case 0:
		return time.Since(st.start).Seconds()
	case 1:
		return float64(time.Now().UnixNano()) / 1e9
	}
	return math.NaN()
}

// HasCap: a script run by `palisade luau` holds no capabilities (and the CLI registers no ops).
func (st *runState) HasCap(context.Context, string) bool { return false }

// RateLimit never refuses: there are no ops to limit.
func (st *runState) RateLimit(context.Context, string) error { return nil }

// StartAsync: the CLI runs scripts, not events, so there is no asynchronous call context.
func (st *runState) StartAsync(context.Context, *abihost.Op, abi.Value) (uint32, error) {
	return 0, abihost.ErrNoContext
}

// Fault records the first invalid request of the guest; Run reports it as an error.
func (st *runState) Fault(_ context.Context, msg string) {
	if st.fault == nil {
		st.fault = errors.New("guest fault: " + msg)
	}
}

// ---- sandboxes ---------------------------------------------------------------------------------------------------

// Options configures a Sandbox.
type Options struct {
	// MemoryBudget is the most the interpreter may hold, in bytes: 0 means DefaultMemoryBudget, < 0 unlimited
	// (up to the engine's memory ceiling).
	MemoryBudget int64
	// Stdout and Stderr receive the guest's output (print, and error reports). nil discards it.
	Stdout, Stderr io.Writer
	// MaxOutput caps the bytes written to Stdout and Stderr together per Run (0 = unlimited); the rest is dropped.
	MaxOutput int64
}

// Sandbox is one guest instance with a booted interpreter. Its methods may be called from several goroutines;
// calls are serialized.
type Sandbox struct {
	mu      sync.Mutex
	door    abihost.Instance // the instance's state in the palisade_v1 door; State is set during boot and Run
	engine  *Engine
	mod     api.Module
	sp      api.MutableGlobal
	alloc   api.Function
	free    api.Function
	run     api.Function
	memUsed api.Function
	opts    Options
	budget  int64
	broken  error
}

// ErrBroken is returned (wrapped) by Run on a sandbox whose guest trapped earlier; create a new one.
var ErrBroken = errors.New("sandbox is broken by an earlier guest trap")

// New instantiates the guest, checks its ABI version and boots the interpreter with the memory budget.
func (e *Engine) New(ctx context.Context, opts Options) (*Sandbox, error) {
	budget := opts.MemoryBudget
	switch {
	case budget == 0:
		budget = DefaultMemoryBudget
	case budget < 0:
		budget = 0
	}
	if budget > math.MaxInt32 {
		return nil, fmt.Errorf("sandbox: memory budget %d is over 2 GiB", budget)
	}
	if budget > 0 && uint64(budget)+stackBytes > e.limit {
		return nil, fmt.Errorf("sandbox: memory budget %d bytes does not fit under the engine's memory limit of %d bytes",
			budget, e.limit)
	}
	mod, err := e.rt.InstantiateModule(withGrowingMemory(ctx), e.compiled,
		wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		return nil, fmt.Errorf("sandbox: instantiating the guest: %w", err)
	}
	s := &Sandbox{engine: e, mod: mod, opts: opts, budget: budget}
	g, ok := mod.ExportedGlobal("__stack_pointer").(api.MutableGlobal)
	if !ok {
		mod.Close(ctx)
		return nil, errors.New("sandbox: the guest does not export a mutable __stack_pointer")
	}
	s.sp = g
	s.alloc = mod.ExportedFunction("pal_buf_alloc")
	s.free = mod.ExportedFunction("pal_buf_free")
	s.run = mod.ExportedFunction("pal_run_script")
	s.memUsed = mod.ExportedFunction("pal_mem_used")

	bctx := s.enter(ctx, &runState{ctx: ctx, stdout: opts.Stdout, stderr: opts.Stderr, start: e.start,
		deadline: time.Now().Add(DefaultTimeout)})
	defer s.leave()
	stack := []uint64{0}
	if err := mod.ExportedFunction("pal_abi_version").CallWithStack(bctx, stack); err != nil {
		mod.Close(ctx)
		return nil, fmt.Errorf("sandbox: pal_abi_version: %w", err)
	}
	if v := int32(stack[0]); v != ABIVersion {
		mod.Close(ctx)
		return nil, fmt.Errorf("sandbox: the guest was built for ABI version %d; this host speaks version %d", v, ABIVersion)
	}
	stack[0] = api.EncodeI32(int32(budget))
	if err := mod.ExportedFunction("pal_boot").CallWithStack(bctx, stack); err != nil {
		mod.Close(ctx)
		return nil, fmt.Errorf("sandbox: pal_boot: %w", err)
	}
	if rc := int32(stack[0]); rc != 0 {
		mod.Close(ctx)
		return nil, fmt.Errorf("sandbox: pal_boot failed with status %d (budget %d bytes)", rc, budget)
	}
	return s, nil
}

// enter makes st the state the imports use for this sandbox's guest calls and returns the context to make them
// with. s.mu is held (or s is not shared yet).
func (s *Sandbox) enter(ctx context.Context, st *runState) context.Context {
	s.door.Enter(st)
	return abihost.WithInstance(ctx, &s.door)
}

// leave detaches the run's state: guest calls outside boot and Run get no fuel and no output.
func (s *Sandbox) leave() { s.door.Enter(nil) }

// Close releases the instance.
func (s *Sandbox) Close(ctx context.Context) error { return s.mod.Close(ctx) }

// MemoryBudget is the interpreter's budget in bytes (0 = unlimited).
func (s *Sandbox) MemoryBudget() int64 { return s.budget }

// MemUsed returns the bytes the interpreter currently holds (pal_mem_used).
func (s *Sandbox) MemUsed(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stack := []uint64{0}
	if err := s.call(ctx, s.memUsed, stack); err != nil {
		return 0, err
	}
	return int64(stack[0]), nil
}

// MemorySize is the current size of the instance's linear memory in bytes.
func (s *Sandbox) MemorySize() uint32 { return s.mod.Memory().Size() }

// Status is how a script ended (pal_run_script's result).
type Status int32

const (
	StatusOK       Status = 0 // ran to the end
	StatusError    Status = 1 // a syntax or runtime error (reported on Stderr)
	StatusAborted  Status = 2 // stopped by the host: time, fuel or cancellation (see Result.Abort)
	StatusNoMemory Status = 3 // the memory budget was exhausted
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusError:
		return "error"
	case StatusAborted:
		return "aborted"
	case StatusNoMemory:
		return "out of memory"
	}
	return fmt.Sprintf("status %d", int32(s))
}

// AbortReason says why the host stopped a script.
type AbortReason int

const (
	AbortNone     AbortReason = iota
	AbortTimeout              // Limits.Timeout passed
	AbortFuel                 // Limits.Fuel used up
	AbortCanceled             // the context was cancelled or its deadline passed
)

func (a AbortReason) String() string {
	return [...]string{"none", "timeout", "fuel limit", "canceled"}[a]
}

// Limits bound one Run.
type Limits struct {
	// Timeout is the wall-clock limit (0 = DefaultTimeout, < 0 = none besides the context's).
	Timeout time.Duration
	// Fuel is the total fuel the script may use (about one unit per bytecode instruction; 0 = unlimited).
	Fuel int64
}

// Result describes a finished Run.
type Result struct {
	Status    Status
	Abort     AbortReason // why the host stopped it, when Status is StatusAborted
	Fuel      int64       // fuel handed to the guest (an upper bound of what it used)
	Duration  time.Duration
	Truncated bool // output beyond Options.MaxOutput was dropped
}

// Run runs src as a script called name (messages read "name:line: ..."). A script's own failure is reported
// in Result.Status (and on Stderr); the error is non-nil only when the sandbox itself failed: a trap in the
// guest (the sandbox is then broken), a guest fault, or a script the guest has no memory to receive.
func (s *Sandbox) Run(ctx context.Context, name string, src []byte, lim Limits) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res Result
	if s.broken != nil {
		return res, fmt.Errorf("sandbox: %w: %v", ErrBroken, s.broken)
	}
	st := &runState{ctx: ctx, stdout: s.opts.Stdout, stderr: s.opts.Stderr, start: s.engine.start,
		fuelLimit: lim.Fuel, outLimit: s.opts.MaxOutput}
	timeout := lim.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	start := time.Now()
	if timeout > 0 {
		st.deadline = start.Add(timeout)
	}
	cctx := s.enter(ctx, st)
	defer s.leave()

	total := uint64(len(name)) + uint64(len(src))
	if total > math.MaxInt32 {
		return res, fmt.Errorf("sandbox: script %s is too large (%d bytes)", name, len(src))
	}
	stack := []uint64{total, 0, 0, 0}
	if err := s.call(cctx, s.alloc, stack); err != nil {
		return res, err
	}
	buf := uint32(stack[0])
	if buf == 0 {
		return res, fmt.Errorf("sandbox: no guest memory for script %s (%d bytes)", name, len(src))
	}
	mem := s.mod.Memory()
	if !mem.WriteString(buf, name) || !mem.Write(buf+uint32(len(name)), src) {
		return res, fmt.Errorf("sandbox: pal_buf_alloc returned an invalid buffer %#x", buf)
	}
	stack[0], stack[1] = uint64(buf), uint64(len(name))
	stack[2], stack[3] = uint64(buf+uint32(len(name))), uint64(len(src))
	err := s.call(cctx, s.run, stack)
	res.Duration = time.Since(start)
	res.Fuel = st.fuelGranted
	res.Truncated = st.truncated
	if err != nil {
		return res, err
	}
	res.Status = Status(int32(stack[0]))
	if res.Status == StatusAborted {
		res.Abort = st.abort
	}
	stack[0] = uint64(buf)
	if err := s.call(cctx, s.free, stack); err != nil {
		return res, err
	}
	if st.fault != nil {
		return res, fmt.Errorf("sandbox: %s: %w", name, st.fault)
	}
	return res, nil
}

// call calls a guest export. After a trap it restores __stack_pointer (wazero unwinds the wasm stack but not the
// guest's shadow stack) and marks the sandbox broken: the interpreter may have been stopped half-way.
func (s *Sandbox) call(ctx context.Context, f api.Function, stack []uint64) error {
	sp := s.sp.Get()
	if err := f.CallWithStack(ctx, stack); err != nil {
		s.sp.Set(sp)
		s.broken = err
		name := f.Definition().Name()
		if names := f.Definition().ExportNames(); len(names) > 0 {
			name = names[0]
		}
		return fmt.Errorf("sandbox: guest trap in %s: %w", name, err)
	}
	return nil
}

// Broken reports whether an earlier guest trap made the sandbox unusable.
func (s *Sandbox) Broken() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken != nil
}
