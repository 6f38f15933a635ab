package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// BenchmarkCompare times every testdata/bench/*.lua in three engines, checks that they print the same output and
// prints a table with per-file times, ratios and geometric means:
//
//	wasm     Palisade's interpreter in wazero (this package; a fresh sandbox per run, only Run is timed)
//	native   the same interpreter built natively (build/luau-native, `make native`; process time, ~1 ms of it
//	         start-up)
//	gopher   gopher-lua, a Lua 5.1 interpreter in Go (DoString timed)
//
// Each time is the best of PALISADE_BENCH_REPS runs (default 3). Run with `make bench`, or
// `go test -run '^$' -bench BenchmarkCompare -benchtime 1x ./host/sandbox`.
func BenchmarkCompare(b *testing.B) {
	files, err := filepath.Glob("../../testdata/bench/*.lua")
	if err != nil || len(files) == 0 {
		b.Fatalf("no benchmark programs in testdata/bench (%v)", err)
	}
	reps := 3
	if v, err := strconv.Atoi(os.Getenv("PALISADE_BENCH_REPS")); err == nil && v > 0 {
		reps = v
	}
	native, _ := filepath.Abs("../../build/luau-native")
	if _, err := os.Stat(native); err != nil {
		b.Logf("%s not found (run `make native`): the native column is skipped", native)
		native = ""
	}
	const budget = 512 << 20
	ctx := context.Background()
	engine, err := NewEngine(ctx, Config{MemoryLimit: MemoryLimitFor(budget)})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close(ctx)

	// The heap of a fresh state with the standard libraries.
	if s, err := engine.New(ctx, Options{}); err == nil {
		used, _ := s.MemUsed(ctx)
		fmt.Printf("fresh state after pal_boot: %d bytes held by the interpreter (pal_mem_used), linear memory %d KiB\n",
			used, s.MemorySize()/1024)
		s.Close(ctx)
	}

	type row struct {
		name                string
		wasm, native, goph  time.Duration
		wasmOut, nativeOut  string
		gopherOut, problems string
	}
	srcs := make([][]byte, len(files))
	for k, file := range files {
		var err error
		if srcs[k], err = os.ReadFile(file); err != nil {
			b.Fatal(err)
		}
	}
	var rows []row
	for i := 0; i < b.N; i++ {
		// One engine at a time over all files: the Go heap one engine leaves (gopher-lua's garbage, the wasm
		// instances' memories) then never lands on another engine's runs.
		rows = make([]row, len(files))
		problems := make([][]string, len(files))
		for k, file := range files {
			rows[k].name = strings.TrimSuffix(filepath.Base(file), ".lua")
			for rep := 0; rep < reps; rep++ {
				d, out, err := runWasm(ctx, engine, budget, filepath.Base(file), srcs[k])
				if err != nil {
					problems[k] = append(problems[k], "wasm: "+err.Error())
					break
				}
				rows[k].wasm, rows[k].wasmOut = best(rows[k].wasm, d), out
			}
		}
		if native != "" {
			for k, file := range files {
				for rep := 0; rep < reps; rep++ {
					d, out, err := runNative(native, file)
					if err != nil {
						problems[k] = append(problems[k], "native: "+err.Error())
						break
					}
					rows[k].native, rows[k].nativeOut = best(rows[k].native, d), out
				}
			}
		}
		for k := range files {
			for rep := 0; rep < reps; rep++ {
				d, out, err := runGopher(string(srcs[k]))
				if err != nil {
					problems[k] = append(problems[k], "gopher-lua: "+err.Error())
					break
				}
				rows[k].goph, rows[k].gopherOut = best(rows[k].goph, d), out
			}
		}
		for k := range rows {
			r := &rows[k]
			if r.wasmOut != r.gopherOut {
				problems[k] = append(problems[k], fmt.Sprintf("output differs: wasm %q, gopher-lua %q", r.wasmOut, r.gopherOut))
			}
			if native != "" && r.wasmOut != r.nativeOut {
				problems[k] = append(problems[k], fmt.Sprintf("output differs: wasm %q, native %q", r.wasmOut, r.nativeOut))
			}
			r.problems = strings.Join(problems[k], "; ")
			if r.problems != "" {
				b.Errorf("%s: %s", r.name, r.problems)
			}
		}
	}

	ms := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)
	}
	ratio := func(a, b time.Duration) (string, float64) {
		if a == 0 || b == 0 {
			return "-", 0
		}
		r := float64(a) / float64(b)
		return fmt.Sprintf("%.2f", r), r
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "\n%-16s %10s %10s %10s %12s %12s\n", "program", "wasm ms", "native ms", "gopher ms", "wasm/native", "wasm/gopher")
	var logN, logG float64
	var nN, nG int
	for _, r := range rows {
		rn, vn := ratio(r.wasm, r.native)
		rg, vg := ratio(r.wasm, r.goph)
		if vn > 0 {
			logN, nN = logN+math.Log(vn), nN+1
		}
		if vg > 0 {
			logG, nG = logG+math.Log(vg), nG+1
		}
		mark := ""
		if r.problems != "" {
			mark = "  FAILED"
		}
		fmt.Fprintf(&buf, "%-16s %10s %10s %10s %12s %12s%s\n", r.name, ms(r.wasm), ms(r.native), ms(r.goph), rn, rg, mark)
	}
	geo := func(sum float64, n int) float64 {
		if n == 0 {
			return 0
		}
		return math.Exp(sum / float64(n))
	}
	gN, gG := geo(logN, nN), geo(logG, nG)
	fmt.Fprintf(&buf, "%-16s %10s %10s %10s %12.2f %12.2f\n", "geomean", "", "", "", gN, gG)
	fmt.Fprintf(&buf, "(best of %d runs; ratio < 1 means Palisade-in-wasm is faster)\n", reps)
	fmt.Print(buf.String())
	if gN > 0 {
		b.ReportMetric(gN, "wasm/native")
	}
	if gG > 0 {
		b.ReportMetric(gG, "wasm/gopher")
	}
}

func best(cur, d time.Duration) time.Duration {
	if cur == 0 || d < cur {
		return d
	}
	return cur
}

func runWasm(ctx context.Context, e *Engine, budget int64, name string, src []byte) (time.Duration, string, error) {
	var stdout, stderr bytes.Buffer
	s, err := e.New(ctx, Options{MemoryBudget: budget, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return 0, "", err
	}
	defer s.Close(ctx)
	res, err := s.Run(ctx, name, src, Limits{Timeout: 5 * time.Minute})
	if err != nil {
		return 0, "", err
	}
	if res.Status != StatusOK {
		return 0, "", fmt.Errorf("%v: %s", res.Status, stderr.String())
	}
	return res.Duration, stdout.String(), nil
}

func runNative(bin, file string) (time.Duration, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--mem", "0", file)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, "", fmt.Errorf("%v: %s", err, stderr.String())
	}
	return d, stdout.String(), nil
}

func runGopher(src string) (time.Duration, string, error) {
	L := lua.NewState(lua.Options{RegistryMaxSize: 1 << 22})
	defer L.Close()
	var out bytes.Buffer
	L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
		top := L.GetTop()
		for i := 1; i <= top; i++ {
			if i > 1 {
				out.WriteByte('\t')
			}
			out.WriteString(L.ToStringMeta(L.Get(i)).String())
		}
		out.WriteByte('\n')
		return 0
	}))
	start := time.Now()
	err := L.DoString(src)
	return time.Since(start), out.String(), err
}
