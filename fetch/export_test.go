package fetch

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
)

// TrustForTest makes c trust the certificates in pool for https (a test
// server's), instead of the system's.
func TrustForTest(c *Client, pool *x509.CertPool) {
	c.t.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
}
