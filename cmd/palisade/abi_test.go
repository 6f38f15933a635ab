package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunABI(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := runABI(nil, &out, &errb); rc != 0 || !strings.Contains(out.String(), "Palisade guest ABI version 1") {
		t.Fatalf("rc %d, out %q, err %q", rc, out.String(), errb.String())
	}
	out.Reset()
	if rc := runABI([]string{"--json"}, &out, &errb); rc != 0 || !strings.Contains(out.String(), `"module": "palisade_v1"`) {
		t.Fatalf("--json: rc %d", rc)
	}
	if rc := runABI([]string{"x"}, &out, &errb); rc != 2 {
		t.Fatalf("bad usage: rc %d", rc)
	}
}
