package guildvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-bot/palisade/abi"
)

type hostileCase struct {
	name   string
	src    string
	expect string
	broken bool
}

func loadHostile(t *testing.T) []hostileCase {
	files, err := filepath.Glob("../../testdata/hostile/*.luau")
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile corpus: %v", err)
	}
	var cs []hostileCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := hostileCase{name: strings.TrimSuffix(filepath.Base(f), ".luau"), src: string(b)}
		for _, line := range strings.Split(c.src, "\n") {
			if v, ok := strings.CutPrefix(line, "--! expect: "); ok {
				c.expect = v
			}
			if v, ok := strings.CutPrefix(line, "--! broken: "); ok {
				c.broken = v == "yes"
			}
		}
		if c.expect == "" {
			t.Fatalf("%s: no --! expect: header", f)
		}
		cs = append(cs, c)
	}
	return cs
}

// TestHostile runs every script of testdata/hostile on guild A while guild B keeps dispatching a correct
// script; then checks A's next event works, and that A's VM was rebuilt exactly when expected.
func TestHostile(t *testing.T) {
	tm := &tplMap{}
	h := newRealHost(t, tm, func(c *Config) { c.EventTimeout = 500 * time.Millisecond })
	const good = `local evt = ... ; return evt.data.x + 1`
	for i, c := range loadHostile(t) {
		t.Run(c.name, func(t *testing.T) {
			ga, gb := uint64(1000+2*i), uint64(1001+2*i)
			tm.set(ga, c.src)
			tm.set(gb, good)
			ctx := context.Background()
			if r, err := h.Dispatch(ctx, ga, Event{Name: "ping"}); err != nil || r.Value != "pong" {
				t.Fatalf("first ping: %v %v", r.Value, err)
			}
			h.mu.Lock()
			vmA := h.vms[ga]
			h.mu.Unlock()
			// B's own latency right now, on this machine as loaded as it is: the fairness check below allows A's
			// event to outlast ten of B's slowest events (and at least 100 ms) before B must have progressed.
			patience := 100 * time.Millisecond
			for x := 0.0; x < 10; x++ {
				t0 := time.Now()
				if r, err := h.Dispatch(ctx, gb, Event{Name: "MESSAGE", Data: abi.MapOf("x", x)}); err != nil || r.Value != x+1 {
					t.Fatalf("guild B before the attack: got %v, %v; want %v", r.Value, err, x+1)
				}
				if d := 10 * time.Since(t0); d > patience {
					patience = d
				}
			}

			var stop atomic.Bool
			var wg sync.WaitGroup
			var bCount, bErr atomic.Int64
			wg.Add(1)
			go func() {
				defer wg.Done()
				for x := 0.0; !stop.Load(); x++ {
					r, err := h.Dispatch(ctx, gb, Event{Name: "MESSAGE", Data: abi.MapOf("x", x)})
					if err != nil || r.Value != x+1 {
						bErr.Add(1)
						t.Errorf("guild B: got %v, %v; want %v", r.Value, err, x+1)
						return
					}
					bCount.Add(1)
				}
			}()
			start := time.Now()
			_, err := h.Dispatch(ctx, ga, Event{Name: "attack"})
			el := time.Since(start)
			bDuring := bCount.Load() // B's events completed while A's event ran
			// An attack that fails at once (0.1 ms) can end before B's first event has even started its guild's
			// VM: then B only has to progress afterwards (within 5 s).
			time.Sleep(5 * time.Millisecond)
			for wait := time.Now(); bCount.Load() == 0 && bErr.Load() == 0 && time.Since(wait) < 5*time.Second; {
				time.Sleep(time.Millisecond)
			}
			stop.Store(true)
			wg.Wait()
			if err == nil {
				t.Fatalf("no error (want %q)", c.expect)
			}
			if !strings.Contains(err.Error(), c.expect) {
				t.Fatalf("error %q, want it to contain %q", err, c.expect)
			}
			var se *ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *ScriptError", err)
			}
			vmA.mu.Lock()
			broken := vmA.inst == nil
			vmA.mu.Unlock()
			if broken != c.broken {
				t.Errorf("broken = %v, want %v", broken, c.broken)
			}
			if r, err := h.Dispatch(ctx, ga, Event{Name: "ping"}); err != nil || r.Value != "pong" {
				t.Fatalf("ping after attack: %v %v", r.Value, err)
			}
			t.Logf("%-20s %8.1fms  B: %d events ok  err: %.90s", c.name, float64(el.Microseconds())/1000, bCount.Load(), err)
			// An attack that runs for a while must share its execution slot: fuel refills give time, and the
			// collector charges fuel for the heap it walks, so memory attacks do too.
			if el > patience && bDuring == 0 {
				t.Errorf("guild B made no progress during A's %v event (allowed: %v)", el, patience)
			}
			if bCount.Load() == 0 {
				t.Errorf("guild B made no progress")
			}
		})
	}
}
