// Package linmem holds the linear memory Palisade's hosts give wazero instances when no reserved mapping is
// used (experimental.MemoryAllocator): a Go slice whose capacity at least doubles whenever it has to move.
//
// wazero's own default grows a memory page by page (a zeroed temporary per grow, Go's 1.25x capacity steps), so
// a script whose heap grows step by step (the guest's malloc asks for a few pages at a time) copied its memory
// many times over.
package linmem

// Slice is a linear memory of at most Max bytes kept in a Go slice. The zero value with Max set is ready to use.
type Slice struct {
	Buf []byte
	Max uint64
}

// Reallocate implements experimental.LinearMemory: it returns the memory grown to size bytes (new bytes zero),
// or nil beyond Max.
func (m *Slice) Reallocate(size uint64) []byte {
	if size > m.Max {
		return nil
	}
	if size <= uint64(cap(m.Buf)) {
		m.Buf = m.Buf[:size]
		return m.Buf
	}
	c := min(max(2*uint64(cap(m.Buf)), size), m.Max)
	nb := make([]byte, size, c)
	copy(nb, m.Buf)
	m.Buf = nb
	return nb
}

// Free implements experimental.LinearMemory.
func (m *Slice) Free() { m.Buf = nil }
