package guildvm

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Benchmarks (the targets on a 2-core machine: cold start ≤ 50 µs p50, ≤ 128 KiB RSS per idle guild,
// ≥ 50,000 trivial events/s). Each runs against the real guest (GUILDVM_WASM or ../../guest/palisade.wasm,
// when it has the dispatcher) and against the mock guest (the host's own cost).

type benchGuest struct {
	name  string
	host  func(b *testing.B, mod func(*Config)) *Host
	event Event
}

func benchGuests(b *testing.B) []benchGuest {
	gs := []benchGuest{{name: "mock", event: Event{Name: "count"}, host: func(b *testing.B, mod func(*Config)) *Host {
		h, _ := newMockHost(b, func(c *Config) {
			c.Registerer = nil
			if mod != nil {
				mod(c)
			}
		})
		return h
	}}}
	gs = append(gs, benchGuest{name: "real", event: Event{Name: "MESSAGE"}, host: func(b *testing.B, mod func(*Config)) *Host {
		tm := &tplMap{tmpl: []Template{{Name: "main", Source: "return 1"}}}
		return newRealHost(b, tm, mod)
	}})
	return gs
}

func percentile(d []time.Duration, p float64) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[int(float64(len(d)-1)*p)].Nanoseconds()) / 1e3
}

// BenchmarkColdStart: an event to a guild that has no instance yet. Cases:
//
//	burst   cold starts back to back: spares (started ahead of time by a background goroutine) run out, so
//	        most starts restore the template image themselves
//	paced   one cold start per millisecond (1,000 new guilds a second): the steady state, where a spare is
//	        usually ready
//	reuse   each guild is evicted right after its event (timer stopped), so the next cold start reuses its
//	        instance, reset to the image (recycle.go): the steady state of a host at its instance cap
//	unique  (real guest) every guild has templates of its own: no template image yet, so the start restores
//	        the base image and compiles the template
func BenchmarkColdStart(b *testing.B) {
	for _, g := range benchGuests(b) {
		type coldCase struct {
			name          string
			pace          time.Duration
			reuse, unique bool
		}
		cases := []coldCase{{name: "burst"}, {name: "paced", pace: time.Millisecond}, {name: "reuse", reuse: true}}
		if g.name == "real" {
			cases = append(cases, coldCase{name: "unique", unique: true})
		}
		for _, c := range cases {
			b.Run(g.name+"/"+c.name, func(b *testing.B) {
				h := g.host(b, func(cfg *Config) {
					cfg.IdleTimeout = -1
					cfg.MaxInstances = 1 << 20
					if c.unique {
						cfg.Templates = func(_ context.Context, guild uint64) ([]Template, error) {
							return []Template{{Name: "main", Source: "return 1 -- " + strconv.FormatUint(guild, 10)}}, nil
						}
					}
				})
				ctx := context.Background()
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					if _, err := h.Dispatch(ctx, uint64(1e9+i), g.event); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
					if c.pace > 0 || c.reuse || i%1000 == 999 {
						b.StopTimer()
						if c.reuse || i%1000 == 999 { // close instances in batches: measure creation, not a growing heap
							h.evictIdle(ctx, time.Now().Add(time.Hour))
						}
						time.Sleep(c.pace)
						b.StartTimer()
					}
				}
				b.StopTimer()
				b.ReportMetric(percentile(lat, 0.5), "p50-µs")
				b.ReportMetric(percentile(lat, 0.99), "p99-µs")
				b.ReportMetric(testutil.ToFloat64(h.m.starts.WithLabelValues("spare"))/float64(b.N), "spare-ratio")
				b.ReportMetric(testutil.ToFloat64(h.m.starts.WithLabelValues("recycled"))/float64(b.N), "recycled-ratio")
			})
		}
	}
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n * int64(os.Getpagesize())
}

// BenchmarkIdleGuildRSS: process RSS growth per idle guild instance, over 1,000 guilds that each handled one
// event. Run with -benchtime=1x.
func BenchmarkIdleGuildRSS(b *testing.B) {
	const guilds = 1000
	for _, g := range benchGuests(b) {
		b.Run(g.name, func(b *testing.B) {
			h := g.host(b, func(c *Config) { c.IdleTimeout = -1; c.MaxInstances = 1 << 20 })
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				h.evictIdle(ctx, time.Now().Add(time.Hour))
				// warm up allocator paths, then measure from a collected heap
				for j := 0; j < 50; j++ {
					h.Dispatch(ctx, uint64(5e9+j), g.event)
				}
				h.evictIdle(ctx, time.Now().Add(time.Hour))
				runtime.GC()
				debug.FreeOSMemory()
				before := rssBytes()
				var hb runtime.MemStats
				runtime.ReadMemStats(&hb)
				for j := 0; j < guilds; j++ {
					if _, err := h.Dispatch(ctx, uint64(1e9+j), g.event); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				after := rssBytes()
				var ha runtime.MemStats
				runtime.ReadMemStats(&ha)
				if h.Stats().Live < guilds {
					b.Fatalf("only %d live instances", h.Stats().Live)
				}
				b.ReportMetric(float64(after-before)/guilds/1024, "KiB/guild")
				b.ReportMetric(float64(int64(ha.HeapAlloc)-int64(hb.HeapAlloc))/guilds/1024, "heap-KiB/guild")
			}
		})
	}
}

// BenchmarkDispatchThroughput: trivial events to 64 warm guilds from all cores.
func BenchmarkDispatchThroughput(b *testing.B) {
	for _, g := range benchGuests(b) {
		b.Run(g.name, func(b *testing.B) {
			h := g.host(b, func(c *Config) { c.IdleTimeout = -1 })
			ctx := context.Background()
			const guilds = 64
			for j := 0; j < guilds; j++ {
				if _, err := h.Dispatch(ctx, uint64(j), g.event); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Uint64
			b.SetParallelism(4)
			b.ResetTimer()
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := h.Dispatch(ctx, next.Add(1)%guilds, g.event); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "events/s")
		})
	}
}

// BenchmarkRestore: creating an instance from the snapshot, without running anything.
func BenchmarkRestore(b *testing.B) {
	for _, g := range benchGuests(b) {
		b.Run(g.name, func(b *testing.B) {
			h := g.host(b, nil)
			ctx := context.Background()
			b.Logf("cmRestore stripped: %v, image %d KiB, CoW %v", h.cmRestore != h.cm, h.snap.size>>10, h.snap.fd >= 0)
			insts := make([]*instance, 0, 1000)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				inst, err := h.restore(ctx, h.cfg.MemoryBudget, h.snap)
				if err != nil {
					b.Fatal(err)
				}
				insts = append(insts, inst)
				if len(insts) == cap(insts) {
					b.StopTimer()
					for _, in := range insts {
						in.close(ctx)
					}
					insts = insts[:0]
					b.StartTimer()
				}
			}
		})
	}
}
