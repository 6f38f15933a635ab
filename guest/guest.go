// Package guest holds Palisade's Luau interpreter compiled to WebAssembly.
//
// The interpreter is written in C11 (guest/src; its public API and design are described in guest/src/pal.h and
// the other headers there) and built with Debian's clang-19 for wasm32-wasi by `make guest`, which writes
// guest/palisade.wasm. The build is reproducible, and the file is committed: TestWasmUpToDate rebuilds it from the
// sources and fails when the committed bytes differ. The module imports only palisade_v1 (guest/src/host.h) and
// exports the entry points of guest/wasm/*.c; host/sandbox runs it.
package guest

import _ "embed"

// Wasm is the guest module (guest/palisade.wasm) as built by `make guest`.
//
//go:embed palisade.wasm
var Wasm []byte
