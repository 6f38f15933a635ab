package linmem

import "testing"

func TestSlice(t *testing.T) {
	const page = 64 << 10
	m := &Slice{Buf: make([]byte, 0, page), Max: 10 * page}
	steps := []struct {
		size    uint64
		ok      bool
		wantCap int // minimum capacity after the step
	}{
		{1 * page, true, 1 * page},
		{2 * page, true, 2 * page},
		{3 * page, true, 4 * page}, // moves: capacity doubles
		{4 * page, true, 4 * page}, // fits: no move
		{5 * page, true, 8 * page},
		{10 * page, true, 10 * page}, // capped at max
		{11 * page, false, 0},        // over max: refused
	}
	var prev uint64
	for _, s := range steps {
		b := m.Reallocate(s.size)
		if !s.ok {
			if b != nil {
				t.Fatalf("Reallocate(%d) over max returned memory", s.size)
			}
			continue
		}
		if uint64(len(b)) != s.size || cap(b) < s.wantCap || uint64(cap(b)) > m.Max {
			t.Fatalf("Reallocate(%d): len %d cap %d, want len %d cap >= %d (<= max)", s.size, len(b), cap(b), s.size, s.wantCap)
		}
		for i := uint64(0); i < prev; i += page / 2 {
			if b[i] != byte(i/page+1) {
				t.Fatalf("Reallocate(%d): byte %d lost its value", s.size, i)
			}
		}
		for i := prev; i < s.size; i++ {
			if b[i] != 0 {
				t.Fatalf("Reallocate(%d): new byte %d is %d, want 0", s.size, i, b[i])
			}
		}
		for i := uint64(0); i < s.size; i += page / 2 {
			b[i] = byte(i/page + 1)
		}
		prev = s.size
	}
}
