package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestLuauCommand(t *testing.T) {
	const cli = "../../testdata/cli/"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string // substring
	}{
		{"ok", []string{"luau", cli + "ok.luau"}, 0, "counter\t1\n", ""},
		{"runtime error", []string{"luau", cli + "runtime_error.luau"}, 1, "before\n",
			cli + "runtime_error.luau:3: boom 42\nstacktrace:\n"},
		{"each file in its own thread, failures counted", []string{"luau", cli + "ok.luau", cli + "syntax_error.luau", cli + "ok.luau"},
			1, "counter\t1\ncounter\t1\n", "syntax_error.luau:3:"},
		{"missing file", []string{"luau", cli + "nope.luau"}, 1, "", "Error opening " + cli + "nope.luau"},
		{"timeout", []string{"luau", "--timeout", "100ms", cli + "infinite_loop.luau"}, 1, "start\n", "time limit"},
		{"memory budget", []string{"luau", "--mem", "256KiB", cli + "memory_hog.luau"}, 1, "start\n", "not enough memory"},
		{"memory error caught", []string{"luau", "--mem", "256KiB", cli + "memory_caught.luau"}, 0, "false\tnot enough memory\nafter\t10192\n", ""},
		{"no files", []string{"luau"}, 2, "", "usage: palisade luau"},
		{"bad size", []string{"luau", "--mem", "lots", cli + "ok.luau"}, 2, "", "invalid size"},
		{"no command", nil, 2, "", "usage: palisade"},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || stdout.String() != tc.stdout || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
					code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"3MiB": 3 << 20, "512KiB": 512 << 10, "1048576": 1 << 20, "2M": 2 << 20,
		"0": 0, "1.5MiB": 3 << 19, "64K": 64 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "3TiB", "5GiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}
