//go:build unix

package patch

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestWriteTarRefusesFIFO(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "ok"), []byte("ok"), 0o644)
	fifo := filepath.Join(src, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteTar(context.Background(), src, io.Discard)
	if err == nil || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "FIFO") {
		t.Fatalf("err = %v, want one naming FIFO %s", err, fifo)
	}
}

// Only permission bits are archived: setuid/setgid/sticky would let a
// release grant privileges on machines that extract as root.
func TestWriteTarDropsSpecialModeBits(t *testing.T) {
	src := t.TempDir()
	p := filepath.Join(src, "suid")
	os.WriteFile(p, []byte("x"), 0o755)
	if err := os.Chmod(p, 0o755|os.ModeSetuid|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode()&os.ModeSetuid == 0 {
		t.Skip("filesystem does not keep setuid bits")
	}
	ms, _ := readMembers(t, strings.NewReader(string(writeTarBytes(t, src))))
	if len(ms) != 2 || ms[1].Name != "./suid" || ms[1].Mode != 0o755 {
		t.Fatalf("members %v, want ./suid with mode 755", ms)
	}
}

// setLinkTime sets the mtime of the symbolic link p itself.
func setLinkTime(t testing.TB, p string, mtime time.Time) {
	t.Helper()
	tv := unix.NsecToTimeval(mtime.UnixNano())
	if err := unix.Lutimes(p, []unix.Timeval{tv, tv}); err != nil {
		t.Fatal(err)
	}
}
