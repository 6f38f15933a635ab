package guildvm

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/api"
)

// image is a snapshot an instance can start from: its linear memory and mutable globals, and the host-side
// state that goes with them. The base image is taken once per process right after pal_boot; a template
// image is taken right after a guild's templates were installed (see imageCache).
type image struct {
	size      int         // bytes of linear memory the image covers (a multiple of the wasm page size)
	data      []byte      // the memory, kept only for the copy restore (fd < 0)
	fd        int         // memfd holding the memory (zero pages left as holes), or -1 when copy-on-write is not used
	pages     []pageRange // the pages of fd that are not holes
	view      []byte      // fd's first size bytes mapped read-only (what recycled instances are reset to); nil = none
	globals   []uint64    // values of the exported mutable globals, in Host.globalNames order
	mailbox   uint32
	scratch   uint32 // a pal_buf_alloc block of scratchSize bytes the host reuses for event names and data
	budget    int64  // the interpreter budget the image was taken with
	nextEvent uint32 // the host's event counter at the time (events $budget/$install already ran)
	refusals  uint32 // the guest's mem_refusals count at the time

	// hot are the pages the first instance started from this image wrote during its first event: later
	// restores prefault them in a batch (cowMemory.prefault). learning is set once an instance was chosen
	// to find them.
	hot      atomic.Pointer[[]pageRange]
	learning atomic.Bool

	// guarded by imageCache.mu (template images only)
	refs    int  // restores in progress that use fd
	evicted bool // removed from the cache: fd is closed when refs drops to 0
}

func (im *image) close() {
	if im.view != nil {
		unmapImageView(im.view)
		im.view = nil
	}
	if im.fd >= 0 {
		closeImageFile(im.fd)
		im.fd = -1
	}
}

// captureImage snapshots inst. It must be idle: no event in flight, no pending call. With cow the memory goes
// into a memfd sized to the runtime's page limit (so one private mapping of it is a whole reservation); else it
// is copied into image.data.
func (h *Host) captureImage(inst *instance, budget int64, cow bool) (*image, error) {
	mem := inst.memory
	view, ok := mem.Read(0, mem.Size())
	if !ok {
		return nil, errors.New("guildvm: read instance memory for the image")
	}
	im := &image{size: len(view), fd: -1, mailbox: inst.mailbox, scratch: inst.scratch, budget: budget, nextEvent: inst.nextEvent, refusals: inst.refusals}
	for _, n := range h.globalNames {
		g, ok := inst.mod.ExportedGlobal(n).(api.MutableGlobal)
		if !ok {
			return nil, fmt.Errorf("guildvm: exported global %s is not mutable", n)
		}
		im.globals = append(im.globals, g.Get())
	}
	if cow {
		fd, pages, err := newImageFile(view, int64(h.cfg.MaxMemoryPages)*pageSize)
		if err == nil {
			im.fd, im.pages = fd, pages
			if v, err := mapImageView(fd, im.size); err == nil {
				im.view = v
			}
			return im, nil
		}
		h.cfg.Logger.Warn("guildvm: copy-on-write image unavailable, copying instead", "err", err)
	}
	im.data = append([]byte(nil), view...)
	return im, nil
}

// imageCache keeps template images: the state of an instance right after the host set its budget and installed
// its templates, keyed by a hash of exactly that input (budget, then every template's name and source, in
// order). Installing only compiles (no template code runs), so the state depends on nothing else: a guild
// whose templates hash the same starts from the image instead of compiling them again, and gets the same
// state it would have built itself. An image is stored when a set is installed for the second time; least
// recently used images are dropped beyond max.
type imageCache struct {
	mu  sync.Mutex
	max int
	m   map[[32]byte]*list.Element
	lru list.List // of *cachedImage, front = most recently used

	seen map[[32]byte]struct{} // keys of template sets installed (see seenBefore)
}

// seenBefore reports whether key was passed to seenBefore before (it remembers up to 8*max keys, then
// starts over).
func (c *imageCache) seenBefore(key [32]byte) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[key]; ok {
		return true
	}
	if len(c.seen) >= 8*c.max {
		clear(c.seen)
	}
	c.seen[key] = struct{}{}
	return false
}

type cachedImage struct {
	key [32]byte
	im  *image
}

func newImageCache(max int) *imageCache {
	return &imageCache{max: max, m: map[[32]byte]*list.Element{}, seen: map[[32]byte]struct{}{}}
}

// templateKey hashes what a template image depends on.
func templateKey(budget int64, tpls []Template) [32]byte {
	hs := sha256.New()
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(budget))
	hs.Write(n[:])
	for _, t := range tpls {
		for _, s := range []string{t.Name, t.Source} {
			binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
			hs.Write(n[:])
			hs.Write([]byte(s))
		}
	}
	var k [32]byte
	hs.Sum(k[:0])
	return k
}

// get returns the image for key with a reference held (release it after the restore), or nil.
func (c *imageCache) get(key [32]byte) *image {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	if e == nil {
		return nil
	}
	c.lru.MoveToFront(e)
	im := e.Value.(*cachedImage).im
	im.refs++
	return im
}

// acquire takes a reference on im if it is still cached.
func (c *imageCache) acquire(im *image) bool {
	if c == nil {
		return true // the base image, never closed before the host
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if im.evicted {
		return false
	}
	im.refs++
	return true
}

func (c *imageCache) release(im *image) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	im.refs--
	if im.refs == 0 && im.evicted {
		im.close()
	}
}

// put stores im under key (keeping an image already there) and drops the least recently used beyond max.
func (c *imageCache) put(key [32]byte, im *image) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		im.close()
		return
	}
	c.m[key] = c.lru.PushFront(&cachedImage{key: key, im: im})
	for c.lru.Len() > c.max {
		c.evictLocked(c.lru.Back())
	}
}

func (c *imageCache) evictLocked(e *list.Element) {
	ci := e.Value.(*cachedImage)
	c.lru.Remove(e)
	delete(c.m, ci.key)
	ci.im.evicted = true
	if ci.im.refs == 0 {
		ci.im.close()
	}
}

// close drops every image (instances already mapped keep their pages: a mapping holds its own reference to
// the memfd).
func (c *imageCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.lru.Len() > 0 {
		c.evictLocked(c.lru.Back())
	}
}

func (c *imageCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
