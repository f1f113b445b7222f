// Command hello is the app of the worked example in docs/examples/hello: a
// small program shipped with the launcher. It shows what an app gets from
// the launcher and how it can use it: its version and install folder from
// the environment, an in-app "check for updates" that runs the launcher,
// and, on Windows, the AppUserModelID that keeps taskbar pins working
// across updates.
//
//	hello           print the version and where it runs from
//	hello update    install the newest release now (restart to use it)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
)

// version is set at build time: go build -ldflags "-X main.version=1.0.0".
var version = "dev"

// appID is the app's AppUserModelID on Windows. The shortcut that starts
// the launcher carries the same ID (System.AppUserModel.ID), so Windows
// groups the running app under the pinned shortcut whatever folder the
// running version lives in.
const appID = "Example.Hello"

func main() {
	if err := setAppUserModelID(appID); err != nil {
		fmt.Fprintln(os.Stderr, "hello: cannot set the AppUserModelID:", err)
	}
	fmt.Printf("hello %s (TUFUP_VERSION=%s)\n", version, os.Getenv("TUFUP_VERSION"))
	fmt.Printf("installed in %s\n", os.Getenv("TUFUP_INSTALL_DIR"))
	if len(os.Args) > 1 && os.Args[1] == "update" {
		if err := update(); err != nil {
			fmt.Fprintln(os.Stderr, "hello: update failed:", err)
			os.Exit(1)
		}
	}
}

// update asks the launcher that started this app to install the newest
// release now, then tells whether a restart would start a newer version.
func update() error {
	launcher := os.Getenv("TUFUP_LAUNCHER")
	if launcher == "" {
		return fmt.Errorf("not started by the launcher (TUFUP_LAUNCHER is not set)")
	}
	cmd := exec.Command(launcher, "--update-only")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s --update-only: %w", launcher, err)
	}
	out, err := exec.Command(launcher, "--status", "--json").Output()
	if err != nil {
		return fmt.Errorf("%s --status --json: %w", launcher, err)
	}
	var status struct {
		Current string `json:"current"`
	}
	if err := json.Unmarshal(out, &status); err != nil {
		return fmt.Errorf("%s --status --json: %w", launcher, err)
	}
	if status.Current != os.Getenv("TUFUP_VERSION") {
		fmt.Printf("version %s is installed; restart hello to use it\n", status.Current)
	} else {
		fmt.Println("hello is up to date")
	}
	return nil
}
