package guest

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWasmUpToDate rebuilds the guest from its sources into a temporary directory and checks that the result is
// byte-for-byte the committed guest/palisade.wasm (the build is reproducible).
func TestWasmUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the guest; skipped in -short mode")
	}
	cc := os.Getenv("CC_WASM")
	if cc == "" {
		cc = "clang-19"
	}
	for _, tool := range []string{"make", cc} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (run scripts/install-deps.sh): %v", tool, err)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Read every input here, so that `go test` caching notices when any of them changes.
	var inputs []string
	for _, pat := range []string{"Makefile", "guest/src/*", "guest/wasm/*"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, m...)
	}
	h := sha256.New()
	for _, f := range inputs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	t.Logf("%d input files, sha256 %x", len(inputs), h.Sum(nil))

	tmp := t.TempDir()
	out := filepath.Join(tmp, "palisade.wasm")
	cmd := exec.Command("make", "-s", "-C", root, "-j2", "guest", "OUT="+out, "WASM_OBJDIR="+filepath.Join(tmp, "obj"))
	// A clean environment for make: no overrides inherited from an outer make (MAKEFLAGS carries them).
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MAKELEVEL" && k != "MFLAGS" && k != "MAKEOVERRIDES" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make guest failed: %v\n%s", err, log)
	}
	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, Wasm) {
		t.Fatalf("guest/palisade.wasm is out of date: a clean build of guest/src and guest/wasm gives %d bytes "+
			"(sha256 %x), the committed file has %d bytes (sha256 %x). Run `make guest` and commit guest/palisade.wasm.",
			len(built), sha256.Sum256(built), len(Wasm), sha256.Sum256(Wasm))
	}
}

func TestWasmHeader(t *testing.T) {
	if len(Wasm) < 8 || !bytes.Equal(Wasm[:4], []byte("\x00asm")) {
		t.Fatalf("guest/palisade.wasm is not a wasm module (%d bytes)", len(Wasm))
	}
}
