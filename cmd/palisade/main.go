// Command palisade is the Palisade service: it runs Discord server admins' Luau scripts, each guild in its own
// WebAssembly sandbox.
//
// Usage:
//
//	palisade luau [--mem 3MiB] [--timeout 30s] [--fuel N] FILE...
//	palisade abi [--json]
//
// The luau subcommand runs each FILE in a sandbox like the stock luau CLI does: one interpreter state, each file
// in its own thread with sandboxed globals, print to stdout, errors on stderr as "FILE:LINE: message" followed by
// "stacktrace:" and the Luau frames. It exits 1 when any file fails, 2 on bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-bot/palisade/host/sandbox"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: palisade <command> [arguments]

commands:
  luau [--mem 3MiB] [--timeout 30s] [--fuel N] FILE...   run Luau scripts in the wasm sandbox
  abi [--json]                                          print the guest ABI (imports, exports, limits)
`)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "luau":
		return runLuau(args[1:], stdout, stderr)
	case "abi":
		return runABI(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "palisade: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

// byteSize is a flag value like "3MiB", "512K", "1048576".
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	v, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(v)
	return nil
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
		{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"k", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<31-1 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 3MiB, 512KiB, 0 for unlimited; at most 2GiB)", s)
	}
	return int64(f * float64(mult)), nil
}

func runLuau(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("luau", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mem := byteSize(sandbox.DefaultMemoryBudget)
	fs.Var(&mem, "mem", "interpreter memory budget (e.g. 3MiB; 0 = unlimited)")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit per file (0 = none)")
	fuel := fs.Int64("fuel", 0, "fuel limit per file, about one unit per instruction (0 = unlimited)")
	cacheDir := fs.String("cache", "", "directory for wazero's compilation cache (optional)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: palisade luau [--mem 3MiB] [--timeout 30s] [--fuel N] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}

	budget := int64(mem)
	if budget == 0 {
		budget = -1 // unlimited
	}
	// Read the files first: the linear-memory ceiling must also hold the largest source.
	type script struct {
		name string
		src  []byte
		err  error
	}
	scripts := make([]script, fs.NArg())
	var largest int64
	for i, name := range fs.Args() {
		src, err := os.ReadFile(name)
		scripts[i] = script{name, src, err}
		largest = max(largest, int64(len(src)))
	}
	limit := sandbox.MemoryLimitFor(budget)
	if budget > 0 {
		limit += uint64(largest)
	}

	ctx := context.Background()
	engine, err := sandbox.NewEngine(ctx, sandbox.Config{MemoryLimit: limit, CacheDir: *cacheDir})
	if err != nil {
		fmt.Fprintf(stderr, "palisade: %v\n", err)
		return 1
	}
	defer engine.Close(ctx)
	opts := sandbox.Options{MemoryBudget: budget, Stdout: stdout, Stderr: stderr}
	var box *sandbox.Sandbox
	lim := sandbox.Limits{Timeout: *timeout, Fuel: *fuel}
	if *timeout == 0 {
		lim.Timeout = -1
	}
	failed := 0
	for _, sc := range scripts {
		if sc.err != nil {
			fmt.Fprintf(stderr, "Error opening %s\n", sc.name)
			failed++
			continue
		}
		if box == nil {
			if box, err = engine.New(ctx, opts); err != nil {
				fmt.Fprintf(stderr, "palisade: %v\n", err)
				return 1
			}
		}
		res, err := box.Run(ctx, sc.name, sc.src, lim)
		switch {
		case err != nil:
			msg, _, _ := strings.Cut(err.Error(), "\nwasm stack trace:") // the first lines say what happened
			fmt.Fprintf(stderr, "palisade: %s: %s\n", sc.name, msg)
			failed++
			if errors.Is(err, sandbox.ErrBroken) || box.Broken() {
				box.Close(ctx)
				box = nil // the next file gets a fresh instance
			}
		case res.Status != sandbox.StatusOK:
			failed++
		}
	}
	if box != nil {
		box.Close(ctx)
	}
	if failed > 0 {
		return 1
	}
	return 0
}
