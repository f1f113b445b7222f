// Package bsdiff creates and applies BSDIFF40 patches, the format of bsdiff
// 4.x, Python's bsdiff4 (what tufup uses) and kr/binarydist: patches made
// here are applied by all three, and Apply applies theirs.
//
// # Creating
//
// bsdiff matches the new file against a suffix array of the whole old file,
// which is why it takes minutes and gigabytes on a release of a few hundred
// megabytes. Releases are tars, and most of a tar is the same files as in
// the previous release, so Diff works member by member:
//
//   - Both tars are indexed (names and offsets of headers and contents).
//     Each new member is paired with an old one: same name, else the regular
//     file with the same base name and closest size, else one with the same
//     size, else none. If either file is not a tar, the whole file is one
//     region paired with the whole old file.
//   - Each region (a header, a member's content, the end-of-archive blocks)
//     becomes a job; jobs run on GOMAXPROCS workers. A region equal to its
//     counterpart costs one streamed comparison and becomes one "add" of
//     zeros. Otherwise the worker builds a suffix array (SA-IS, package
//     internal/sais) of the old region and runs bsdiff's scan: longest
//     matches by binary search, extended forward and backward while at
//     least half of the bytes agree, so a recompiled binary becomes mostly
//     zero diff bytes. Shortcuts skip searches where bsdiff's loop would
//     keep the current offset anyway: it matches the next 16 bytes, or all
//     but 8 of the next 64, or a Bloom filter of the old region's 8-byte
//     strings shows no match of the 9 bytes the loop needs to act exists.
//     On the Go toolchain's binaries the scan takes half the time, for
//     0.4% more patch.
//   - A writer takes the jobs' results in file order and stitches them into
//     one control stream with seeks in absolute old offsets, merging runs
//     that continue each other, and splitting runs of 1 GiB or more, which
//     bspatch reads as a C int. The three blocks are compressed with bzip2
//     as they come (package internal/bzip2, which chooses Huffman tables as
//     libbzip2 does) and kept in memory or, past 16 MiB, in temporary
//     files, since the header needs their lengths.
//
// Memory: a job holds its new bytes, its old bytes and the suffix array
// with its scratch space and the filter (about 9 bytes per old byte). Jobs are dispatched
// in file order only while the estimates of those not yet written fit a
// 640 MiB budget, so memory does not grow with the number or size of the
// files; a job bigger than the budget runs alone, and one with a big old
// region is followed by a garbage collection so the next reuses its memory.
// An old region of up to 64 MiB is indexed whole. A larger one is windowed:
// each 16 MiB of new bytes is diffed against the 32 MiB of old bytes
// centred on where they fall in proportion, two such jobs in parallel.
// Matches further than ~8 MiB from that place are not found, so a big
// member whose content moved far makes a bigger patch (never a wrong one).
// On the Go toolchain's twelve biggest binaries concatenated (101 MB, so
// windowed) the patch is 2% smaller than bsdiff's, made in a fifth of the
// time with 0.55 GB peak RSS against bsdiff's 0.91 GB.
//
// # Applying
//
// Apply streams: three bzip2 readers (dsnet/compress's, twice as fast as
// the standard library's here) over sections of the patch, the old file read
// at the offsets the control stream asks for, the new file written in
// 256 KiB pieces. Peak RSS is about 35 MB whatever the sizes (mostly the
// decoders' 900k-block buffers), and no allocation depends on a length read
// from the patch. It follows bspatch 4.3, including its tolerance of adds
// reaching outside the old file; it also checks the CRC of each block's
// last part, which bspatch never reads to the end. Corrupt patches are
// errors wrapping ErrCorrupt that say which part is wrong.
package bsdiff
