package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// folderTar writes the folder root as GNU tar writes it with `tar -C root
// --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - .`:
// entries "./", "./a", "./a/b", ... in name order, each a 512-byte GNU
// header with only name, permissions, size and type set, data padded to
// 512 bytes, two zero blocks, and the whole padded to 10240 bytes (20
// blocks). The label hash of a folder program is this stream's, as it was
// when scripts/sandbox.sh computed it with tar: the same bytes keep the
// images already built. Only folders and regular files are allowed.
func folderTar(w io.Writer, root string) error {
	n := int64(0)
	write := func(b []byte) error {
		k, err := w.Write(b)
		n += int64(k)
		return err
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := "./"
		if rel != "." {
			name += filepath.ToSlash(rel)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			if rel != "." {
				name += "/"
			}
			return write(gnuHeader(name, fi.Mode(), 0, tar.TypeDir))
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if len(name) > 100 {
				return fmt.Errorf("%s: name longer than a tar header holds", p)
			}
			if err := write(gnuHeader(name, fi.Mode(), int64(len(data)), tar.TypeReg)); err != nil {
				return err
			}
			if err := write(data); err != nil {
				return err
			}
			return write(make([]byte, (512-len(data)%512)%512))
		default:
			return fmt.Errorf("%s: only folders and regular files may be in a program folder", p)
		}
	})
	if err != nil {
		return err
	}
	if err := write(make([]byte, 1024)); err != nil {
		return err
	}
	return write(make([]byte, (10240-n%10240)%10240))
}

// gnuHeader is a GNU tar header block: owner and group 0 without names,
// time 0, magic "ustar  ".
func gnuHeader(name string, mode fs.FileMode, size int64, typ byte) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	perm := int64(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	copy(b[100:108], fmt.Sprintf("%07o\x00", perm))
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], "00000000000\x00")
	b[156] = typ
	copy(b[257:265], "ustar  \x00")
	// The checksum is taken with its own field as spaces.
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}
