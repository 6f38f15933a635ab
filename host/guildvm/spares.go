package guildvm

import (
	"context"
	"sync"
)

// spares holds instances started ahead of time from template images that guilds keep starting from, so that
// such a guild's cold start only runs its event. A background goroutine restores them: the restore itself, the
// prefault of the image's hot pages, and a read of every other page of the image (on this kind of virtual
// machine the first access to a freshly mapped page costs microseconds even without a fault).
//
// An image gets a spare once a second guild started from it (a hit of the template image cache): images used
// by one guild only, the common case, cost nothing. At most maxPerImage spares per image and Config.Spares in
// all; the oldest spare is closed to make room. A spare belongs to no guild until build takes it; it has run
// no guest code since its restore.
type spares struct {
	h   *Host
	max int
	req chan *image

	mu   sync.Mutex
	list []spare // oldest first
}

type spare struct {
	im   *image
	inst *instance
}

const maxPerImage = 2

func newSpares(h *Host, max int) *spares {
	s := &spares{h: h, max: max, req: make(chan *image, 64)}
	h.wg.Add(1)
	go s.run()
	return s
}

// take returns a spare started from im, or nil.
func (s *spares) take(im *image) *instance {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sp := range s.list {
		if sp.im == im {
			s.list = append(s.list[:i], s.list[i+1:]...)
			s.h.m.spares.Dec()
			return sp.inst
		}
	}
	return nil
}

// want asks for a spare of im (dropped when the queue is full).
func (s *spares) want(im *image) {
	if s == nil {
		return
	}
	select {
	case s.req <- im:
	default:
	}
}

func (s *spares) count(im *image) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sp := range s.list {
		if sp.im == im {
			n++
		}
	}
	return n
}

func (s *spares) run() {
	defer s.h.wg.Done()
	ctx := context.Background()
	for {
		select {
		case <-s.h.stop:
			return
		case im := <-s.req:
			if s.count(im) >= maxPerImage || !s.h.images.acquire(im) {
				continue
			}
			inst, err := s.h.restore(ctx, im.budget, im)
			s.h.images.release(im)
			if err != nil {
				s.h.cfg.Logger.Warn("guildvm: spare instance not started", "err", err)
				continue
			}
			if cm, ok := inst.mem.(*cowMemory); ok && inst.cow {
				cm.touch(im.pages)
			}
			s.add(ctx, spare{im: im, inst: inst})
		}
	}
}

func (s *spares) add(ctx context.Context, sp spare) {
	var drop []spare
	s.mu.Lock()
	s.list = append(s.list, sp)
	s.h.m.spares.Inc()
	for len(s.list) > s.max {
		drop = append(drop, s.list[0])
		s.list = s.list[1:]
		s.h.m.spares.Dec()
	}
	s.mu.Unlock()
	for _, d := range drop {
		d.inst.close(ctx)
	}
}

// close closes every spare (the goroutine stops with Host.stop).
func (s *spares) close(ctx context.Context) {
	if s == nil {
		return
	}
	s.mu.Lock()
	list := s.list
	s.list = nil
	s.h.m.spares.Sub(float64(len(list)))
	s.mu.Unlock()
	for _, sp := range list {
		sp.inst.close(ctx)
	}
}
