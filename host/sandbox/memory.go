package sandbox

import (
	"context"

	"github.com/palisade-bot/palisade/host/linmem"
	"github.com/tetratelabs/wazero/experimental"
)

// withGrowingMemory makes the instance instantiated under the returned context keep its memory in a
// linmem.Slice (capacity doubling) instead of wazero's page-by-page default.
func withGrowingMemory(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
		return &linmem.Slice{Buf: make([]byte, 0, capacity), Max: max}
	}))
}
