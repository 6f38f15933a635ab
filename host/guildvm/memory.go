package guildvm

import (
	"github.com/palisade-bot/palisade/host/linmem"
	"github.com/tetratelabs/wazero/experimental"
)

// linearMemory is the memory behind one guild's wasm instance. It is created by wazero through the
// experimental.MemoryAllocator of that instance and enforces the instance's own page ceiling: Reallocate
// beyond the ceiling returns nil, which makes memory.grow return -1 inside the guest (wasi-libc's malloc then
// returns NULL and the interpreter raises "not enough memory").
type linearMemory interface {
	experimental.LinearMemory
	// ceiling is the largest size in bytes this memory may reach.
	ceiling() uint64
}

// sliceMemory is the portable fallback: a Go slice grown on demand, restored by copying the image.
type sliceMemory struct{ linmem.Slice }

func (m *sliceMemory) ceiling() uint64 { return m.Max }
