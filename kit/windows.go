package kit

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
)

// windows writes <Name>-<version>-windows-<arch>-Setup.exe, a per-user
// installer made with NSIS, and a portable zip of the same folder.
func (k *pkg) windows(ctx context.Context) ([]string, error) {
	exe := k.o.Name + ".exe"
	// Per-user: the install folder is the user's, so versions may live
	// next to the launcher; launcher.json's data_dir is kept as given.
	files, err := k.base(exe, "")
	if err != nil {
		return nil, err
	}
	icon := ""
	if k.icon != "" {
		icon = k.o.Name + ".ico"
		files.addFile(icon, 0o644, k.icon)
	}
	setup, err := k.nsis(ctx, files, exe, icon)
	if err != nil {
		return nil, err
	}
	zip, err := k.write(k.fileName(k.o.Name, ".zip"), func(w io.Writer) error {
		return writeZip(w, files.withPrefix(k.o.Name), os.ReadFile)
	})
	if err != nil {
		return nil, err
	}
	return []string{setup, zip}, nil
}

// nsis stages the files with fixed times and runs makensis on the
// installer script.
func (k *pkg) nsis(ctx context.Context, files tree, exe, icon string) (string, error) {
	makensis := k.o.MakeNSIS
	if makensis == "" {
		makensis = "makensis"
	}
	bin, err := exec.LookPath(makensis)
	if err != nil {
		return "", fmt.Errorf("Setup.exe for %s needs NSIS's makensis, not found (%w): install it (Debian/Ubuntu: apt-get install nsis; macOS: brew install makensis; Windows: nsis.sourceforge.io)", k.p, err)
	}
	tmp, err := os.MkdirTemp("", "tufup-kit-nsis-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	stage := filepath.Join(tmp, "files")
	if err := stageTree(stage, files); err != nil {
		return "", err
	}
	name := k.fileName(k.o.Name, "-Setup.exe")
	out := filepath.Join(tmp, name)
	dataDir, err := k.windowsDataDir()
	if err != nil {
		return "", err
	}
	script := filepath.Join(tmp, "setup.nsi")
	f, err := os.Create(script)
	if err != nil {
		return "", err
	}
	err = nsisScript.Execute(f, map[string]any{
		"Name": k.o.Name, "Exe": exe, "ID": k.o.ID, "IDLen": len(k.o.ID) + 1, "Publisher": k.o.Publisher,
		"Version": k.version, "Stage": nsisPath(stage), "Out": nsisPath(out), "Icon": icon,
		"IconPath": nsisPath(filepath.Join(stage, icon)), "IconFile": cmp.Or(icon, exe), "DataDir": dataDir,
		"Amd64": k.p.Arch == "amd64" || k.p.Arch == "arm64",
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "-V2", "-INPUTCHARSET", "UTF8", script)
	cmd.Dir = tmp
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("makensis for %s: %w\n%s", k.p, err, b)
	}
	return k.write(name, func(w io.Writer) error {
		f, err := os.Open(out)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
}

// windowsDataDir returns the folder under %LOCALAPPDATA% that launcher.json's
// data_dir names ("{userdata}/X" gives "X"), for the uninstaller to remove;
// "" when versions live next to the launcher (in the install folder).
func (k *pkg) windowsDataDir() (string, error) {
	var cfg struct {
		DataDir string `json:"data_dir"`
	}
	if err := json.Unmarshal(k.o.Config, &cfg); err != nil {
		return "", err
	}
	rest, ok := strings.CutPrefix(cfg.DataDir, "{userdata}/")
	if !ok || rest == "" {
		return "", nil
	}
	if strings.ContainsAny(rest, `"$`+"`") || strings.Contains(rest, "..") {
		return "", errors.New("launcher.json data_dir: the uninstaller cannot remove a folder named with quotes, $ or ..")
	}
	return strings.ReplaceAll(rest, "/", `\`), nil
}

// stageTree writes the files under dir with fixed times, which NSIS
// stores in the installer.
func stageTree(dir string, t tree) error {
	dirs, files := t.sorted()
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		data, err := f.open(os.ReadFile)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, data, f.mode.Perm()); err != nil {
			return err
		}
		if err := os.Chtimes(path, epoch, epoch); err != nil {
			return err
		}
	}
	for _, d := range append(dirs, ".") {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(d)), epoch, epoch); err != nil {
			return err
		}
	}
	return nil
}

// nsisPath quotes a path for an NSIS string: "$" is NSIS's variable sign.
func nsisPath(p string) string { return strings.ReplaceAll(p, "$", "$$") }

// nsisScript is the installer: per user (no admin rights), into
// %LOCALAPPDATA%\Programs\<Name>; Start-menu shortcut (and a desktop one,
// optional: the components page, or /DESKTOP in silent mode) carrying the
// AppUserModelID; an uninstaller registered under HKCU; the app started
// when done unless /NOSTART. The AppUserModelID is set through the
// shortcut's IPropertyStore with NSIS's System plugin (stock NSIS has no
// command for it).
var nsisScript = template.Must(template.New("setup.nsi").Parse(`Unicode true
ManifestDPIAware true
RequestExecutionLevel user
SetCompressor /SOLID lzma
{{if .Amd64}}Target amd64-unicode
{{end}}!include "FileFunc.nsh"
!include "LogicLib.nsh"
!include "Sections.nsh"

!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\{{.ID}}"
Name "{{.Name}}"
OutFile "{{.Out}}"
InstallDir "$LOCALAPPDATA\Programs\{{.Name}}"
{{if .Icon}}Icon "{{.IconPath}}"
UninstallIcon "{{.IconPath}}"
{{end}}ShowInstDetails nevershow
ShowUninstDetails nevershow

Page components
Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Section "-Install"
  SetOutPath "$INSTDIR"
  File /r "{{.Stage}}\*"
  WriteUninstaller "$INSTDIR\Uninstall.exe"
  CreateShortCut "$SMPROGRAMS\{{.Name}}.lnk" "$INSTDIR\{{.Exe}}" "" "$INSTDIR\{{.IconFile}}" 0
  Push "$SMPROGRAMS\{{.Name}}.lnk"
  Call SetAppUserModelID
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayName" "{{.Name}}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayVersion" "{{.Version}}"
  WriteRegStr HKCU "${UNINSTKEY}" "Publisher" "{{.Publisher}}"
  WriteRegStr HKCU "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\{{.IconFile}}"
  WriteRegStr HKCU "${UNINSTKEY}" "UninstallString" '"$INSTDIR\Uninstall.exe"'
  WriteRegStr HKCU "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\Uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINSTKEY}" "EstimatedSize" $0
SectionEnd

Section /o "Desktop shortcut" SecDesktop
  SetOutPath "$INSTDIR"
  CreateShortCut "$DESKTOP\{{.Name}}.lnk" "$INSTDIR\{{.Exe}}" "" "$INSTDIR\{{.IconFile}}" 0
  Push "$DESKTOP\{{.Name}}.lnk"
  Call SetAppUserModelID
SectionEnd

Function .onInit
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/DESKTOP" $1
  ${IfNot} ${Errors}
    !insertmacro SelectSection ${SecDesktop}
  ${EndIf}
FunctionEnd

Function .onInstSuccess
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/NOSTART" $1
  ${If} ${Errors}
    SetOutPath "$INSTDIR"
    Exec '"$INSTDIR\{{.Exe}}"'
  ${EndIf}
FunctionEnd

; SetAppUserModelID sets System.AppUserModel.ID on the shortcut whose path
; is on the stack: IPersistFile::Load, IPropertyStore::SetValue and Commit,
; IPersistFile::Save.
Function SetAppUserModelID
  Exch $0
  Push $1
  Push $2
  Push $3
  Push $4
  Push $5
  Push $6
  System::Call 'ole32::CoCreateInstance(g "{00021401-0000-0000-C000-000000000046}", p 0, i 1, g "{0000010b-0000-0000-C000-000000000046}", *p .r1) i .r2'
  ${If} $2 = 0
    System::Call '$1->5(w r0, i 2) i .r2'
    System::Call '$1->0(g "{886D8EEB-8CF2-4446-8D02-CDBA1DBDCF99}", *p .r3) i .r2'
    ${If} $2 = 0
      System::Call '*(&g16 "{9F4C2855-9F79-4B39-A8D0-E1D42DE1D5F3}", i 5) p .r4'
      System::Call '*(&w{{.IDLen}} "{{.ID}}") p .r5'
      System::Call '*(i 31, i 0, p r5, i 0) p .r6'
      System::Call '$3->6(p r4, p r6) i .r2'
      System::Call '$3->7() i .r2'
      System::Call '$3->2()'
      System::Call '$1->6(p 0, i 1) i .r2'
      System::Free $4
      System::Free $5
      System::Free $6
    ${EndIf}
    System::Call '$1->2()'
  ${EndIf}
  Pop $6
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $1
  Pop $0
FunctionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\{{.Name}}.lnk"
  Delete "$DESKTOP\{{.Name}}.lnk"
  DeleteRegKey HKCU "${UNINSTKEY}"
  RMDir /r "$INSTDIR"
{{if .DataDir}}  RMDir /r "$LOCALAPPDATA\{{.DataDir}}"
{{end}}SectionEnd
`))
