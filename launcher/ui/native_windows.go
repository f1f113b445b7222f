package ui

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// native on Windows: a small Win32 window with the common-controls
// progress bar, and a message box for failures. launcher.exe embeds a
// manifest (cmd/launcher/rsrc_windows_*.syso, scripts/winres.sh) that asks
// for Common Controls 6, so the controls look native, and declares the
// process DPI-aware; the layout below scales with the screen's DPI.
func native() backend { return win32{} }

type win32 struct{}

var (
	user32   = windows.NewLazySystemDLL("user32.dll")
	gdi32    = windows.NewLazySystemDLL("gdi32.dll")
	comctl32 = windows.NewLazySystemDLL("comctl32.dll")
	kernel32 = windows.NewLazySystemDLL("kernel32.dll")

	pRegisterClassExW     = user32.NewProc("RegisterClassExW")
	pCreateWindowExW      = user32.NewProc("CreateWindowExW")
	pDefWindowProcW       = user32.NewProc("DefWindowProcW")
	pDestroyWindow        = user32.NewProc("DestroyWindow")
	pShowWindow           = user32.NewProc("ShowWindow")
	pGetMessageW          = user32.NewProc("GetMessageW")
	pIsDialogMessageW     = user32.NewProc("IsDialogMessageW")
	pTranslateMessage     = user32.NewProc("TranslateMessage")
	pDispatchMessageW     = user32.NewProc("DispatchMessageW")
	pPostMessageW         = user32.NewProc("PostMessageW")
	pSendMessageW         = user32.NewProc("SendMessageW")
	pPostQuitMessage      = user32.NewProc("PostQuitMessage")
	pSetWindowTextW       = user32.NewProc("SetWindowTextW")
	pSetFocus             = user32.NewProc("SetFocus")
	pSetForegroundWindow  = user32.NewProc("SetForegroundWindow")
	pGetSystemMetrics     = user32.NewProc("GetSystemMetrics")
	pAdjustWindowRectEx   = user32.NewProc("AdjustWindowRectEx")
	pLoadCursorW          = user32.NewProc("LoadCursorW")
	pGetDC                = user32.NewProc("GetDC")
	pReleaseDC            = user32.NewProc("ReleaseDC")
	pSystemParametersInfo = user32.NewProc("SystemParametersInfoW")
	pMessageBoxW          = user32.NewProc("MessageBoxW")
	pGetDeviceCaps        = gdi32.NewProc("GetDeviceCaps")
	pCreateFontIndirectW  = gdi32.NewProc("CreateFontIndirectW")
	pDeleteObject         = gdi32.NewProc("DeleteObject")
	pInitCommonControlsEx = comctl32.NewProc("InitCommonControlsEx")
	pGetModuleHandleW     = kernel32.NewProc("GetModuleHandleW")
)

const (
	wsOverlapped      = 0x00000000
	wsCaption         = 0x00C00000
	wsSysMenu         = 0x00080000
	wsMinimizeBox     = 0x00020000
	wsChild           = 0x40000000
	wsVisible         = 0x10000000
	wsTabStop         = 0x00010000
	bsDefPushButton   = 0x00000001
	ssLeft            = 0x00000000
	ssEndEllipsis     = 0x00004000
	wsExDlgModalFrame = 0x00000001

	wmDestroy              = 0x0002
	wmClose                = 0x0010
	wmSetFont              = 0x0030
	wmCommand              = 0x0111
	wmUser                 = 0x0400
	wmApp                  = 0x8000
	wmAppShow              = wmApp + 1
	wmAppClose             = wmApp + 2
	pbmSetPos              = wmUser + 2
	idCancel               = 2
	swShow                 = 5
	colorBtnFace           = 15
	idcArrow               = 32512
	logPixelsY             = 90
	smCxScreen             = 0
	smCyScreen             = 1
	spiGetNonClientMetrics = 0x0029

	mbRetryCancel   = 0x00000005
	mbIconError     = 0x00000010
	mbSetForeground = 0x00010000
	idRetry         = 4

	iccProgressClass   = 0x00000020
	iccStandardClasses = 0x00004000
)

type wndClassEx struct {
	size       uint32
	style      uint32
	wndProc    uintptr
	clsExtra   int32
	wndExtra   int32
	instance   windows.Handle
	icon       windows.Handle
	cursor     windows.Handle
	background windows.Handle
	menuName   *uint16
	className  *uint16
	iconSm     windows.Handle
}

type msg struct {
	hwnd    windows.HWND
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      struct{ x, y int32 }
	private uint32
}

type rect struct{ left, top, right, bottom int32 }

type logFont struct {
	height, width, escapement, orientation, weight       int32
	italic, underline, strikeOut, charSet                byte
	outPrecision, clipPrecision, quality, pitchAndFamily byte
	faceName                                             [32]uint16
}

type nonClientMetrics struct {
	size                                   uint32
	borderWidth, scrollWidth, scrollHeight int32
	captionWidth, captionHeight            int32
	captionFont                            logFont
	smCaptionWidth, smCaptionHeight        int32
	smCaptionFont                          logFont
	menuWidth, menuHeight                  int32
	menuFont, statusFont, messageFont      logFont
	paddedBorderWidth                      int32
}

// The window procedure is one callback for the process (Windows
// callbacks are a limited resource); it finds the window by its handle.
var (
	classOnce sync.Once
	classErr  error
	className = windows.StringToUTF16Ptr("TufupLauncherProgress")
	windowsMu sync.Mutex
	open      = map[windows.HWND]*winWindow{}
)

func registerClass() error {
	classOnce.Do(func() {
		icc := struct{ size, classes uint32 }{8, iccProgressClass | iccStandardClasses}
		pInitCommonControlsEx.Call(uintptr(unsafe.Pointer(&icc)))
		instance, _, _ := pGetModuleHandleW.Call(0)
		cursor, _, _ := pLoadCursorW.Call(0, idcArrow)
		wc := wndClassEx{
			wndProc:    windows.NewCallback(wndProc),
			instance:   windows.Handle(instance),
			cursor:     windows.Handle(cursor),
			background: colorBtnFace + 1,
			className:  className,
		}
		wc.size = uint32(unsafe.Sizeof(wc))
		if r, _, err := pRegisterClassExW.Call(uintptr(unsafe.Pointer(&wc))); r == 0 {
			classErr = fmt.Errorf("RegisterClassEx: %w", err)
		}
	})
	return classErr
}

// winWindow is the progress window. Its controls live on a goroutine
// locked to one OS thread (Win32 windows belong to their thread); other
// goroutines post it messages.
type winWindow struct {
	hwnd                 windows.HWND
	heading, detail, bar windows.HWND
	fonts                []uintptr
	gone                 chan struct{}

	mu   sync.Mutex
	next view // the view to show at the next wmAppShow
	last view
}

func (win32) open(v view) (window, error) {
	if err := registerClass(); err != nil {
		return nil, err
	}
	w := &winWindow{gone: make(chan struct{}), next: v}
	ready := make(chan error, 1)
	go w.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return w, nil
}

func (w *winWindow) loop(ready chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(w.gone)
	if err := w.create(); err != nil {
		ready <- err
		return
	}
	ready <- nil
	var m msg
	for {
		r, _, _ := pGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		if int32(r) <= 0 {
			break
		}
		// Tab, Enter and Escape work as in a dialog: Escape is Cancel.
		if r, _, _ := pIsDialogMessageW.Call(uintptr(w.hwnd), uintptr(unsafe.Pointer(&m))); r != 0 {
			continue
		}
		pTranslateMessage.Call(uintptr(unsafe.Pointer(&m)))
		pDispatchMessageW.Call(uintptr(unsafe.Pointer(&m)))
	}
	for _, f := range w.fonts {
		pDeleteObject.Call(f)
	}
}

// create lays out the window in units of 1/96 inch, scaled to the DPI.
func (w *winWindow) create() error {
	dpi := int32(96)
	if dc, _, _ := pGetDC.Call(0); dc != 0 {
		if d, _, _ := pGetDeviceCaps.Call(dc, logPixelsY); d > 0 {
			dpi = int32(d)
		}
		pReleaseDC.Call(0, dc)
	}
	px := func(n int32) int32 { return n * dpi / 96 }
	const width, height, margin = 460, 132, 16

	style := uint32(wsOverlapped | wsCaption | wsSysMenu | wsMinimizeBox)
	r := rect{0, 0, px(width), px(height)}
	pAdjustWindowRectEx.Call(uintptr(unsafe.Pointer(&r)), uintptr(style), 0, wsExDlgModalFrame)
	ow, oh := r.right-r.left, r.bottom-r.top
	sw, _, _ := pGetSystemMetrics.Call(smCxScreen)
	sh, _, _ := pGetSystemMetrics.Call(smCyScreen)
	v := w.next
	hwnd, _, err := pCreateWindowExW.Call(wsExDlgModalFrame, uintptr(unsafe.Pointer(className)), uintptr(unsafe.Pointer(utf16(v.Title))),
		uintptr(style), uintptr((int32(sw)-ow)/2), uintptr((int32(sh)-oh)/2), uintptr(ow), uintptr(oh), 0, 0, 0, 0)
	if hwnd == 0 {
		return fmt.Errorf("CreateWindowEx: %w", err)
	}
	w.hwnd = windows.HWND(hwnd)
	windowsMu.Lock()
	open[w.hwnd] = w
	windowsMu.Unlock()

	child := func(class, text string, style uint32, x, y, cx, cy int32, id uintptr) windows.HWND {
		h, _, _ := pCreateWindowExW.Call(0, uintptr(unsafe.Pointer(utf16(class))), uintptr(unsafe.Pointer(utf16(text))),
			uintptr(wsChild|wsVisible|style), uintptr(px(x)), uintptr(px(y)), uintptr(px(cx)), uintptr(px(cy)), hwnd, id, 0, 0)
		return windows.HWND(h)
	}
	w.heading = child("STATIC", v.Heading, ssLeft|ssEndEllipsis, margin, margin, width-2*margin, 20, 0)
	w.bar = child("msctls_progress32", "", 0, margin, margin+28, width-2*margin, 18, 0)
	w.detail = child("STATIC", v.Detail, ssLeft|ssEndEllipsis, margin, margin+54, width-2*margin, 20, 0)
	cancel := child("BUTTON", "Cancel", wsTabStop|bsDefPushButton, width-margin-96, height-margin-28, 96, 28, idCancel)

	// The system's message font, and a bold one for the heading.
	ncm := nonClientMetrics{}
	ncm.size = uint32(unsafe.Sizeof(ncm))
	if ok, _, _ := pSystemParametersInfo.Call(spiGetNonClientMetrics, uintptr(ncm.size), uintptr(unsafe.Pointer(&ncm)), 0); ok != 0 {
		normal, _, _ := pCreateFontIndirectW.Call(uintptr(unsafe.Pointer(&ncm.messageFont)))
		bold := ncm.messageFont
		bold.weight = 700
		strong, _, _ := pCreateFontIndirectW.Call(uintptr(unsafe.Pointer(&bold)))
		w.fonts = append(w.fonts, normal, strong)
		for _, c := range []windows.HWND{w.detail, cancel} {
			pSendMessageW.Call(uintptr(c), wmSetFont, normal, 1)
		}
		pSendMessageW.Call(uintptr(w.heading), wmSetFont, strong, 1)
	}
	w.apply(v)
	pShowWindow.Call(hwnd, swShow)
	pSetForegroundWindow.Call(hwnd)
	pSetFocus.Call(uintptr(cancel))
	return nil
}

// apply shows v; it runs on the window's thread.
func (w *winWindow) apply(v view) {
	if v.Title != w.last.Title {
		pSetWindowTextW.Call(uintptr(w.hwnd), uintptr(unsafe.Pointer(utf16(v.Title))))
	}
	if v.Heading != w.last.Heading {
		pSetWindowTextW.Call(uintptr(w.heading), uintptr(unsafe.Pointer(utf16(v.Heading))))
	}
	if v.Detail != w.last.Detail {
		pSetWindowTextW.Call(uintptr(w.detail), uintptr(unsafe.Pointer(utf16(v.Detail))))
	}
	pSendMessageW.Call(uintptr(w.bar), pbmSetPos, uintptr(v.Percent), 0)
	w.last = v
}

func (w *winWindow) show(v view) {
	w.mu.Lock()
	w.next = v
	w.mu.Unlock()
	pPostMessageW.Call(uintptr(w.hwnd), wmAppShow, 0, 0)
}

func (w *winWindow) canceled() <-chan struct{} { return w.gone }

func (w *winWindow) close() {
	pPostMessageW.Call(uintptr(w.hwnd), wmAppClose, 0, 0)
	<-w.gone
}

func wndProc(hwnd, message, wParam, lParam uintptr) uintptr {
	windowsMu.Lock()
	w := open[windows.HWND(hwnd)]
	windowsMu.Unlock()
	if w != nil {
		switch message {
		case wmAppShow:
			w.mu.Lock()
			v := w.next
			w.mu.Unlock()
			w.apply(v)
			return 0
		case wmCommand:
			if wParam&0xffff == idCancel {
				pDestroyWindow.Call(hwnd)
			}
			return 0
		case wmClose, wmAppClose:
			pDestroyWindow.Call(hwnd)
			return 0
		case wmDestroy:
			windowsMu.Lock()
			delete(open, w.hwnd)
			windowsMu.Unlock()
			pPostQuitMessage.Call(0)
			return 0
		}
	}
	r, _, _ := pDefWindowProcW.Call(hwnd, message, wParam, lParam)
	return r
}

func (win32) fail(f Failure) (bool, error) {
	r, _, err := pMessageBoxW.Call(0, uintptr(unsafe.Pointer(utf16(f.Text()))), uintptr(unsafe.Pointer(utf16(f.Title))),
		mbRetryCancel|mbIconError|mbSetForeground)
	if r == 0 {
		return false, fmt.Errorf("MessageBox: %w", err)
	}
	return r == idRetry, nil
}

// utf16 converts text for Win32, which ends strings at a NUL (our texts
// have none; one would only cut the text short).
func utf16(s string) *uint16 {
	s, _, _ = strings.Cut(s, "\x00")
	return windows.StringToUTF16Ptr(s)
}
