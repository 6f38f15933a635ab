package guildvm

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/palisade-bot/palisade/host/abihost"
)

// The imports of module palisade_v1 are host/abihost's door (one host module for every guild, registered in
// compile). This file is what guildvm plugs into it: *callState implements abihost.State for one event (or the
// snapshot's boot), and instance.door (an abihost.Instance) carries it. Host.call points instance.door.State
// at the callState of the goroutine entering the guest, and the Call's ctx carries &instance.door
// (abihost.WithInstance), where abihost.ContextResolver finds it.

const (
	maxPending   = 256 // pending async calls per instance (abi/SPEC.md §2)
	maxFuelGrant = 1 << 40
	minFuelGrant = 1000
)

var _ abihost.State = (*callState)(nil)

// GuildID returns the guild on whose behalf an op handler (abihost.Op.Sync or Perform) was called: ops get the
// guild from the host, never from the guest. It is 0 for a State that is not guildvm's.
func GuildID(st abihost.State) uint64 {
	if cs, ok := st.(*callState); ok {
		return cs.guild
	}
	return 0
}

// Fuel refills the guest's fuel counter, or answers 0 once the event's deadline has passed (the guest then
// raises the uncatchable "Script execution time limit exceeded"). The grant adapts so the guest returns
// about every RefillInterval: the time since the last refill is the time the previous grant took.
func (cs *callState) Fuel(context.Context) int64 {
	h := cs.h
	now := time.Now()
	if !now.Before(cs.deadline) {
		cs.aborted = true
		return 0
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
	cs.last = time.Now()
	cs.fuel += g
	h.m.refills.Inc()
	h.m.fuel.Add(float64(g))
	return g
}

// Write hands the guest's output to Config.Output, attributed to the guild. An event's output beyond
// Config.MaxOutput bytes is dropped, with one notice saying so.
func (cs *callState) Write(_ context.Context, fd int32, p []byte) {
	out := cs.h.cfg.Output
	if out == nil || len(p) == 0 || cs.truncated {
		return
	}
	defer func() { _ = recover() }()
	if max := cs.h.cfg.MaxOutput; max > 0 && cs.written+int64(len(p)) > max {
		if keep := max - cs.written; keep > 0 {
			out(cs.guild, int(fd), p[:keep])
		}
		cs.written, cs.truncated = max, true
		out(cs.guild, int(fd), []byte(fmt.Sprintf("\n[output truncated: this event wrote more than %d bytes]\n", max)))
		return
	}
	cs.written += int64(len(p))
	out(cs.guild, int(fd), p)
}

// Now returns seconds since the host started (clock 0) or Unix time (clock 1).
func (cs *callState) Now(_ context.Context, clock int32) float64 {
	switch clock {
	case 0:
		return time.Since(cs.h.epoch).Seconds()
	case 1:
		return float64(time.Now().UnixNano()) / 1e9
	}
	return math.NaN()
}

// HasCap reports whether the templates this event runs all hold capability c. The guest dispatcher runs every
// installed template for an event, so the event acts with the capabilities its templates have in common;
// reserved events ($install, $budget) and the snapshot's boot run no template and hold none.
func (cs *callState) HasCap(_ context.Context, c string) bool {
	return cs.caps[c]
}

// RateLimit consults Config.RateLimit for the guild and op.
func (cs *callState) RateLimit(_ context.Context, op string) error {
	if rl := cs.h.cfg.RateLimit; rl != nil {
		return rl(cs.guild, op)
	}
	return nil
}

// StartAsync records an async call of this event; runEvent performs it (op.Perform) when the guest parks
// the event on it.
func (cs *callState) StartAsync(_ context.Context, op *abihost.Op, arg abi.Value) (uint32, error) {
	if cs.event == 0 {
		return 0, abihost.ErrNoContext
	}
	inst := cs.inst
	if len(inst.pending) >= maxPending {
		return 0, abihost.ErrBusy
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
	inst.pending[inst.nextCall] = &pendingCall{event: cs.event, cs: cs, op: op, arg: arg}
	return inst.nextCall, nil
}

// performOp runs an async op's handler, turning a panic into an error.
func performOp(ctx context.Context, pc *pendingCall) (v abi.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	if pc.op.Perform == nil {
		return nil, fmt.Errorf("operation %s has no handler", pc.op.Name)
	}
	return pc.op.Perform(ctx, pc.cs, pc.arg)
}

// templateCaps is the set of capabilities every template in tpls holds (nil when there are none).
func templateCaps(tpls []Template) map[string]bool {
	if len(tpls) == 0 {
		return nil
	}
	caps := make(map[string]bool, len(tpls[0].Caps))
	for _, c := range tpls[0].Caps {
		caps[c] = true
	}
	for _, t := range tpls[1:] {
		for c := range caps {
			held := false
			for _, tc := range t.Caps {
				if tc == c {
					held = true
					break
				}
			}
			if !held {
				delete(caps, c)
			}
		}
	}
	return caps
}
