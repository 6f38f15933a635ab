package guildvm

import (
	"context"
	"sync"

	"github.com/palisade-bot/palisade/host/abihost"
	"github.com/tetratelabs/wazero/api"
)

// recycler keeps the instances of evicted guilds (idle or least recently used, never broken ones) so that a
// later guild that starts from the same image reuses one instead of creating an instance: cowMemory.reset
// copies the image's bytes back into every page the previous guild wrote (found with /proc/self/pagemap; zeros
// beyond the image) and leaves the pages it never wrote mapped to the image, so afterwards the memory equals
// the image byte for byte, as a fresh restore would, but its pages are already mapped and writable. Globals
// and every host-side field of the instance are reset too. At most Config.Recycle instances are kept, newest
// first; each holds a reference on its image.
type recycler struct {
	h   *Host
	max int

	mu   sync.Mutex
	list []*instance // oldest first
}

func newRecycler(h *Host, max int) *recycler { return &recycler{h: h, max: max} }

// put keeps inst for reuse, or closes it when it cannot be reset (no pagemap, no image view, copy restore,
// events in flight) or its image is gone.
func (r *recycler) put(ctx context.Context, inst *instance) {
	im := inst.image
	if r == nil || !inst.cow || !canReset || im == nil || im.view == nil || len(inst.events) > 0 || len(inst.pending) > 0 ||
		!r.h.images.acquire(im) {
		inst.close(ctx)
		return
	}
	var drop *instance
	r.mu.Lock()
	r.list = append(r.list, inst)
	if len(r.list) > r.max {
		drop = r.list[0]
		r.list = r.list[1:]
	}
	r.mu.Unlock()
	if drop != nil {
		r.h.images.release(drop.image)
		drop.close(ctx)
	}
}

// take returns a kept instance of im with this memory ceiling, reset to im, or nil.
func (r *recycler) take(ctx context.Context, im *image, ceiling uint64) *instance {
	if r == nil {
		return nil
	}
	var inst *instance
	r.mu.Lock()
	for i := len(r.list) - 1; i >= 0; i-- {
		if r.list[i].image == im && r.list[i].mem.ceiling() == ceiling {
			inst = r.list[i]
			r.list = append(r.list[:i], r.list[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
	if inst == nil {
		return nil
	}
	defer r.h.images.release(im)
	if err := inst.reset(im); err != nil {
		r.h.cfg.Logger.Warn("guildvm: evicted instance not reusable", "err", err)
		inst.close(ctx)
		return nil
	}
	return inst
}

// reset puts inst back to the state a restore from im gives.
func (inst *instance) reset(im *image) error {
	if err := inst.mem.(*cowMemory).reset(im.view, uint64(inst.memory.Size())); err != nil {
		return err
	}
	for i, n := range inst.h.globalNames {
		inst.mod.ExportedGlobal(n).(api.MutableGlobal).Set(im.globals[i])
	}
	inst.mailbox, inst.scratch, inst.nextEvent, inst.refusals = im.mailbox, im.scratch, im.nextEvent, im.refusals
	inst.events, inst.pending, inst.caps, inst.learn = nil, nil, nil, nil
	inst.nextCall = 0
	inst.grant = inst.h.cfg.InitialFuel
	inst.door = abihost.Instance{Ops: inst.h.cfg.Ops}
	return nil
}

// close closes every kept instance.
func (r *recycler) close(ctx context.Context) {
	if r == nil {
		return
	}
	r.mu.Lock()
	list := r.list
	r.list = nil
	r.mu.Unlock()
	for _, inst := range list {
		r.h.images.release(inst.image)
		inst.close(ctx)
	}
}
