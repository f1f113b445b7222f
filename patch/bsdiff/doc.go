// Package bsdiff creates and applies BSDIFF40 patches, the format of bsdiff
// 4.x, Python's bsdiff4 and kr/binarydist. Creation exploits the structure of
// tar archives; application streams in constant memory.
package bsdiff
