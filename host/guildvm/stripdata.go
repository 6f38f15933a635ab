package guildvm

import (
	"fmt"

	"github.com/palisade-bot/palisade/abi"
)

// checkSnapshotable fails unless every mutable global the module defines is exported (so a snapshot can save
// and restore it). It returns the exported names of the mutable globals. The binary is read by abi.ParseLayout,
// the project's one wasm section parser.
func checkSnapshotable(wasm []byte) ([]string, error) {
	l, err := abi.ParseLayout(wasm)
	if err != nil {
		return nil, err
	}
	exported := map[uint32]string{}
	for _, e := range l.Exports {
		if e.Kind == "global" {
			exported[e.Index] = e.Name
		}
	}
	var names []string
	for _, g := range l.Globals {
		if !g.Mutable {
			continue
		}
		name, ok := exported[g.Index]
		if !ok {
			return nil, fmt.Errorf("guest defines mutable global #%d that is not exported, so a memory snapshot cannot restore it", g.Index)
		}
		names = append(names, name)
	}
	return names, nil
}

// stripData returns a copy of a wasm module whose data segments are removed (the data section is kept with
// zero segments, and a data-count section says 0). Instances restored from a snapshot image do not need the
// segments (the image already holds memory's content), and applying them would only dirty pages. The caller
// must check that the result still compiles (code using memory.init or data.drop would not).
func stripData(wasm []byte) ([]byte, bool) {
	if len(wasm) < 8 {
		return nil, false
	}
	out := append([]byte(nil), wasm[:8]...)
	p := 8
	changed := false
	for p < len(wasm) {
		id := wasm[p]
		q := p + 1
		var size uint64
		var shift uint
		for {
			if q >= len(wasm) {
				return nil, false
			}
			b := wasm[q]
			q++
			size |= uint64(b&0x7f) << shift
			if b < 0x80 {
				break
			}
			shift += 7
		}
		end := q + int(size)
		if end > len(wasm) {
			return nil, false
		}
		switch id {
		case 11, 12: // data, datacount: replace with an empty vector / a zero count
			out = append(out, id, 1, 0)
			changed = true
		default:
			out = append(out, wasm[p:end]...)
		}
		p = end
	}
	return out, changed
}
