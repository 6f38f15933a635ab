//go:build !linux

package guildvm

import "errors"

const cowAvailable = false

func newImageFile(mem []byte, size int64) (int, error) {
	return -1, errors.New("copy-on-write snapshots need Linux")
}

func closeImageFile(fd int) error { return nil }

type cowMemory struct{ sliceMemory }

func newCowMemory(max uint64) (*cowMemory, error) {
	return nil, errors.New("copy-on-write snapshots need Linux")
}

func (m *cowMemory) restore(im *image) error { return errors.New("copy-on-write snapshots need Linux") }

func newCowMemoryFromImage(fd int, max uint64) (*cowMemory, error) {
	return nil, errors.New("copy-on-write snapshots need Linux")
}
