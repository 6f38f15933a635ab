// Package guildvm runs each Discord guild's scripts in its own WebAssembly instance of the Palisade guest
// ("one VM per guild").
//
// A [Host] compiles the guest module once per process (through wazero's on-disk compilation cache when
// Config.CacheDir is set), boots one instance (interpreter, libraries and the dispatcher), and keeps an image of
// its linear memory. A guild's first event creates its instance from that image: on Linux the image lives in a
// memfd and is mapped MAP_PRIVATE|MAP_FIXED over the new instance's memory reservation (copy-on-write: pages are
// shared until the guest writes them); elsewhere, or when Config.DisableCoW is set, the image is copied.
//
// Guilds whose budget and templates match a stored template image start from that image instead of compiling
// their templates (images.go), with the pages their first event will write prefaulted in a batch; images that
// several guilds start from also keep spare instances restored ahead of time (spares.go), and instances of
// evicted guilds are reset in place and reused by guilds that start from the same image (recycle.go).
//
// Events are delivered with the event protocol of abi/SPEC.md §5: each event runs as its own guest coroutine;
// an asynchronous syscall parks it (step PENDING) and the host performs the operation with the guild's
// instance unlocked, so other events of the same guild can run meanwhile.
//
// The guest's imports (module palisade_v1) are host/abihost's door, the only implementation of them: guildvm
// registers it with abihost.Instantiate and supplies its per-event behaviour as an abihost.State (fuel and
// deadline, output, clocks, capabilities, rate limits, async calls; see state.go). Syscall operations are an
// abihost.Ops table (Config.Ops), so every op is checked against the capabilities of the templates the event
// runs (Template.Caps) and then Config.RateLimit before its handler runs. An instance is entered by one
// goroutine at a time, and at most Config.MaxConcurrent guest calls run at once across all guilds (default
// GOMAXPROCS-1), so Go's scheduler, GC and the gateway's heartbeats always have a free P.
//
// Limits:
//   - Time: the guest calls the "fuel" import whenever its fuel counter runs out. The host grants more fuel
//     (sized so that the guest comes back about every Config.RefillInterval of work) until the event's deadline
//     passes, then answers 0 and the guest ends the event with "Script execution time limit exceeded". The
//     deadline is Config.EventTimeout after the host first enters the guest for the event, moved to at least
//     Config.GiveTime ahead each time the event resumes after waiting on the host. The instance stays usable.
//   - Memory: the guest allocator refuses allocations beyond the guild's budget ("not enough memory"); the
//     instance's memory ceiling (snapshot size + budget + slack) is the hard backstop. A memory failure or a
//     wasm trap marks the instance broken: it is closed, and the next event of the guild gets a new one.
//
// Instances are evicted after Config.IdleTimeout without events, and in least-recently-used order when
// Config.MaxInstances would be exceeded. Metrics (client_golang) carry no per-guild labels.
package guildvm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/palisade-bot/palisade/host/abihost"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults (AntiRaid's product documentation: 3 MiB per guild VM, 30 s per run, 15 min idle TTL).
const (
	DefaultMemoryBudget   = 3 << 20
	DefaultEventTimeout   = 30 * time.Second
	DefaultGiveTime       = time.Second
	DefaultIdleTimeout    = 15 * time.Minute
	DefaultMaxInstances   = 10000
	DefaultTemplateImages = 256
	DefaultSpares         = 8
	DefaultRecycle        = 64
	DefaultMaxOutput      = 64 << 10
	DefaultRefillInterval = time.Millisecond
	DefaultMaxMemoryPages = 1024 // 64 MiB: runtime-wide page limit, the largest per-guild ceiling allowed

	// Reserved event names handled by the guest dispatcher (guest/wasm/guildvm_exports.c).
	InstallEvent = "$install" // data {name = string, source = string}: compile and register a template
	BudgetEvent  = "$budget"  // data INT bytes: set the interpreter's memory budget

	maxEventName = 128
	pageSize     = 65536
	scratchSize  = 16 << 10
)

// Template is one script of a guild: a Luau chunk run for each event with `local evt, ctx = ...`.
type Template struct {
	Name   string
	Source string
	// Caps are the capabilities the template holds (e.g. "discord:create_message"); a syscall op with a
	// Cap the template lacks gets E_DENIED. The guest dispatcher runs every template of the guild for an
	// event, so an event holds the capabilities common to all of the guild's templates.
	Caps []string
}

// Event is one event for a guild. Data is any value abi.Encode accepts; Encoded, when not nil, is an
// already-encoded value (abi/SPEC.md §3) and Data is then ignored.
type Event struct {
	Name    string
	Data    abi.Value
	Encoded []byte
}

// Result is what a DONE event returned.
type Result struct {
	Value abi.Value // the event coroutine's result (0 values → nil, 1 → that value, n → list)
	Fuel  int64     // fuel units granted while the event ran (0 when the guest never asked for more)
}

// Config configures a Host. Only Wasm is required.
type Config struct {
	Wasm     []byte // the guest module (guest/palisade.wasm)
	CacheDir string // wazero compilation cache directory; "" = compile in memory only

	// Templates returns a guild's templates; it is called when the guild's instance is (re)built. nil = none.
	Templates func(ctx context.Context, guildID uint64) ([]Template, error)

	MemoryBudget   int64                      // bytes the interpreter may hold per guild; default 3 MiB
	GuildBudget    func(guildID uint64) int64 // per-guild override (0 = MemoryBudget); nil = none
	MemorySlack    int64                      // ceiling = snapshot + budget + slack; default budget/4 + 256 KiB
	MaxMemoryPages uint32                     // runtime-wide page limit; default 1024 (64 MiB)

	EventTimeout   time.Duration // default 30 s
	GiveTime       time.Duration // default 1 s
	RefillInterval time.Duration // target guest work between fuel calls; default 1 ms
	InitialFuel    int64         // first grant; adapted towards RefillInterval afterwards; default 100000

	IdleTimeout   time.Duration // default 15 min; <0 disables idle eviction
	MaxInstances  int           // default 10000
	MaxConcurrent int           // guest calls running at once; default max(1, GOMAXPROCS-1)

	// Ops are the syscall operations (abihost.NewOps). Sync ops (Op.Sync) run while the guest waits; async ops
	// (Op.Perform) park the event's coroutine and run with the guild's instance unlocked. Handlers get the
	// guild with GuildID(st). nil = none (every syscall gets E_UNKNOWN_OP).
	Ops *abihost.Ops
	// RateLimit is consulted for every syscall after the capability check; an error refuses the call
	// (E_RATELIMIT, with the error's text as the message). nil = no limit.
	RateLimit func(guildID uint64, op string) error
	Output    func(guildID uint64, fd int, p []byte) // print/diagnostics; nil = drop (p is only valid during the call)
	MaxOutput int64                                  // output bytes per event passed to Output; default 64 KiB, <0 = no limit

	Logger     *slog.Logger          // default slog.Default()
	Registerer prometheus.Registerer // nil = metrics not registered anywhere
	DisableCoW bool                  // use the plain-copy restore even where copy-on-write is available
	// TemplateImages is how many template images (a guild's state right after its templates were installed,
	// shared by guilds with the same budget and templates) are kept; default 256, <0 = none.
	TemplateImages int
	// Spares is how many instances may be kept started ahead of time from template images that several
	// guilds start from (see spares.go); default 8, <0 = none. Needs TemplateImages.
	Spares int
	// Recycle is how many instances of evicted guilds are kept to be reset and reused by later guilds that
	// start from the same image (see recycle.go); default 64, <0 = none.
	Recycle int
}

func (c *Config) setDefaults() {
	if c.MemoryBudget <= 0 {
		c.MemoryBudget = DefaultMemoryBudget
	}
	if c.MemorySlack <= 0 {
		c.MemorySlack = c.MemoryBudget/4 + 256<<10
	}
	if c.MaxMemoryPages == 0 {
		c.MaxMemoryPages = DefaultMaxMemoryPages
	}
	if c.EventTimeout <= 0 {
		c.EventTimeout = DefaultEventTimeout
	}
	if c.GiveTime <= 0 {
		c.GiveTime = DefaultGiveTime
	}
	if c.RefillInterval <= 0 {
		c.RefillInterval = DefaultRefillInterval
	}
	if c.InitialFuel <= 0 {
		c.InitialFuel = 100000
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxInstances <= 0 {
		c.MaxInstances = DefaultMaxInstances
	}
	if c.TemplateImages == 0 {
		c.TemplateImages = DefaultTemplateImages
	}
	if c.MaxOutput == 0 {
		c.MaxOutput = DefaultMaxOutput
	}
	if c.Recycle == 0 {
		c.Recycle = DefaultRecycle
	}
	if c.Spares == 0 {
		c.Spares = DefaultSpares
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = runtime.GOMAXPROCS(0) - 1
		if c.MaxConcurrent < 1 {
			c.MaxConcurrent = 1
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Errors returned by Dispatch. A script's own failure is a *ScriptError.
var (
	ErrClosed   = errors.New("guildvm: host is closed")
	ErrCapacity = errors.New("guildvm: instance limit reached and every instance is busy")
	ErrBroken   = errors.New("Lua VM to dispatch to is broken")
	// ErrTimeLimit and ErrNoMemory match a *ScriptError through errors.Is.
	ErrTimeLimit = errors.New("Script execution time limit exceeded")
	ErrNoMemory  = errors.New("not enough memory")
)

// Guest error statuses reported in the mailbox (pal.h).
const (
	statusRuntime = 2
	statusMemory  = 4
	statusAbort   = 6
)

// ScriptError is an event that ended with an error raised in the guest (step FAILED), or that the host ended
// (a trap, a broken instance). Message is what the script should see.
type ScriptError struct {
	Message string
	Status  int    // pal status: 2 runtime, 4 out of memory, 6 time limit; 0 for host-side failures
	Kind    string // metric kind: script | time_limit | memory | trap | broken
}

func (e *ScriptError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrTimeLimit) and errors.Is(err, ErrNoMemory) work.
func (e *ScriptError) Is(target error) bool {
	switch target {
	case ErrTimeLimit:
		return e.Status == statusAbort
	case ErrNoMemory:
		return e.Status == statusMemory
	case ErrBroken:
		return e.Kind == "broken"
	}
	return false
}

func errImageTooLarge(n int, max uint64) error {
	return fmt.Errorf("snapshot image of %d bytes exceeds the memory ceiling of %d bytes", n, max)
}
