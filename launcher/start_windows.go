package launcher

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// canExec: Windows has no exec; the launcher waits for the app as a child
// and passes on its exit code.
//
// The child inherits no handle of the launcher's own files (the log, the
// lock): Go opens files non-inheritable, and os/exec hands the child an
// explicit list holding only its three standard handles.
const canExec = false

func execApp(string, []string, []string) error { return syscall.EWINDOWS }

// configureChild decides which console the app gets (launcher.json
// "console"). The launcher is built for the GUI subsystem (-H=windowsgui),
// so Windows never gives it a console window of its own.
//
// console false (GUI apps): the app gets no console window. A GUI app is
// not affected; a console app runs hidden, writing to the standard handles
// the launcher was given, if any.
//
// console true (console apps): the app shares the console of the terminal
// the launcher was started from (the launcher attaches to it). Started from
// Explorer or a shortcut there is none, so the launcher makes one: the app
// gets its window, as console apps started from Explorer do. Standard
// handles the caller redirected (pipes, files) stay the app's; without a
// console to attach to and with all three redirected (a script or a
// service capturing the output), no window is made.
func configureChild(cmd *exec.Cmd, shareConsole bool) {
	shortenPaths(cmd)
	if cmd.Dir != "" {
		// The app does not start in a version folder (see runChild), and
		// neither stays the launcher, which waits for it, maybe for hours:
		// a working directory keeps a folder from being removed.
		os.Chdir(cmd.Dir)
	}
	if !shareConsole {
		cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NO_WINDOW}
		return
	}
	missing := missingStdHandles()
	if attachParentConsole() {
		fillStdHandles(cmd, missing)
		return
	}
	if !missing.any() {
		cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NO_WINDOW}
		return
	}
	if err := allocConsole(); err == nil {
		fillStdHandles(cmd, missing)
	}
}

// forwardSignals ignores Ctrl+C in the launcher: the app shares the console
// and receives it itself; the launcher waits for the app's exit code.
// stop tells whether Ctrl+C was pressed while the app ran: the app got it
// too, so its exit is the user's doing.
func forwardSignals(*os.Process) (stop func() (forwarded bool)) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	return func() bool {
		signal.Stop(ch)
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
}

// exitCode is the app's exit code in full: Windows exit codes are 32 bits
// (a crash is 0xC0000005), and os.Exit passes them on unchanged.
func exitCode(err *exec.ExitError) int { return err.ExitCode() }

// stdHandles records which standard handles the launcher was started
// without: a GUI-subsystem program started from Explorer, or from a
// terminal without redirection, has none.
type stdHandles struct{ in, out, err bool }

func (s stdHandles) any() bool { return s.in || s.out || s.err }

func missingStdHandles() stdHandles {
	missing := func(which uint32) bool {
		h, err := windows.GetStdHandle(which)
		return err != nil || h == 0 || h == windows.InvalidHandle
	}
	return stdHandles{
		in:  missing(windows.STD_INPUT_HANDLE),
		out: missing(windows.STD_OUTPUT_HANDLE),
		err: missing(windows.STD_ERROR_HANDLE),
	}
}

// fillStdHandles gives the app the console's input and output for the
// standard handles the launcher had none of.
func fillStdHandles(cmd *exec.Cmd, missing stdHandles) {
	if missing.in {
		if f, err := os.OpenFile("CONIN$", os.O_RDWR, 0); err == nil {
			cmd.Stdin = f
		}
	}
	if missing.out || missing.err {
		f, err := os.OpenFile("CONOUT$", os.O_RDWR, 0)
		if err != nil {
			return
		}
		if missing.out {
			cmd.Stdout = f
		}
		if missing.err {
			cmd.Stderr = f
		}
	}
}

var (
	kernel32          = windows.NewLazySystemDLL("kernel32.dll")
	procAttachConsole = kernel32.NewProc("AttachConsole")
	procAllocConsole  = kernel32.NewProc("AllocConsole")
)

// attachParentConsole attaches the launcher to the console of the process
// that started it, and reports whether the launcher now has a console
// (also when it had one already: a console-subsystem build).
func attachParentConsole() bool {
	const attachParentProcess = ^uintptr(0) // ATTACH_PARENT_PROCESS, (DWORD)-1
	if err := procAttachConsole.Find(); err != nil {
		return false
	}
	ok, _, err := procAttachConsole.Call(attachParentProcess)
	return ok != 0 || errors.Is(err, windows.ERROR_ACCESS_DENIED)
}

func allocConsole() error {
	if err := procAllocConsole.Find(); err != nil {
		return err
	}
	if ok, _, err := procAllocConsole.Call(); ok == 0 {
		return err
	}
	return nil
}

// shortenPaths makes a deep install startable. CreateProcess takes no
// program path of MAX_PATH (260) characters or more, and no working
// directory of 248 or more, long-path support or not; the short (8.3) names
// of the folders get there where the volume keeps them. Otherwise Start
// fails with an error that says so, rather than "file not found".
func shortenPaths(cmd *exec.Cmd) {
	const maxDir = windows.MAX_PATH - 12 // room for an 8.3 file name
	if len(cmd.Path) >= windows.MAX_PATH {
		short, err := shortPath(cmd.Path)
		if err != nil || len(short) >= windows.MAX_PATH {
			cmd.Err = fmt.Errorf("its path has %d characters, and Windows starts programs only from paths shorter than %d "+
				"(this volume keeps no short names to reach it): install the app in a shorter folder", len(cmd.Path), windows.MAX_PATH)
			return
		}
		cmd.Path = short
	}
	if len(cmd.Dir) >= maxDir {
		if short, err := shortPath(cmd.Dir); err == nil && len(short) < maxDir {
			cmd.Dir = short
		}
	}
}

// shortPath returns absolute path p with every component in its short
// (8.3) form where it has one.
func shortPath(p string) (string, error) {
	prefix, unc := `\\?\`, strings.HasPrefix(p, `\\`)
	if unc {
		prefix, p = `\\?\UNC\`, p[2:]
	}
	long, err := windows.UTF16PtrFromString(prefix + p)
	if err != nil {
		return "", err
	}
	buf := make([]uint16, 1024)
	n, err := windows.GetShortPathName(long, &buf[0], uint32(len(buf)))
	if err != nil {
		return "", err
	}
	if int(n) > len(buf) {
		return "", fmt.Errorf("short path of %s: too long", p)
	}
	short := strings.TrimPrefix(windows.UTF16ToString(buf[:n]), prefix)
	if unc {
		short = `\\` + short
	}
	return short, nil
}

// detach runs a background process without a console and outside the
// launcher's process group, so it outlives the launcher and Ctrl+C.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP}
}
