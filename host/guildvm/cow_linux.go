//go:build linux

package guildvm

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cowAvailable reports whether copy-on-write restore can be used on this system.
const cowAvailable = true

// newImageFile stores the snapshot image in an anonymous memory file (memfd) so that instances can map it
// privately: pages are shared with the image until an instance writes to them.
// The file is extended (sparsely) to size bytes, so that one private mapping of it can serve as an instance's
// whole memory reservation: the image at the start, zero pages after it.
func newImageFile(mem []byte, size int64) (fd int, err error) {
	fd, err = unix.MemfdCreate("palisade-guildvm-snapshot", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("memfd_create: %w", err)
	}
	if size < int64(len(mem)) {
		size = int64(len(mem))
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("ftruncate snapshot memfd: %w", err)
	}
	for off := 0; off < len(mem); {
		n, err := unix.Pwrite(fd, mem[off:], int64(off))
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("write snapshot memfd: %w", err)
		}
		off += n
	}
	return fd, nil
}

func closeImageFile(fd int) error { return unix.Close(fd) }

// cowMemory is a linear memory reserved up front at its ceiling (so its address never moves and wazero's
// slice stays valid), whose first bytes are replaced by a private mapping of the snapshot image.
type cowMemory struct {
	buf []byte // whole reservation, len == max
	max uint64
}

func newCowMemory(max uint64) (*cowMemory, error) {
	if max == 0 {
		max = pageSize
	}
	b, err := unix.Mmap(-1, 0, int(max), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes: %w", max, err)
	}
	return &cowMemory{buf: b, max: max}, nil
}

// newCowMemoryFromImage reserves max bytes as one private mapping of the image file: the instance shares the
// image's pages until it writes them. One mmap, no copy.
func newCowMemoryFromImage(fd int, max uint64) (*cowMemory, error) {
	b, err := unix.Mmap(fd, 0, int(max), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mmap snapshot image (%d bytes): %w", max, err)
	}
	return &cowMemory{buf: b, max: max}, nil
}

func (m *cowMemory) Reallocate(size uint64) []byte {
	if size > m.max || m.buf == nil {
		return nil
	}
	return m.buf[:size:size]
}

func (m *cowMemory) Free() {
	if m.buf != nil {
		unix.Munmap(m.buf)
		m.buf = nil
	}
}

func (m *cowMemory) ceiling() uint64 { return m.max }

func (m *cowMemory) restore(im *image) error {
	if im.fd < 0 {
		return fmt.Errorf("snapshot image has no memory file")
	}
	if uint64(len(im.data)) > m.max {
		return errImageTooLarge(len(im.data), m.max)
	}
	_, err := unix.MmapPtr(im.fd, 0, unsafe.Pointer(&m.buf[0]), uintptr(len(im.data)),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
	if err != nil {
		return fmt.Errorf("map snapshot image: %w", err)
	}
	return nil
}
