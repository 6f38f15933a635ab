package sandbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// newBox returns a sandbox of the shared default engine with its output captured.
func newBox(t testing.TB, opts Options) (*Sandbox, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	e, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	opts.Stdout, opts.Stderr = &stdout, &stderr
	s, err := e.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, &stdout, &stderr
}

var okLine = regexp.MustCompile(`^OK \S+ \d+$`)

// TestLuauSuite runs every testdata/luau/*.luau in its own sandbox: each must succeed, print nothing on stderr
// and end with the line "OK <area> N". When X.out exists beside X.luau, stdout must equal it exactly.
func TestLuauSuite(t *testing.T) {
	files, err := filepath.Glob("../../testdata/luau/*.luau")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no files in testdata/luau")
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".luau"), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, stdout, stderr := newBox(t, Options{})
			res, err := s.Run(context.Background(), name, src, Limits{Timeout: 60 * time.Second})
			if err != nil {
				t.Fatalf("run: %v\nstderr:\n%s", err, stderr)
			}
			if res.Status != StatusOK || stderr.Len() > 0 {
				t.Fatalf("status %v (abort: %v), stderr:\n%s\nstdout (tail):\n%s", res.Status, res.Abort, stderr, tail(stdout.String(), 10))
			}
			if want, err := os.ReadFile(strings.TrimSuffix(file, ".luau") + ".out"); err == nil {
				if got := stdout.String(); got != string(want) {
					t.Fatalf("stdout differs from %s.out:\n got: %q\nwant: %q", name, got, want)
				}
				return
			}
			last := lastLine(stdout.String())
			if !okLine.MatchString(last) {
				t.Fatalf("last line of stdout is %q, want \"OK <area> N\"; stdout (tail):\n%s", last, tail(stdout.String(), 10))
			}
			t.Logf("%s (%v, fuel %d)", last, res.Duration.Round(time.Millisecond), res.Fuel)
		})
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestCLIBehaviour checks what scripts under testdata/cli report: status, stdout, and the error format on stderr
// ("file:line: message", "stacktrace:", one line per Luau frame).
func TestCLIBehaviour(t *testing.T) {
	tests := []struct {
		file      string
		opts      Options
		lim       Limits
		status    Status
		abort     AbortReason
		stdout    string
		stderrRE  string   // must match the whole of stderr
		wantFrame []string // these traceback lines, in this order (other lines, e.g. C frames, may be between)
	}{
		{file: "ok.luau", status: StatusOK, stdout: "counter\t1\n", stderrRE: `^$`},
		{file: "long_print.luau", status: StatusOK, stdout: strings.Repeat("x", 200000) + "\ndone\n", stderrRE: `^$`},
		{file: "syntax_error.luau", status: StatusError, stdout: "",
			stderrRE: `^syntax_error\.luau:3: [^\n]+\nstacktrace:\n$`},
		{file: "runtime_error.luau", status: StatusError, stdout: "before\n",
			stderrRE:  `^runtime_error\.luau:3: boom 42\nstacktrace:\n(.+\n)+$`,
			wantFrame: []string{"runtime_error.luau:3 function inner", "runtime_error.luau:6 function outer", "runtime_error.luau:9"}},
		{file: "shebang.luau", status: StatusError,
			stderrRE: `^shebang\.luau:3: line four\nstacktrace:\n(.+\n)*$`},
		{file: "yield.luau", status: StatusError, stdout: "before\n",
			stderrRE: `^thread yielded unexpectedly\nstacktrace:\n(.+\n)*$`},
		{file: "infinite_loop.luau", lim: Limits{Timeout: 200 * time.Millisecond}, status: StatusAborted,
			abort: AbortTimeout, stdout: "start\n", stderrRE: `(?s)time limit.*\nstacktrace:\n`},
		{file: "infinite_loop.luau", lim: Limits{Fuel: 2_000_000}, status: StatusAborted,
			abort: AbortFuel, stdout: "start\n", stderrRE: `(?s)time limit.*\nstacktrace:\n`},
		{file: "memory_hog.luau", opts: Options{MemoryBudget: 512 << 10}, status: StatusNoMemory,
			stdout: "start\n", stderrRE: `(?s)not enough memory.*\nstacktrace:\n`},
	}
	for _, tc := range tests {
		name := strings.TrimSuffix(tc.file, ".luau")
		if tc.abort != AbortNone {
			name += "/" + tc.abort.String()
		}
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("../../testdata/cli", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			s, stdout, stderr := newBox(t, tc.opts)
			res, err := s.Run(context.Background(), tc.file, src, tc.lim)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if res.Status != tc.status || res.Abort != tc.abort {
				t.Errorf("status %v (abort %v), want %v (abort %v)", res.Status, res.Abort, tc.status, tc.abort)
			}
			if got := stdout.String(); got != tc.stdout {
				t.Errorf("stdout %q, want %q", got, tc.stdout)
			}
			if !regexp.MustCompile(tc.stderrRE).MatchString(stderr.String()) {
				t.Errorf("stderr %q does not match %q", stderr.String(), tc.stderrRE)
			}
			rest := stderr.String()
			if i := strings.Index(rest, "\nstacktrace:\n"); i >= 0 {
				rest = rest[i:]
			}
			lines := strings.Split(rest, "\n")
			for _, f := range tc.wantFrame {
				found := false
				for len(lines) > 0 && !found {
					found = lines[0] == f
					lines = lines[1:]
				}
				if !found {
					t.Errorf("traceback lacks %q (in order); stderr:\n%s", f, stderr)
					break
				}
			}
			// Whatever happened, the sandbox stays usable for the next script.
			stdout.Reset()
			stderr.Reset()
			res, err = s.Run(context.Background(), "after.luau", []byte(`print("still alive")`), Limits{})
			if err != nil || res.Status != StatusOK || stdout.String() != "still alive\n" {
				t.Errorf("next script: %v, %v, stdout %q, stderr %q", res.Status, err, stdout, stderr)
			}
		})
	}
}

// TestScriptsAreIsolated: globals of one script do not leak into the next one in the same sandbox.
func TestScriptsAreIsolated(t *testing.T) {
	src, err := os.ReadFile("../../testdata/cli/ok.luau")
	if err != nil {
		t.Fatal(err)
	}
	s, stdout, _ := newBox(t, Options{})
	for i := 0; i < 3; i++ {
		if res, err := s.Run(context.Background(), "ok.luau", src, Limits{}); err != nil || res.Status != StatusOK {
			t.Fatalf("run %d: %v %v", i, res.Status, err)
		}
	}
	if got, want := stdout.String(), strings.Repeat("counter\t1\n", 3); got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}
}

func TestContextCancel(t *testing.T) {
	s, _, stderr := newBox(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := s.Run(ctx, "spin.luau", []byte(`while true do end`), Limits{Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusAborted || res.Abort != AbortCanceled {
		t.Fatalf("status %v abort %v, want aborted/canceled; stderr %q", res.Status, res.Abort, stderr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v to notice the cancellation", d)
	}
}

func TestOutputLimit(t *testing.T) {
	s, stdout, _ := newBox(t, Options{MaxOutput: 10})
	res, err := s.Run(context.Background(), "p.luau", []byte(`for i = 1, 100 do print(i) end`), Limits{})
	if err != nil || res.Status != StatusOK {
		t.Fatalf("%v %v", res.Status, err)
	}
	if !res.Truncated || stdout.Len() != 10 {
		t.Fatalf("truncated=%v, %d bytes written, want true and 10", res.Truncated, stdout.Len())
	}
}

// TestBootMemory reports the heap of a fresh state with the standard libraries (pal_mem_used after pal_boot).
func TestBootMemory(t *testing.T) {
	s, _, _ := newBox(t, Options{})
	used, err := s.MemUsed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if used <= 0 || used >= DefaultMemoryBudget {
		t.Fatalf("pal_mem_used after boot = %d", used)
	}
	t.Logf("fresh state: %d bytes held by the interpreter, linear memory %d bytes", used, s.MemorySize())
}

func TestParallelSandboxes(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, stdout, stderr := newBox(t, Options{})
			res, err := s.Run(context.Background(), "sum.luau",
				[]byte(`local s = 0 for i = 1, 200000 do s += i end print(s)`), Limits{})
			if err != nil || res.Status != StatusOK || stdout.String() != "20000100000\n" {
				errs <- res.Status.String() + " " + stdout.String() + stderr.String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestBudgetOverEngineLimit(t *testing.T) {
	e, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.New(context.Background(), Options{MemoryBudget: int64(e.MemoryLimit())}); err == nil {
		t.Fatal("a budget above the engine's memory ceiling was accepted")
	}
}
