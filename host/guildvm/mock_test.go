package guildvm

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-bot/palisade/abi"
	"github.com/palisade-bot/palisade/host/abihost"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Tests of the host machinery against testdata/mock.wasm (testdata/mockguest/mock.c): a guest that implements
// the ABI's event protocol with commands instead of an interpreter.

func mockWasm(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/mock.wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newMockHost(t testing.TB, mod func(*Config)) (*Host, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := Config{
		Wasm:         mockWasm(t),
		Registerer:   reg,
		EventTimeout: 200 * time.Millisecond,
		Ops:          mockOps(t, "", ""),
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h, reg
}

// mockOps is the op table of the mock guest's "sync" and "call" events, test.sync and test.async requiring
// capabilities syncCap and asyncCap ("" = none).
func mockOps(t testing.TB, syncCap, asyncCap string) *abihost.Ops {
	t.Helper()
	ops, err := abihost.NewOps(
		&abihost.Op{Name: "test.sync", Cap: syncCap, Sync: func(ctx context.Context, st abihost.State, arg abi.Value) (abi.Value, error) {
			return abi.MapOf("guild", int64(GuildID(st)), "arg", arg), nil
		}},
		&abihost.Op{Name: "test.async", Cap: asyncCap, Async: true, Perform: func(ctx context.Context, st abihost.State, arg abi.Value) (abi.Value, error) {
			if s, ok := arg.(string); ok && strings.HasPrefix(s, "sleep") {
				// "sleep" waits 50 ms, "sleep:DURATION" that long (or until ctx ends)
				d := 50 * time.Millisecond
				if v, err := time.ParseDuration(strings.TrimPrefix(s, "sleep:")); err == nil {
					d = v
				}
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
			if s, ok := arg.(string); ok && s == "fail" {
				return nil, errors.New("discord said no")
			}
			return arg, nil
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

func dispatch(t testing.TB, h *Host, g uint64, name string, data abi.Value) (abi.Value, error) {
	t.Helper()
	r, err := h.Dispatch(context.Background(), g, Event{Name: name, Data: data})
	return r.Value, err
}

func mustInt(t testing.TB, v abi.Value, err error, want int64) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if v != want {
		t.Fatalf("got %#v, want %d", v, want)
	}
}

func TestMockBasics(t *testing.T) {
	for _, cow := range []bool{true, false} {
		name := "cow"
		if !cow {
			name = "copy"
		}
		t.Run(name, func(t *testing.T) {
			h, reg := newMockHost(t, func(c *Config) { c.DisableCoW = !cow })
			if h.Stats().CoW != (cow && cowAvailable) {
				t.Fatalf("CoW = %v", h.Stats().CoW)
			}
			v, err := dispatch(t, h, 1, "echo", abi.MapOf("a", "b"))
			if err != nil || !abi.Equal(v, abi.MapOf("a", "b")) {
				t.Fatalf("echo: %v %v", v, err)
			}
			// per-instance state starts from the snapshot and is isolated between guilds
			for i := int64(1); i <= 3; i++ {
				v, err := dispatch(t, h, 1, "count", nil)
				mustInt(t, v, err, i)
			}
			v, err = dispatch(t, h, 2, "count", nil)
			mustInt(t, v, err, 1)
			if got := testutil.ToFloat64(h.m.live); got != 2 {
				t.Fatalf("live = %v", got)
			}
			if n, _ := testutil.GatherAndCount(reg, "palisade_guildvm_dispatch_seconds"); n == 0 {
				t.Fatal("no dispatch histogram")
			}
		})
	}
}

func TestMockLimits(t *testing.T) {
	h, _ := newMockHost(t, nil)
	cases := []struct {
		event      string
		wantErr    string
		wantIs     error
		wantBroken bool
	}{
		{"spin", "Script execution time limit exceeded", ErrTimeLimit, false},
		{"alloc", "not enough memory", ErrNoMemory, true},
		{"grow", "not enough memory", ErrNoMemory, true},
		{"trap", "script crashed the VM", nil, true},
		{"deep", "script crashed the VM", nil, true},
	}
	for _, c := range cases {
		t.Run(c.event, func(t *testing.T) {
			v, err := dispatch(t, h, 7, "count", nil)
			if err != nil {
				t.Fatal(err)
			}
			before := v.(int64)
			start := time.Now()
			_, err = dispatch(t, h, 7, c.event, nil)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
			if c.wantIs != nil && !errors.Is(err, c.wantIs) {
				t.Fatalf("errors.Is(%v, %v) = false", err, c.wantIs)
			}
			t.Logf("%s: %v after %v", c.event, err, time.Since(start))
			v, err = dispatch(t, h, 7, "count", nil)
			want := before + 1
			if c.wantBroken {
				want = 1 // rebuilt from the snapshot
			}
			mustInt(t, v, err, want)
		})
	}
}

func TestMockSyscalls(t *testing.T) {
	var out []string
	var mu sync.Mutex
	h, _ := newMockHost(t, func(c *Config) {
		c.Output = func(g uint64, fd int, p []byte) {
			mu.Lock()
			out = append(out, string(p))
			mu.Unlock()
		}
	})
	v, err := dispatch(t, h, 3, "sync", "hi")
	if err != nil || !abi.Equal(v, abi.MapOf("guild", int64(3), "arg", "hi")) {
		t.Fatalf("sync: %v %v", v, err)
	}
	v, err = dispatch(t, h, 3, "call", "x")
	if err != nil || v != "x" {
		t.Fatalf("async: %v %v", v, err)
	}
	_, err = dispatch(t, h, 3, "call", "fail")
	if err == nil || !strings.Contains(err.Error(), "discord said no") {
		t.Fatalf("async failure: %v", err)
	}
	if _, err := dispatch(t, h, 3, "print", "hello"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(out) != 1 || !strings.Contains(out[0], "hello") {
		t.Fatalf("output %q", out)
	}
	mu.Unlock()

	// while one event waits on the host, other events of the same guild run
	done := make(chan error)
	go func() {
		_, err := dispatch(t, h, 3, "call", "sleep")
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	t0 := time.Now()
	if _, err := dispatch(t, h, 3, "count", nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 30*time.Millisecond {
		t.Fatalf("event blocked behind a parked event for %v", el)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestMockCapabilities: ops go through abihost's door, so an op that requires a capability is refused
// (E_DENIED) for a guild whose template lacks it and runs for one whose template has it; the rate limit is
// consulted after the capability check.
func TestMockCapabilities(t *testing.T) {
	tpls := map[uint64][]Template{
		1: {{Name: "plain", Source: "return 1"}},
		2: {{Name: "poster", Source: "return 1", Caps: []string{"test:sync", "test:async"}}},
		3: {{Name: "poster", Source: "return 1", Caps: []string{"test:sync", "test:async"}},
			{Name: "reader", Source: "return 1", Caps: []string{"test:async"}}},
		4: {{Name: "poster", Source: "return 1", Caps: []string{"test:sync"}}},
	}
	var limited sync.Map // guild -> true
	h, _ := newMockHost(t, func(c *Config) {
		c.Ops = mockOps(t, "test:sync", "test:async")
		c.Templates = func(_ context.Context, g uint64) ([]Template, error) { return tpls[g], nil }
		c.RateLimit = func(g uint64, op string) error {
			if _, ok := limited.Load(g); ok {
				return errors.New("rate limited: " + op)
			}
			return nil
		}
	})
	denied := func(g uint64, event, cap string) {
		t.Helper()
		_, err := dispatch(t, h, g, event, "hi")
		if err == nil || !strings.Contains(err.Error(), "needs capability "+cap) {
			t.Fatalf("guild %d %s: err = %v, want E_DENIED for %s", g, event, err, cap)
		}
	}
	// guild 1's template has no capabilities: both ops refused before their handlers run
	denied(1, "sync", "test:sync")
	denied(1, "call", "test:async")
	// guild 2's template has both
	v, err := dispatch(t, h, 2, "sync", "hi")
	if err != nil || !abi.Equal(v, abi.MapOf("guild", int64(2), "arg", "hi")) {
		t.Fatalf("guild 2 sync: %v %v", v, err)
	}
	if v, err = dispatch(t, h, 2, "call", "x"); err != nil || v != "x" {
		t.Fatalf("guild 2 async: %v %v", v, err)
	}
	// guild 3 runs two templates: the event holds only the capability both have
	denied(3, "sync", "test:sync")
	if v, err = dispatch(t, h, 3, "call", "y"); err != nil || v != "y" {
		t.Fatalf("guild 3 async: %v %v", v, err)
	}
	denied(4, "call", "test:async")
	// rate limit: after the capability check
	limited.Store(uint64(2), true)
	if _, err = dispatch(t, h, 2, "sync", "hi"); err == nil || !strings.Contains(err.Error(), "rate limited: test.sync") {
		t.Fatalf("rate limit: %v", err)
	}
	limited.Store(uint64(1), true)
	denied(1, "sync", "test:sync")
}
