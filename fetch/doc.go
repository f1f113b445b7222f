// Package fetch talks to the update server: it refreshes TUF metadata with
// go-tuf v2 through its own HTTP fetcher (timeouts, bounded retries, proxies,
// extra headers, file:// repositories) and downloads targets streamed,
// verified and resumable, never holding a whole target in memory.
package fetch
