package guildvm

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/tetratelabs/wazero"
)

// Host owns the compiled guest, the snapshot image and every guild's instance.
type Host struct {
	cfg         Config
	rt          wazero.Runtime
	cm          wazero.CompiledModule
	cmRestore   wazero.CompiledModule // cm without data segments (the snapshot image replaces memory), or cm
	cache       wazero.CompilationCache
	modCfg      wazero.ModuleConfig
	snap        *image      // the base image: interpreter, libraries and dispatcher booted
	images      *imageCache // template images; nil when Config.TemplateImages < 0
	spares      *spares     // instances started ahead of time; nil when Config.Spares < 0
	recycled    *recycler   // instances of evicted guilds kept for reuse; nil when Config.Recycle < 0
	globalNames []string    // exported mutable globals saved in the snapshot (normally just __stack_pointer)
	sem         chan struct{}
	m           *metrics
	epoch       time.Time

	mu     sync.Mutex
	vms    map[uint64]*guildVM
	lru    list.List // of *guildVM, front = most recently acquired
	closed bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// guildVM is one guild's slot. Its instance may be absent (not yet built, broken, or evicted).
type guildVM struct {
	guild uint64

	// guarded by Host.mu
	refs     int // Dispatch calls in progress (including ones parked on the host)
	lastUsed time.Time
	elem     *list.Element
	gone     bool // removed from the map

	// guarded by mu: only the goroutine holding mu enters the instance
	mu     sync.Mutex
	inst   *instance
	builds int
}

// New compiles the guest, boots the snapshot instance and starts the idle janitor.
func New(ctx context.Context, cfg Config) (*Host, error) {
	cfg.setDefaults()
	if len(cfg.Wasm) == 0 {
		return nil, errors.New("guildvm: Config.Wasm is empty")
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("guildvm: metrics: %w", err)
	}
	h := &Host{cfg: cfg, m: m, epoch: time.Now(), vms: map[uint64]*guildVM{}, stop: make(chan struct{})}
	h.sem = make(chan struct{}, cfg.MaxConcurrent)
	if cfg.TemplateImages > 0 {
		h.images = newImageCache(cfg.TemplateImages)
	}
	if err := h.compile(ctx); err != nil {
		h.closeRuntime(ctx)
		return nil, err
	}
	if err := h.takeSnapshot(ctx); err != nil {
		h.closeRuntime(ctx)
		return nil, err
	}
	if cfg.Recycle > 0 {
		h.recycled = newRecycler(h, cfg.Recycle)
	}
	if h.images != nil && cfg.Spares > 0 {
		h.spares = newSpares(h, cfg.Spares)
	}
	if cfg.IdleTimeout > 0 {
		h.wg.Add(1)
		go h.janitor()
	}
	return h, nil
}

// Close evicts every instance and releases the runtime. Dispatch calls still parked on the host return errors.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	var all []*guildVM
	for _, vm := range h.vms {
		vm.gone = true
		all = append(all, vm)
	}
	h.vms = map[uint64]*guildVM{}
	h.lru.Init()
	h.mu.Unlock()
	close(h.stop)
	h.wg.Wait()
	for _, vm := range all {
		h.closeVM(ctx, vm, "close")
	}
	if h.snap != nil {
		h.snap.close()
	}
	h.spares.close(ctx)
	h.recycled.close(ctx)
	h.images.close()
	return h.closeRuntime(ctx)
}

func (h *Host) closeRuntime(ctx context.Context) error {
	var err error
	if h.rt != nil {
		err = h.rt.Close(ctx)
	}
	if h.cache != nil {
		h.cache.Close(ctx)
	}
	return err
}

// Stats is a point-in-time view for tests and the CLI.
type Stats struct {
	Guilds    int // guild slots (with or without a live instance)
	Live      int // live instances
	ImageSize int // snapshot image bytes
	CoW       bool
}

// Stats returns counts of guild slots and live instances.
func (h *Host) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Stats{Guilds: len(h.vms), ImageSize: h.snap.size, CoW: h.snap.fd >= 0}
	for _, vm := range h.vms {
		if vm.hasInstance() {
			s.Live++
		}
	}
	return s
}

func (vm *guildVM) hasInstance() bool {
	if !vm.mu.TryLock() {
		return true // busy, so it has (or is building) one
	}
	defer vm.mu.Unlock()
	return vm.inst != nil
}

// acquire returns the guild's slot with a reference held, creating it (and evicting the least recently used
// idle slot when the cap is reached) if needed.
func (h *Host) acquire(ctx context.Context, guild uint64) (*guildVM, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	vm := h.vms[guild]
	var victim *guildVM
	if vm == nil {
		if len(h.vms) >= h.cfg.MaxInstances {
			for e := h.lru.Back(); e != nil; e = e.Prev() {
				if c := e.Value.(*guildVM); c.refs == 0 {
					victim = c
					h.removeLocked(c)
					break
				}
			}
			if victim == nil {
				h.mu.Unlock()
				return nil, ErrCapacity
			}
		}
		vm = &guildVM{guild: guild}
		vm.elem = h.lru.PushFront(vm)
		h.vms[guild] = vm
	} else {
		h.lru.MoveToFront(vm.elem)
	}
	vm.refs++
	vm.lastUsed = time.Now()
	h.mu.Unlock()
	if victim != nil {
		h.closeVM(ctx, victim, "lru")
	}
	return vm, nil
}

func (h *Host) release(vm *guildVM) {
	h.mu.Lock()
	vm.refs--
	vm.lastUsed = time.Now()
	h.mu.Unlock()
}

func (h *Host) removeLocked(vm *guildVM) {
	if vm.gone {
		return
	}
	vm.gone = true
	delete(h.vms, vm.guild)
	h.lru.Remove(vm.elem)
}

// closeVM closes a slot's instance (waiting for a guest call in progress to return).
func (h *Host) closeVM(ctx context.Context, vm *guildVM, reason string) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.inst != nil {
		inst := h.detach(vm)
		if reason == "close" {
			inst.close(ctx)
		} else {
			h.recycled.put(ctx, inst) // a healthy instance: a later guild may reuse it
		}
		h.m.evicted.WithLabelValues(reason).Inc()
	}
}

// evictIdle closes every slot unused since before cutoff. It returns how many were evicted.
func (h *Host) evictIdle(ctx context.Context, cutoff time.Time) int {
	var victims []*guildVM
	h.mu.Lock()
	for e := h.lru.Back(); e != nil; {
		vm := e.Value.(*guildVM)
		prev := e.Prev()
		if vm.refs == 0 && vm.lastUsed.Before(cutoff) {
			h.removeLocked(vm)
			victims = append(victims, vm)
		}
		e = prev
	}
	h.mu.Unlock()
	for _, vm := range victims {
		h.closeVM(ctx, vm, "idle")
	}
	return len(victims)
}

func (h *Host) janitor() {
	defer h.wg.Done()
	every := h.cfg.IdleTimeout / 4
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	if every > time.Minute {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case now := <-t.C:
			h.evictIdle(context.Background(), now.Add(-h.cfg.IdleTimeout))
		}
	}
}

// Dispatch delivers one event to a guild and waits for its result. The guild's instance is created on its
// first event (or after it broke). A script failure is returned as a *ScriptError.
func (h *Host) Dispatch(ctx context.Context, guildID uint64, ev Event) (res Result, err error) {
	start := time.Now()
	defer func() { h.observe(start, err) }()
	if len(ev.Name) == 0 || len(ev.Name) > maxEventName {
		return Result{}, fmt.Errorf("guildvm: event name must be 1 to %d bytes", maxEventName)
	}
	if ev.Name[0] == '$' {
		return Result{}, fmt.Errorf("guildvm: event name %q is reserved: names starting with '$' are the host's own (abi/SPEC.md §5.5)", ev.Name)
	}
	data := ev.Encoded
	if data == nil {
		if data, err = abi.Encode(ev.Data); err != nil {
			return Result{}, fmt.Errorf("guildvm: encode event data: %w", err)
		}
	}
	vm, err := h.acquire(ctx, guildID)
	if err != nil {
		return Result{}, err
	}
	defer h.release(vm)
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.gone && vm.inst == nil {
		return Result{}, ErrClosed
	}
	if vm.inst == nil {
		if err := h.build(ctx, vm); err != nil {
			return Result{}, err
		}
	}
	res, err = h.runEvent(ctx, vm, ev.Name, data)
	if inst := vm.inst; inst != nil && inst.learn != nil {
		if cm, ok := inst.mem.(*cowMemory); ok {
			if hot, err := cm.dirtyPages(uint64(inst.memory.Size())); err == nil {
				inst.learn.hot.Store(&hot)
			}
		}
		inst.learn = nil
	}
	return res, err
}

func (h *Host) observe(start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
		var se *ScriptError
		switch {
		case errors.As(err, &se):
			h.m.errors.WithLabelValues(se.Kind).Inc()
		case errors.Is(err, ErrCapacity):
			h.m.errors.WithLabelValues("capacity").Inc()
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			h.m.errors.WithLabelValues("canceled").Inc()
		default:
			h.m.errors.WithLabelValues("internal").Inc()
		}
	}
	h.m.dispatch.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
}

// build creates vm's instance and installs the guild's budget and templates. vm.mu is held. A guild whose
// budget and templates match a template image starts from that image; otherwise it starts from the base
// snapshot, runs the installs, and its state right after them becomes the template image for the next one.
func (h *Host) build(ctx context.Context, vm *guildVM) error {
	var tpls []Template
	if h.cfg.Templates != nil {
		var err error
		if tpls, err = h.cfg.Templates(ctx, vm.guild); err != nil {
			return fmt.Errorf("guildvm: load templates: %w", err)
		}
	}
	b := h.budget(vm.guild)
	key := templateKey(b, tpls)
	// The image to start from as is: the base image when there is nothing to install, else the template
	// image of exactly this budget and these templates, if one is cached.
	var ready *image
	if len(tpls) == 0 && b == h.snap.budget {
		ready = h.snap
	} else if ready = h.images.get(key); ready != nil {
		defer h.images.release(ready)
	}
	if ready != nil {
		inst, from := h.recycled.take(ctx, ready, h.ceiling(b, ready)), "recycled"
		if inst == nil {
			inst, from = h.spares.take(ready), "spare"
		}
		if inst == nil {
			var err error
			if inst, err = h.restore(ctx, b, ready); err != nil {
				return err
			}
			from = "image"
		}
		h.spares.want(ready) // guilds keep starting from this image: have one ready for the next
		h.m.starts.WithLabelValues(from).Inc()
		h.started(vm, inst)
		inst.caps = templateCaps(tpls)
		return nil
	}
	inst := h.recycled.take(ctx, h.snap, h.ceiling(b, h.snap))
	if inst == nil {
		var err error
		if inst, err = h.restore(ctx, b, h.snap); err != nil {
			return err
		}
	}
	h.started(vm, inst)
	h.m.starts.WithLabelValues("install").Inc()
	inst.caps = templateCaps(tpls)
	clean := true
	if b != h.snap.budget {
		if _, err := h.runEvent(ctx, vm, BudgetEvent, encodeInt(b)); err != nil {
			if vm.inst != nil {
				h.dropInstance(ctx, vm)
			}
			return fmt.Errorf("guildvm: set memory budget: %w", err)
		}
	}
	for _, t := range tpls {
		arg, _ := abi.Encode(abi.MapOf("name", t.Name, "source", t.Source))
		if _, err := h.runEvent(ctx, vm, InstallEvent, arg); err != nil {
			clean = false
			h.m.errors.WithLabelValues("template").Inc()
			h.cfg.Logger.Warn("guildvm: template install failed", "guild", vm.guild, "template", t.Name, "err", err)
			if vm.inst == nil { // broken while installing (out of memory)
				return err
			}
		}
	}
	// Only a set that installed cleanly is kept (a failure may depend on more than the input: the time limit),
	// and only the second time it is installed: storing an image costs about a millisecond (fresh pages for
	// the memfd), more than the installs it saves, so sets used once (most guilds' own) are not worth it.
	if clean && len(tpls) > 0 && h.images.seenBefore(key) {
		im, err := h.captureImage(inst, b, inst.cow)
		if err != nil {
			h.cfg.Logger.Warn("guildvm: template image not kept", "err", err)
		} else {
			h.images.put(key, im)
			h.m.imagesStored.Inc()
		}
	}
	return nil
}

// started records vm's new instance.
func (h *Host) started(vm *guildVM, inst *instance) {
	vm.inst = inst
	vm.builds++
	h.m.live.Inc()
	h.m.guestMemory.Add(float64(inst.memSize))
}

func (h *Host) budget(guild uint64) int64 {
	if h.cfg.GuildBudget != nil {
		if b := h.cfg.GuildBudget(guild); b > 0 {
			return b
		}
	}
	return h.cfg.MemoryBudget
}

// ceiling is the most linear memory an instance started from im, with this interpreter budget, may have.
func (h *Host) ceiling(budget int64, im *image) uint64 {
	c := uint64(im.size) + uint64(budget) + uint64(h.cfg.MemorySlack)
	c = (c + pageSize - 1) / pageSize * pageSize
	if max := uint64(h.cfg.MaxMemoryPages) * pageSize; c > max {
		c = max
	}
	return c
}

// markBroken closes vm's instance after a memory failure or a trap; the next event rebuilds it. vm.mu is held.
func (h *Host) markBroken(ctx context.Context, vm *guildVM, reason string, cause error) {
	if vm.inst == nil {
		return
	}
	h.m.broken.WithLabelValues(reason).Inc()
	h.cfg.Logger.Warn("guildvm: instance broken, rebuilding on next event", "guild", vm.guild, "reason", reason, "err", cause)
	h.dropInstance(ctx, vm)
}

// dropInstance closes vm's instance. vm.mu is held.
func (h *Host) dropInstance(ctx context.Context, vm *guildVM) {
	h.detach(vm).close(ctx)
}

// detach takes vm's instance away from it. vm.mu is held.
func (h *Host) detach(vm *guildVM) *instance {
	inst := vm.inst
	vm.inst = nil
	h.m.live.Dec()
	h.m.guestMemory.Sub(float64(inst.memSize))
	return inst
}

func encodeInt(v int64) []byte {
	b, _ := abi.Encode(v)
	return b
}
