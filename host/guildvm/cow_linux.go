//go:build linux

package guildvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cowAvailable reports whether copy-on-write restore can be used on this system.
const cowAvailable = true

// newImageFile stores the snapshot image in an anonymous memory file (memfd) so that instances can map it
// privately: pages are shared with the image until an instance writes to them.
// The file is extended (sparsely) to size bytes, so that one private mapping of it can serve as an instance's
// whole memory reservation: the image at the start, zero pages after it.
// It returns the ranges of pages it wrote.
func newImageFile(mem []byte, size int64) (fd int, written []pageRange, err error) {
	fd, err = unix.MemfdCreate("palisade-guildvm-snapshot", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, nil, fmt.Errorf("memfd_create: %w", err)
	}
	if size < int64(len(mem)) {
		size = int64(len(mem))
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("ftruncate snapshot memfd: %w", err)
	}
	// Only pages holding a non-zero byte are written: the rest (most of the shadow stack, the free heap) stay
	// holes of the sparse file, which read as zeros and take no memory.
	for off := 0; off < len(mem); off += osPage {
		end := min(off+osPage, len(mem))
		if allZero(mem[off:end]) {
			continue
		}
		if k := len(written) - 1; k >= 0 && written[k].start+written[k].n == uint32(off/osPage) {
			written[k].n++
		} else {
			written = append(written, pageRange{start: uint32(off / osPage), n: 1})
		}
		for p := off; p < end; {
			n, err := unix.Pwrite(fd, mem[p:end], int64(p))
			if err != nil {
				unix.Close(fd)
				return -1, nil, fmt.Errorf("write snapshot memfd: %w", err)
			}
			p += n
		}
	}
	return fd, written, nil
}

func closeImageFile(fd int) error { return unix.Close(fd) }

// cowMemory is a linear memory reserved up front at its ceiling (so its address never moves and wazero's
// slice stays valid) as one private mapping of an image's memfd.
type cowMemory struct {
	buf []byte // whole reservation, len == max
	max uint64
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

// osPage is the granularity of copy-on-write and of the prefault hints.
const osPage = 4096

// pageRange is a run of OS pages [start, start+n) of a linear memory.
type pageRange struct{ start, n uint32 }

// pagemap is /proc/self/pagemap (nil when it cannot be read): it tells which pages of a mapping the process
// wrote to (present and no longer the file's page).
var pagemap = func() *os.File {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return nil
	}
	return f
}()

// canReset reports whether cowMemory.reset can work here (it needs pagemap).
var canReset = pagemap != nil

// dirtyPages returns the pages among the first size bytes of m that hold a private copy: those the instance
// wrote since its memory was mapped.
func (m *cowMemory) dirtyPages(size uint64) ([]pageRange, error) {
	if pagemap == nil {
		return nil, errors.New("/proc/self/pagemap is not readable")
	}
	if m.buf == nil || size > uint64(len(m.buf)) {
		return nil, errors.New("memory closed or smaller than asked")
	}
	n := int(size / osPage)
	ent := make([]byte, 8*n)
	if n == 0 {
		return nil, nil
	}
	if _, err := pagemap.ReadAt(ent, int64(uintptr(unsafe.Pointer(&m.buf[0]))/osPage*8)); err != nil {
		return nil, fmt.Errorf("read pagemap: %w", err)
	}
	var out []pageRange
	for p := 0; p < n; p++ {
		v := binary.LittleEndian.Uint64(ent[p*8:])
		if v>>63&1 == 0 || v>>61&1 == 1 { // not present, or still the file's page
			continue
		}
		if k := len(out) - 1; k >= 0 && out[k].start+out[k].n == uint32(p) {
			out[k].n++
		} else {
			out = append(out, pageRange{start: uint32(p), n: 1})
		}
	}
	return out, nil
}

// prefault makes private copies of the given pages in one system call per range (MADV_POPULATE_WRITE):
// on a virtual machine one write fault on a private file mapping costs tens of microseconds, the batched
// copy a few. Errors are ignored: the pages then fault on first write as usual.
func (m *cowMemory) prefault(rs []pageRange) {
	for _, r := range rs {
		lo, hi := uint64(r.start)*osPage, uint64(r.start+r.n)*osPage
		if hi > uint64(len(m.buf)) {
			return
		}
		unix.Madvise(m.buf[lo:hi], unix.MADV_POPULATE_WRITE)
	}
}

// touch reads one byte of each page in rs, so that the page-table entries exist before the guest runs (on a
// virtual machine the first access to a freshly mapped page costs microseconds even without a fault).
func (m *cowMemory) touch(rs []pageRange) {
	var s byte
	for _, r := range rs {
		for p := uint64(r.start); p < uint64(r.start+r.n) && (p+1)*osPage <= uint64(len(m.buf)); p++ {
			s += m.buf[p*osPage]
		}
	}
	runtime.KeepAlive(s) // keeps the loads
}

// mapImageView maps the first size bytes of an image file read-only and shared: the bytes reset copies from.
func mapImageView(fd, size int) ([]byte, error) {
	return unix.Mmap(fd, 0, size, unix.PROT_READ, unix.MAP_SHARED)
}

func unmapImageView(b []byte) { unix.Munmap(b) }

// reset puts the first size bytes of m back to the image (view = its bytes) without new mappings: each page the
// instance wrote holds a private copy (pagemap), which gets the image's bytes back; beyond the image the private
// copies are dropped (zeros again); pages it never wrote still map the image. The image's pages stay mapped and
// writable, so the next tenant does not pay for faults on them.
func (m *cowMemory) reset(view []byte, size uint64) error {
	dirty, err := m.dirtyPages(size)
	if err != nil {
		return err
	}
	for _, r := range dirty {
		lo, hi := uint64(r.start)*osPage, uint64(r.start+r.n)*osPage
		dst := m.buf[lo:hi]
		switch {
		case hi <= uint64(len(view)):
			copy(dst, view[lo:hi])
		case lo >= uint64(len(view)):
			// beyond the image: drop the private copies (the file there is a hole: zeros), so memory the
			// previous guild grew into is given back rather than kept zeroed
			if err := unix.Madvise(dst, unix.MADV_DONTNEED); err != nil {
				clear(dst)
			}
		default:
			n := copy(dst, view[lo:])
			clear(dst[n:])
		}
	}
	return nil
}
