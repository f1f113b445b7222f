// Package layout is the install directory on disk: where versions, state and
// caches live, the atomically replaced "current" pointer, the version store,
// the updater lock and the state file. It knows nothing about networks or TUF.
package layout
