package guildvm

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Tests against the real guest. GUILDVM_WASM names the module (default ../../guest/palisade.wasm); they are
// skipped when the module is missing or has no event dispatcher installed (pal_boot must call
// pal_abi_attach and pal_guildvm_install).

func realWasm(t testing.TB) []byte {
	p := os.Getenv("GUILDVM_WASM")
	if p == "" {
		p = "../../guest/palisade.wasm"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("no guest module: %v", err)
	}
	return b
}

type tplMap struct {
	mu   sync.Mutex
	m    map[uint64][]Template
	tmpl []Template // for guilds not in m
}

func (tm *tplMap) set(g uint64, src string) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.m == nil {
		tm.m = map[uint64][]Template{}
	}
	tm.m[g] = []Template{{Name: "main", Source: src}}
}

func (tm *tplMap) get(_ context.Context, g uint64) ([]Template, error) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if t, ok := tm.m[g]; ok {
		return t, nil
	}
	return tm.tmpl, nil
}

func newRealHost(t testing.TB, tm *tplMap, mod func(*Config)) *Host {
	t.Helper()
	cfg := Config{Wasm: realWasm(t), Templates: tm.get, EventTimeout: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	// probe: a guest without a dispatcher fails every event
	tm.set(^uint64(0), "return 1")
	if _, err := h.Dispatch(context.Background(), ^uint64(0), Event{Name: "probe"}); err != nil {
		if strings.Contains(err.Error(), "no event dispatcher") || strings.Contains(err.Error(), "not booted") {
			t.Skip("guest has no event dispatcher installed (pal_boot does not call pal_guildvm_install yet)")
		}
		t.Fatalf("probe: %v", err)
	}
	return h
}

func TestRealBasics(t *testing.T) {
	tm := &tplMap{}
	h := newRealHost(t, tm, nil)
	tm.set(1, `local evt, ctx = ... ; counter = (counter or 0) + 1 ; return {n = counter, name = evt.name, x = evt.data.x * 2}`)
	for i := 1; i <= 3; i++ {
		r, err := h.Dispatch(context.Background(), 1, Event{Name: "MESSAGE", Data: abi.MapOf("x", 21.0)})
		if err != nil {
			t.Fatal(err)
		}
		want := abi.MapOf("n", float64(i), "name", "MESSAGE", "x", 42.0)
		if !abi.EqualUnordered(r.Value, want) {
			t.Fatalf("got %v want %v", r.Value, want)
		}
	}
	tm.set(2, `return 1 +`)
	_, err := h.Dispatch(context.Background(), 2, Event{Name: "MESSAGE"})
	if err == nil {
		t.Fatal("expected an error for a template that did not compile")
	}
	t.Logf("compile error: %v", err)
	for _, name := range []string{InstallEvent, BudgetEvent, "$anything"} {
		if _, err := h.Dispatch(context.Background(), 1, Event{Name: name}); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("Dispatch(%q): got %v, want a 'reserved' error", name, err)
		}
	}
}

// TestCaughtOOMBreaksVM: a script that hits its memory budget and catches "not enough memory" with pcall still
// gets its result, and the VM is marked broken (the guest's mem_refusals count grew), so the guild's next event
// runs on a fresh instance.
func TestCaughtOOMBreaksVM(t *testing.T) {
	tm := &tplMap{}
	h := newRealHost(t, tm, nil)
	tm.set(1, `local evt = ... ; n = (n or 0) + 1
if evt.name == "hog" then
  local ok, e = pcall(function() local t = {} for i = 1, 1e9 do t[i] = string.rep("y", 100) .. i end end)
  return tostring(ok) .. " " .. tostring(e)
end
return n`)
	ctx := context.Background()
	for want := 1.0; want <= 2; want++ {
		if r, err := h.Dispatch(ctx, 1, Event{Name: "count"}); err != nil || r.Value != want {
			t.Fatalf("count: %v %v, want %v", r.Value, err, want)
		}
	}
	broken := testutil.ToFloat64(h.m.broken.WithLabelValues("memory"))
	r, err := h.Dispatch(ctx, 1, Event{Name: "hog"})
	if err != nil || !strings.Contains(fmt.Sprint(r.Value), "false") || !strings.Contains(fmt.Sprint(r.Value), "not enough memory") {
		t.Fatalf("hog: %v %v, want the caught error as the result", r.Value, err)
	}
	if got := testutil.ToFloat64(h.m.broken.WithLabelValues("memory")); got != broken+1 {
		t.Fatalf("broken{memory} went from %v to %v, want +1", broken, got)
	}
	if r, err := h.Dispatch(ctx, 1, Event{Name: "count"}); err != nil || r.Value != 1.0 {
		t.Fatalf("count after the rebuild: %v %v, want 1 (a fresh instance)", r.Value, err)
	}
}
