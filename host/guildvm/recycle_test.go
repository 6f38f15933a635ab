package guildvm

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tetratelabs/wazero/api"
)

const secretTpl = `local evt = ... ; if evt.name == "set" then secret = evt.data ; keep = string.rep(evt.data, 40000) return "ok" end ; return tostring(secret)`

// TestRecycleIsolation: an evicted guild's instance reused by another guild is reset to the image byte for byte
// (no trace of the first guild's data anywhere in its memory, also where it grew the memory past the image) and
// behaves like a fresh one.
func TestRecycleIsolation(t *testing.T) {
	if !cowAvailable {
		t.Skip("recycling needs copy-on-write images")
	}
	tm := &tplMap{tmpl: []Template{{Name: "main", Source: secretTpl}}}
	h := newRealHost(t, tm, func(c *Config) { c.Spares = -1 })
	ctx := context.Background()
	for g := uint64(100); g < 102; g++ { // a second install stores the template image
		wantValue(t, h, g, nil, "nil")
	}
	const secret = "SECRET-7c1f9e-GUILD-ONE"
	for _, g := range []uint64{1, 2} {
		if r, err := h.Dispatch(ctx, g, Event{Name: "set", Data: secret}); err != nil || r.Value != "ok" {
			t.Fatalf("set: %v %v", r.Value, err)
		}
	}
	h.evictIdle(ctx, time.Now().Add(time.Hour))

	// white box: take one kept instance and compare it with its image
	h.recycled.mu.Lock()
	n := len(h.recycled.list)
	im := h.recycled.list[n-1].image // guild 2's: the template image
	h.recycled.mu.Unlock()
	if n != 5 || im == h.snap {
		t.Fatalf("%d instances kept (want 5: guilds 100, 101, 1, 2 and newRealHost's probe), last from the base image: %v", n, im == h.snap)
	}
	inst := h.recycled.take(ctx, im, h.ceiling(h.cfg.MemoryBudget, im))
	if inst == nil {
		t.Fatal("no kept instance of the image")
	}
	mem, _ := inst.memory.Read(0, inst.memory.Size())
	if len(mem) <= im.size {
		t.Fatalf("memory %d bytes: the guild did not grow it past the image (%d bytes), so the test misses that case", len(mem), im.size)
	}
	if !bytes.Equal(mem[:im.size], im.view) {
		t.Fatal("reset memory differs from the image")
	}
	if !allZero(mem[im.size:]) {
		t.Fatal("memory beyond the image is not zero")
	}
	if bytes.Contains(mem, []byte("SECRET-7c1f9e")) {
		t.Fatal("the previous guild's secret is still in memory")
	}
	for i, name := range h.globalNames {
		if got := inst.mod.ExportedGlobal(name).(api.MutableGlobal).Get(); got != im.globals[i] {
			t.Fatalf("global %s = %d, want %d", name, got, im.globals[i])
		}
	}
	inst.close(ctx)

	// black box: guild 3 starts from guild 1's kept instance and sees fresh state
	before := testutil.ToFloat64(h.m.starts.WithLabelValues("recycled"))
	wantValue(t, h, 3, nil, "nil")
	if got := testutil.ToFloat64(h.m.starts.WithLabelValues("recycled")); got != before+1 {
		t.Fatalf("recycled starts: %v, want 1", got-before)
	}
}
