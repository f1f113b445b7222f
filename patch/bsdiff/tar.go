package bsdiff

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
)

// member is where one tar entry's bytes are: its header blocks (including
// PAX or GNU long-name records and the padding of the entry before it) at
// [hdrOff, dataOff) and its content at [dataOff, dataOff+size).
type member struct {
	name          string
	hdrOff        int64
	dataOff, size int64
	regular       bool
}

func (m member) dataEnd() int64 { return m.dataOff + m.size }

// tarLayout lists a tar's members in file order; the end-of-archive blocks
// are at [end, file size).
type tarLayout struct {
	members []member
	end     int64
}

// readLayout finds the members of the tar in r. Any error means the file is
// not a tar this package can exploit, and the caller diffs it as a whole.
// The layout only steers which bytes are diffed against which, so a wrong
// guess makes a patch bigger but never wrong.
// Offsets come from the position of the reader, which archive/tar moves only
// by whole blocks and by seeking over content.
func readLayout(r io.ReaderAt, size int64) (tarLayout, error) {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	var lay tarLayout
	next := int64(0) // where the next member's header region starts
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return tarLayout{}, err
		}
		dataOff, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return tarLayout{}, err
		}
		m := member{name: path.Clean(h.Name), hdrOff: next, dataOff: dataOff}
		// Only a regular file's content follows its header as is; whatever
		// other entries carry (sparse maps, unknown types) just joins the
		// next header region, which costs patch size, never correctness.
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA {
			m.regular, m.size = true, h.Size
		}
		if dataOff < next || m.size < 0 || m.size > size-dataOff {
			return tarLayout{}, fmt.Errorf("tar member %s has content outside the file", h.Name)
		}
		lay.members = append(lay.members, m)
		next = m.dataEnd()
	}
	lay.end = next
	return lay, nil
}

// pairTars picks, for each member of nw, the member of old to diff it
// against: the one with the same name; else the regular file with the same
// base name and the closest size; else a regular file of the same size (a
// moved file); else none (-1).
func pairTars(old, nw tarLayout) []int {
	byName := make(map[string]int, len(old.members))
	byBase := make(map[string][]int)
	bySize := make(map[int64]int)
	for i, m := range old.members {
		byName[m.name] = i
		if m.regular && m.size > 0 {
			b := path.Base(m.name)
			byBase[b] = append(byBase[b], i)
			if _, ok := bySize[m.size]; !ok {
				bySize[m.size] = i
			}
		}
	}
	pair := make([]int, len(nw.members))
	for i, m := range nw.members {
		pair[i] = -1
		if j, ok := byName[m.name]; ok {
			pair[i] = j
			continue
		}
		if !m.regular || m.size == 0 {
			continue
		}
		best := int64(-1)
		for _, j := range byBase[path.Base(m.name)] {
			d := old.members[j].size - m.size
			if d < 0 {
				d = -d
			}
			if best < 0 || d < best {
				pair[i], best = j, d
			}
		}
		if pair[i] < 0 {
			if j, ok := bySize[m.size]; ok {
				pair[i] = j
			}
		}
	}
	return pair
}
