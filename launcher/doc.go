// Package launcher holds the use cases of an installed app's launcher: check
// for updates, plan the cheapest verified way to the newest release, apply it
// side by side, flip the current pointer, start the app, roll back, clean up.
// It is also the Go API an app can call for an in-app "check for updates".
package launcher
