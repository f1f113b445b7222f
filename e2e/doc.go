// Package e2e holds the end-to-end tests: they build the real launcher,
// tufup-repo and a sample app, publish releases, serve them over HTTP on
// 127.0.0.1 and run the launcher binary as a user's shortcut would.
package e2e
