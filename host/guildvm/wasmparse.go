package guildvm

import (
	"errors"
	"fmt"
)

// mutableGlobals counts the mutable globals a wasm module defines (imports excluded) and returns the names
// under which mutable globals are exported. A memory snapshot is only complete when every mutable global can be
// saved and restored, i.e. when each one is exported (in practice: only __stack_pointer).
func mutableGlobals(wasm []byte) (defined int, exported map[uint32]string, mutIdx map[uint32]bool, err error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return 0, nil, nil, errors.New("not a wasm module")
	}
	p := 8
	uleb := func() (uint64, error) {
		var v uint64
		var shift uint
		for {
			if p >= len(wasm) {
				return 0, errors.New("truncated wasm")
			}
			b := wasm[p]
			p++
			v |= uint64(b&0x7f) << shift
			if b < 0x80 {
				return v, nil
			}
			shift += 7
			if shift > 63 {
				return 0, errors.New("bad leb128")
			}
		}
	}
	imported := uint32(0)
	exported = map[uint32]string{}
	mutIdx = map[uint32]bool{}
	for p < len(wasm) {
		id := wasm[p]
		p++
		size, err := uleb()
		if err != nil {
			return 0, nil, nil, err
		}
		end := p + int(size)
		if end > len(wasm) || end < p {
			return 0, nil, nil, errors.New("truncated section")
		}
		switch id {
		case 2: // imports: count imported globals (they come first in the global index space)
			n, err := uleb()
			if err != nil {
				return 0, nil, nil, err
			}
			for i := uint64(0); i < n; i++ {
				for j := 0; j < 2; j++ { // module, name
					l, err := uleb()
					if err != nil {
						return 0, nil, nil, err
					}
					p += int(l)
				}
				if p >= end {
					return 0, nil, nil, errors.New("truncated import")
				}
				kind := wasm[p]
				p++
				switch kind {
				case 0: // func
					if _, err := uleb(); err != nil {
						return 0, nil, nil, err
					}
				case 1: // table: reftype + limits
					p++
					if err := skipLimits(wasm, &p, uleb); err != nil {
						return 0, nil, nil, err
					}
				case 2: // memory
					if err := skipLimits(wasm, &p, uleb); err != nil {
						return 0, nil, nil, err
					}
				case 3: // global
					p += 2
					imported++
				default:
					return 0, nil, nil, fmt.Errorf("unknown import kind %d", kind)
				}
			}
		case 6: // globals
			n, err := uleb()
			if err != nil {
				return 0, nil, nil, err
			}
			for i := uint64(0); i < n; i++ {
				if p+2 > end {
					return 0, nil, nil, errors.New("truncated global")
				}
				mut := wasm[p+1] == 1
				p += 2
				if mut {
					defined++
					mutIdx[imported+uint32(i)] = true
				}
				// skip the constant expression up to its end opcode
				for {
					if p >= end {
						return 0, nil, nil, errors.New("truncated init expression")
					}
					op := wasm[p]
					p++
					if op == 0x0b {
						break
					}
					switch op {
					case 0x41, 0x42, 0x23, 0xd2: // i32.const, i64.const, global.get, ref.func
						if _, err := uleb(); err != nil {
							return 0, nil, nil, err
						}
					case 0x43:
						p += 4
					case 0x44:
						p += 8
					case 0xd0:
						p++
					}
				}
			}
		case 7: // exports
			n, err := uleb()
			if err != nil {
				return 0, nil, nil, err
			}
			for i := uint64(0); i < n; i++ {
				l, err := uleb()
				if err != nil {
					return 0, nil, nil, err
				}
				if p+int(l) > end {
					return 0, nil, nil, errors.New("truncated export")
				}
				name := string(wasm[p : p+int(l)])
				p += int(l)
				kind := wasm[p]
				p++
				idx, err := uleb()
				if err != nil {
					return 0, nil, nil, err
				}
				if kind == 3 {
					exported[uint32(idx)] = name
				}
			}
		}
		p = end
	}
	return defined, exported, mutIdx, nil
}

func skipLimits(wasm []byte, p *int, uleb func() (uint64, error)) error {
	if *p >= len(wasm) {
		return errors.New("truncated limits")
	}
	flag := wasm[*p]
	*p++
	if _, err := uleb(); err != nil {
		return err
	}
	if flag&1 != 0 {
		if _, err := uleb(); err != nil {
			return err
		}
	}
	return nil
}

// checkSnapshotable fails unless every mutable global of the module is exported (so a snapshot can save and
// restore it). It returns the exported names of the mutable globals.
func checkSnapshotable(wasm []byte) ([]string, error) {
	_, exported, mut, err := mutableGlobals(wasm)
	if err != nil {
		return nil, err
	}
	var names []string
	for idx := range mut {
		name, ok := exported[idx]
		if !ok {
			return nil, fmt.Errorf("guest defines mutable global #%d that is not exported, so a memory snapshot cannot restore it", idx)
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
