package guildvm

import (
	"context"
	"testing"

	"github.com/palisade-bot/palisade/host/abihost"
)

// TestPendingCallOwnership: the call id in the mailbox of a PENDING step is guest data. The host must only
// perform a call the same event registered (StartAsync under that event's callState), never one registered by
// another event (a compromised guest parking event B on event A's call, or a $install event, which holds no
// capabilities, on a call made under a normal event's), and an event's unclaimed calls are forgotten when it ends.
func TestPendingCallOwnership(t *testing.T) {
	op := &abihost.Op{Name: "test.async", Async: true}
	setup := func(t *testing.T) (*instance, uint32, uint32) {
		inst := &instance{}
		csA := &callState{inst: inst, event: 1}
		csB := &callState{inst: inst, event: 2}
		a, err := csA.StartAsync(context.Background(), op, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := csB.StartAsync(context.Background(), op, nil)
		if err != nil {
			t.Fatal(err)
		}
		return inst, a, b
	}
	cases := []struct {
		name      string
		call      func(a, b uint32) uint32
		event     uint32
		ok        bool
		remaining int
	}{
		{"own call", func(a, b uint32) uint32 { return a }, 1, true, 1},
		{"other event's call", func(a, b uint32) uint32 { return b }, 1, false, 2},
		{"unknown call", func(a, b uint32) uint32 { return 999 }, 1, false, 2},
		{"call 0", func(a, b uint32) uint32 { return 0 }, 2, false, 2},
		{"event 0 (no event)", func(a, b uint32) uint32 { return a }, 0, false, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inst, a, b := setup(t)
			pc := inst.takePending(c.call(a, b), c.event)
			if (pc != nil) != c.ok {
				t.Fatalf("takePending = %v, want ok=%v", pc, c.ok)
			}
			if pc != nil && pc.event != c.event {
				t.Fatalf("took event %d's call for event %d", pc.event, c.event)
			}
			if len(inst.pending) != c.remaining {
				t.Fatalf("%d calls pending, want %d", len(inst.pending), c.remaining)
			}
		})
	}
	t.Run("dropPending", func(t *testing.T) {
		inst, _, b := setup(t)
		inst.dropPending(1)
		if len(inst.pending) != 1 || inst.pending[b] == nil {
			t.Fatalf("pending after dropping event 1: %v", inst.pending)
		}
	})
}
