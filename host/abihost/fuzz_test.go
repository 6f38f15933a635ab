package abihost

import (
	"testing"

	"github.com/palisade-bot/palisade/abi"
)

// FuzzSyscall drives the syscall handler with random arguments and random guest memory contents.
func FuzzSyscall(f *testing.F) {
	f.Add(uint32(0), uint32(4), uint32(16), uint32(1), uint32(4096), uint32(256), []byte("echo\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), true)
	f.Add(uint32(0), uint32(5), uint32(8), uint32(9), uint32(100), uint32(8), []byte("$take\x00\x00\x00\x04\x01\x00\x00\x00\x00\x00\x00\x00"), false)
	f.Add(uint32(0), uint32(22), uint32(32), uint32(5), uint32(0), uint32(0), []byte("discord.create_message\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x06\x00\x00\x00\x00"), true)
	f.Add(uint32(0xffffffff), uint32(0xffffffff), uint32(0xfffffff0), uint32(0x20), uint32(65535), uint32(2), []byte{}, true)
	h := newHarness(f)
	h.st.caps["discord:create_message"] = true
	f.Fuzz(func(t *testing.T, opPtr, opLen, argPtr, argLen, outPtr, outCap uint32, mem []byte, inEvent bool) {
		m := h.mod.Memory()
		if len(mem) > 8192 {
			mem = mem[:8192]
		}
		m.Write(0, mem)
		h.st.inEvent, h.st.pending = inEvent, 0
		stack := []uint64{uint64(opPtr), uint64(opLen), uint64(argPtr), uint64(argLen), uint64(outPtr), uint64(outCap)}
		h.door.Syscall(h.ctx, h.mod, stack) // must not panic
		status, low := int32(stack[0]>>32), uint32(stack[0])
		switch status {
		case abi.SysPending, abi.SysParked:
		default:
			if low > outCap {
				t.Fatalf("status %d wrote %d bytes into a %d-byte buffer", status, low, outCap)
			}
			if low > 0 {
				out, ok := m.Read(outPtr, low)
				if !ok {
					t.Fatalf("reported output outside memory")
				}
				if _, err := abi.Decode(out); err != nil && status != abi.SysOK {
					t.Fatalf("status %d message is not a value: %v", status, err)
				}
			}
		}
		if status < abi.SysENotAsync || status > abi.SysParked {
			t.Fatalf("status %d out of range", status)
		}
	})
}

// FuzzWrite drives the write handler with random arguments.
func FuzzWrite(f *testing.F) {
	f.Add(int32(1), uint32(0), uint32(10))
	f.Add(int32(2), uint32(65535), uint32(2))
	f.Add(int32(-1), uint32(0xffffffff), uint32(0xffffffff))
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, fd int32, ptr, n uint32) {
		h.st.writes = h.st.writes[:0]
		h.door.Write(h.ctx, h.mod, []uint64{uint64(uint32(fd)), uint64(ptr), uint64(n)})
		for _, w := range h.st.writes {
			if len(w) > abi.Current.Limits.MaxWriteBytes {
				t.Fatalf("write of %d bytes passed the limit", len(w))
			}
		}
	})
}

// FuzzNowFuel drives the clock and fuel handlers.
func FuzzNowFuel(f *testing.F) {
	f.Add(int32(0))
	f.Add(int32(1))
	f.Add(int32(-7))
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, clock int32) {
		stack := []uint64{uint64(uint32(clock))}
		h.door.Now(h.ctx, h.mod, stack)
		h.door.Fuel(h.ctx, h.mod, stack)
	})
}
