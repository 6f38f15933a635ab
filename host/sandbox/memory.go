package sandbox

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"
)

// growingMemory is an instance's linear memory: a Go slice whose capacity at least doubles when it must move, so
// a script that grows its heap step by step (the guest's malloc asks for a few pages at a time) copies its memory
// a bounded number of times (without it, wazero appends page by page and lets Go pick the new capacity).
type growingMemory struct {
	buf []byte
	max uint64
}

func (m *growingMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	c := min(max(2*uint64(cap(m.buf)), size), m.max)
	nb := make([]byte, size, c)
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

func (m *growingMemory) Free() { m.buf = nil }

// withGrowingMemory makes the instance instantiated under the returned context use a growingMemory.
func withGrowingMemory(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
		return &growingMemory{buf: make([]byte, 0, capacity), max: max}
	}))
}
