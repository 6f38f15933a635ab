package guildvm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLRUCap(t *testing.T) {
	h, _ := newMockHost(t, func(c *Config) { c.MaxInstances = 3; c.IdleTimeout = -1 })
	for g := uint64(1); g <= 3; g++ {
		v, err := dispatch(t, h, g, "count", nil)
		mustInt(t, v, err, 1)
	}
	v, err := dispatch(t, h, 1, "count", nil) // guild 1 becomes most recently used
	mustInt(t, v, err, 2)
	v, err = dispatch(t, h, 4, "count", nil) // evicts guild 2, the least recently used
	mustInt(t, v, err, 1)
	if s := h.Stats(); s.Guilds != 3 || s.Live != 3 {
		t.Fatalf("stats %+v", s)
	}
	if hasGuild(h, 2) {
		t.Fatal("guild 2 should have been evicted")
	}
	v, err = dispatch(t, h, 1, "count", nil) // guild 1 kept its state
	mustInt(t, v, err, 3)
	v, err = dispatch(t, h, 2, "count", nil) // guild 2 starts over (evicting guild 3)
	mustInt(t, v, err, 1)
	if got := testutil.ToFloat64(h.m.evicted.WithLabelValues("lru")); got != 2 {
		t.Fatalf("lru evictions = %v", got)
	}
}

func TestCapacityAllBusy(t *testing.T) {
	h, _ := newMockHost(t, func(c *Config) { c.MaxInstances = 1; c.IdleTimeout = -1 })
	done := make(chan error)
	go func() { _, err := dispatch(t, h, 1, "call", "sleep:300ms"); done <- err }()
	waitInUse(t, h, 1) // (a fixed pause here flaked on a loaded machine: guild 2 came first)
	if _, err := dispatch(t, h, 2, "count", nil); !errors.Is(err, ErrCapacity) {
		t.Fatalf("err = %v, want ErrCapacity", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	v, err := dispatch(t, h, 2, "count", nil)
	mustInt(t, v, err, 1)
}

func TestIdleEviction(t *testing.T) {
	h, _ := newMockHost(t, func(c *Config) { c.IdleTimeout = 40 * time.Millisecond })
	mustInt2 := func(g uint64, want int64) {
		t.Helper()
		v, err := dispatch(t, h, g, "count", nil)
		mustInt(t, v, err, want)
	}
	mustInt2(1, 1)
	mustInt2(2, 1)
	// guild 2 stays in use past guild 1's idle deadline: only guild 1 goes
	for i := int64(2); i < 10; i++ {
		time.Sleep(10 * time.Millisecond)
		mustInt2(2, i)
	}
	if hasGuild(h, 1) {
		t.Fatal("guild 1 was not evicted")
	}
	if !hasGuild(h, 2) {
		t.Fatal("guild 2 was evicted while in use")
	}
	time.Sleep(150 * time.Millisecond)
	if s := h.Stats(); s.Guilds != 0 || s.Live != 0 {
		t.Fatalf("after idle timeout: %+v", s)
	}
	if got := testutil.ToFloat64(h.m.evicted.WithLabelValues("idle")); got != 2 {
		t.Fatalf("idle evictions = %v", got)
	}
	mustInt2(1, 1) // rebuilt from the snapshot
	if got := testutil.ToFloat64(h.m.live); got != 1 {
		t.Fatalf("live = %v", got)
	}
}

func TestBrokenAndClose(t *testing.T) {
	h, _ := newMockHost(t, func(c *Config) { c.Spares = -1 }) // counts only the rebuilds
	v, err := dispatch(t, h, 1, "count", nil)
	mustInt(t, v, err, 1)
	if _, err := dispatch(t, h, 1, "trap", nil); err == nil {
		t.Fatal("no error from trap")
	}
	if _, err := dispatch(t, h, 1, "alloc", nil); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("alloc: %v", err)
	}
	if got := testutil.ToFloat64(h.m.broken.WithLabelValues("trap")); got != 1 {
		t.Fatalf("broken trap = %v", got)
	}
	if got := testutil.ToFloat64(h.m.broken.WithLabelValues("memory")); got != 1 {
		t.Fatalf("broken memory = %v", got)
	}
	if got := testutil.ToFloat64(h.m.created.WithLabelValues("cow")) + testutil.ToFloat64(h.m.created.WithLabelValues("copy")); got != 2 {
		t.Fatalf("created = %v", got)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := dispatch(t, h, 1, "count", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestPerGuildBudget(t *testing.T) {
	h, _ := newMockHost(t, func(c *Config) {
		c.GuildBudget = func(g uint64) int64 {
			if g == 9 {
				return 1 << 20
			}
			return 0
		}
	})
	// the mock allocates 64 KiB blocks until the budget refuses; 200000 bytes are held after boot
	_, err := dispatch(t, h, 9, "alloc", nil)
	if !errors.Is(err, ErrNoMemory) {
		t.Fatal(err)
	}
	if h.ceiling(h.budget(9), h.snap) >= h.ceiling(h.budget(8), h.snap) {
		t.Fatalf("ceiling(9) = %d, ceiling(8) = %d", h.ceiling(h.budget(9), h.snap), h.ceiling(h.budget(8), h.snap))
	}
}

// waitInUse waits until guild g has an event in progress (its slot then counts against MaxInstances).
func waitInUse(t *testing.T, h *Host, g uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		h.mu.Lock()
		vm := h.vms[g]
		busy := vm != nil && vm.refs > 0
		h.mu.Unlock()
		if busy {
			return
		}
	}
	t.Fatalf("guild %d never had an event in progress", g)
}

func hasGuild(h *Host, g uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.vms[g]
	return ok
}

// TestCancelTrapBreaks: an event canceled while parked (its context ended) is killed with pal_event_cancel; a
// trap there marks the VM broken like any other trap, and the guild's next event gets a fresh instance.
func TestCancelTrapBreaks(t *testing.T) {
	h, _ := newMockHost(t, func(c *Config) { c.Spares = -1 })
	v, err := dispatch(t, h, 1, "count", nil)
	mustInt(t, v, err, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	// (the op outlasts the deadline by far: with a 50 ms op a loaded machine once delivered its result first)
	data, _ := abi.Encode("sleep:10s")
	if _, err := h.Dispatch(ctx, 1, Event{Name: "trapcancel", Encoded: data}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("trapcancel: %v, want the context's error", err)
	}
	if got := testutil.ToFloat64(h.m.broken.WithLabelValues("trap")); got != 1 {
		t.Fatalf("broken{trap} = %v, want 1", got)
	}
	v, err = dispatch(t, h, 1, "count", nil)
	mustInt(t, v, err, 1)
}

// TestOutputLimit: an event's output beyond Config.MaxOutput is dropped with one notice; the next event starts
// counting afresh.
func TestOutputLimit(t *testing.T) {
	var mu sync.Mutex
	var out strings.Builder
	h, _ := newMockHost(t, func(c *Config) {
		c.MaxOutput = 10
		c.Output = func(_ uint64, _ int, p []byte) {
			mu.Lock()
			out.Write(p)
			mu.Unlock()
		}
	})
	for _, tc := range []struct{ data, want string }{
		{"short", "short"},
		{"0123456789abcdef", "0123456789\n[output truncated: this event wrote more than 10 bytes]\n"},
		{"again", "again"},
	} {
		out.Reset()
		// the mock writes the event's data bytes as they are
		if _, err := h.Dispatch(context.Background(), 1, Event{Name: "print", Encoded: []byte(tc.data)}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := out.String()
		mu.Unlock()
		if got != tc.want {
			t.Fatalf("print %q: output %q, want %q", tc.data, got, tc.want)
		}
	}
}
