//go:build !linux

package guildvm

import "errors"

const cowAvailable = false

func newImageFile(mem []byte, size int64) (int, []pageRange, error) {
	return -1, nil, errors.New("copy-on-write snapshots need Linux")
}

func closeImageFile(fd int) error { return nil }

type cowMemory struct{ sliceMemory }

func newCowMemoryFromImage(fd int, max uint64) (*cowMemory, error) {
	return nil, errors.New("copy-on-write snapshots need Linux")
}

type pageRange struct{ start, n uint32 }

const canReset = false

func (m *cowMemory) dirtyPages(size uint64) ([]pageRange, error) {
	return nil, errors.New("copy-on-write snapshots need Linux")
}

func mapImageView(fd, size int) ([]byte, error) {
	return nil, errors.New("copy-on-write snapshots need Linux")
}

func unmapImageView(b []byte) {}

func (m *cowMemory) reset(view []byte, size uint64) error {
	return errors.New("copy-on-write snapshots need Linux")
}

func (m *cowMemory) prefault(rs []pageRange) {}

func (m *cowMemory) touch(rs []pageRange) {}
