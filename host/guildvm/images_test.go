package guildvm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// counterTpl counts its events in a global: a guild that started from another guild's template image must
// still count from 1.
const counterTpl = `local evt = ... ; n = (n or 0) + 1 ; return tostring(n) .. ":" .. tostring(evt.data)`

func wantValue(t *testing.T, h *Host, g uint64, data abi.Value, want string) {
	t.Helper()
	r, err := h.Dispatch(context.Background(), g, Event{Name: "MESSAGE", Data: data})
	if err != nil {
		t.Fatalf("guild %d: %v", g, err)
	}
	if r.Value != want {
		t.Fatalf("guild %d: got %v, want %q", g, r.Value, want)
	}
}

func TestTemplateImages(t *testing.T) {
	for _, cow := range []bool{true, false} {
		t.Run(fmt.Sprintf("cow=%v", cow), func(t *testing.T) {
			tm := &tplMap{}
			budgets := map[uint64]int64{5: 2 << 20}
			h := newRealHost(t, tm, func(c *Config) {
				c.DisableCoW = !cow
				c.Spares = -1
				c.GuildBudget = func(g uint64) int64 { return budgets[g] }
			})
			for g := uint64(1); g <= 5; g++ {
				tm.set(g, counterTpl)
			}
			tm.set(4, `local evt = ... ; m = (m or 0) + 1 ; return "other " .. tostring(m)`)
			count := func(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }
			fromImage := func() float64 { // restored from the image, or an evicted instance reset to it
				return count(h.m.starts.WithLabelValues("image")) + count(h.m.starts.WithLabelValues("recycled"))
			}
			stored, hits, installs := count(h.m.imagesStored), fromImage(), count(h.m.starts.WithLabelValues("install"))
			check := func(what string, dStored, dHits, dInstalls float64) {
				t.Helper()
				s, hi, in := count(h.m.imagesStored), fromImage(), count(h.m.starts.WithLabelValues("install"))
				if s != stored+dStored || hi != hits+dHits || in != installs+dInstalls {
					t.Fatalf("%s: stored %v hits %v installs %v, want %v %v %v", what, s-stored, hi-hits, in-installs, dStored, dHits, dInstalls)
				}
			}
			wantValue(t, h, 1, "a", "1:a")
			wantValue(t, h, 1, "b", "2:b")
			check("first install of a set", 0, 0, 1)
			wantValue(t, h, 2, "c", "1:c")
			check("second install of the set", 1, 0, 2)
			// guild 3 has the same templates: it starts from the image, without guild 1's or 2's events
			wantValue(t, h, 3, "d", "1:d")
			check("same set", 1, 1, 2)
			// other source, other budget: no image of theirs
			wantValue(t, h, 4, "e", "other 1")
			wantValue(t, h, 5, "f", "1:f")
			check("other source and budget", 1, 1, 4)
			// a template that does not compile is not kept, and fails for each guild that has it
			tm.set(6, `return 1 +`)
			tm.set(7, `return 1 +`)
			tm.set(8, `return 1 +`)
			for _, g := range []uint64{6, 7, 8} {
				if _, err := h.Dispatch(context.Background(), g, Event{Name: "MESSAGE"}); err == nil {
					t.Fatalf("guild %d: expected the compile error", g)
				}
			}
			check("failed installs", 1, 1, 7)
			// an evicted guild comes back from the image with fresh state
			h.evictIdle(context.Background(), time.Now().Add(time.Hour))
			wantValue(t, h, 1, "g", "1:g")
			check("rebuild", 1, 2, 7)
		})
	}
}

// TestTemplateImageCacheBound: with room for one image, alternating template sets evict each other; every
// guild still gets its own templates' answers.
func TestTemplateImageCacheBound(t *testing.T) {
	tm := &tplMap{}
	h := newRealHost(t, tm, func(c *Config) { c.TemplateImages = 1; c.Spares = -1 })
	for g := uint64(1); g <= 12; g++ {
		tm.set(g, fmt.Sprintf("return %q", fmt.Sprint("set", g%3)))
	}
	for round := 0; round < 2; round++ {
		for g := uint64(1); g <= 12; g++ {
			wantValue(t, h, g, nil, fmt.Sprint("set", g%3))
		}
		h.evictIdle(context.Background(), time.Now().Add(time.Hour))
	}
	if n := h.images.len(); n != 1 {
		t.Fatalf("%d images cached, want 1", n)
	}
}

// TestSpares: guilds that keep starting from one template image get instances started ahead of time, and
// those behave exactly like freshly restored ones.
func TestSpares(t *testing.T) {
	tm := &tplMap{tmpl: []Template{{Name: "main", Source: counterTpl}}}
	h := newRealHost(t, tm, nil)
	for g := uint64(1); g <= 40; g++ {
		wantValue(t, h, g, float64(g), fmt.Sprintf("1:%d", g))
		wantValue(t, h, g, "x", "2:x")
		time.Sleep(2 * time.Millisecond) // room for the background restore
	}
	spare := testutil.ToFloat64(h.m.starts.WithLabelValues("spare"))
	if spare == 0 {
		t.Fatal("no guild started from a spare instance")
	}
	t.Logf("%v of 40 cold starts took a spare", spare)
	if live := h.Stats().Live; live != 41 { // and newRealHost's probe guild
		t.Fatalf("%d live instances, want 41", live)
	}
	h.Close(context.Background())
	if got := testutil.ToFloat64(h.m.spares); got != 0 {
		t.Fatalf("%v spares left after Close", got)
	}
}
