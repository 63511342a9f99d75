package registrytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// laterVersion is listed by the registry but never downloadable.
const laterVersion = "99.0.0"

// registry is a Terraform registry on loopback over HTTPS: service
// discovery, the module registry protocol for the package and the provider
// registry protocol for the release, the files under /files/.
type registry struct {
	server *httptest.Server
	caFile string

	mu       sync.Mutex
	files    map[string][]byte
	requests []string
}

func startRegistry(t *testing.T, version string, r *release, pkg []byte) *registry {
	t.Helper()
	reg := &registry{files: map[string][]byte{}}
	for name, data := range r.files {
		reg.files[name] = data
	}
	pkgName := "terraform-mcpai-stack-" + version + ".tar.gz"
	reg.files[pkgName] = pkg

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/terraform.json", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"modules.v1": "/v1/modules/", "providers.v1": "/v1/providers/"})
	})
	module := "/v1/modules/" + moduleAddress
	mux.HandleFunc("GET "+module+"/versions", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"modules": []any{map[string]any{"versions": []any{
			map[string]string{"version": version}, map[string]string{"version": laterVersion},
		}}}})
	})
	mux.HandleFunc("GET "+module+"/"+version+"/download", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Terraform-Get", reg.server.URL+"/files/"+pkgName)
		w.WriteHeader(http.StatusNoContent)
	})
	provider := "/v1/providers/" + providerAddress
	mux.HandleFunc("GET "+provider+"/versions", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"versions": []any{map[string]any{
			"version": version, "protocols": r.protocols,
			"platforms": []any{map[string]string{"os": r.os, "arch": r.arch}},
		}}})
	})
	mux.HandleFunc("GET "+provider+"/"+version+"/download/"+r.os+"/"+r.arch, func(w http.ResponseWriter, _ *http.Request) {
		files := reg.server.URL + "/files/"
		writeJSON(w, map[string]any{
			"protocols": r.protocols, "os": r.os, "arch": r.arch,
			"filename":              r.zip,
			"download_url":          files + r.zip,
			"shasums_url":           files + r.sums,
			"shasums_signature_url": files + r.signature,
			"shasum":                r.zipSHA256,
			"signing_keys": map[string]any{"gpg_public_keys": []any{map[string]string{
				"key_id": r.key.PrimaryKey.KeyIdString(), "ascii_armor": r.armoredKey,
			}}},
		})
	})
	mux.HandleFunc("GET /files/{name}", func(w http.ResponseWriter, req *http.Request) {
		reg.mu.Lock()
		data, ok := reg.files[req.PathValue("name")]
		reg.mu.Unlock()
		if !ok {
			http.NotFound(w, req)
			return
		}
		http.ServeContent(w, req, req.PathValue("name"), time.Time{}, bytes.NewReader(data))
	})

	reg.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, pattern := mux.Handler(req)
		entry := req.Method + " " + req.URL.Path
		if pattern == "" {
			entry = "unknown " + entry
		}
		reg.mu.Lock()
		reg.requests = append(reg.requests, entry)
		reg.mu.Unlock()
		mux.ServeHTTP(w, req)
	}))
	cert, caPEM := loopbackCertificate(t)
	reg.server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	reg.server.StartTLS()
	t.Cleanup(reg.server.Close)
	reg.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(reg.caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return reg
}

func (reg *registry) setFile(name string, data []byte) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.files[name] = data
}

func (reg *registry) log() []string {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return slices.Clone(reg.requests)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// loopbackCertificate is a server certificate for 127.0.0.1 and the PEM of
// the CA that issued it, both made for this test.
func loopbackCertificate(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mcpai registry test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// proxyTrap is an HTTP proxy that refuses everything and remembers what
// it was asked for.
type proxyTrap struct {
	server *httptest.Server
	mu     sync.Mutex
	seen   []string
}

func startProxyTrap(t *testing.T) *proxyTrap {
	t.Helper()
	p := &proxyTrap{}
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, req.Method+" "+req.Host)
		p.mu.Unlock()
		http.Error(w, "this test reaches nothing beyond loopback", http.StatusForbidden)
	}))
	t.Cleanup(p.server.Close)
	return p
}

// take returns what the proxy was asked for since the last take.
func (p *proxyTrap) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := p.seen
	p.seen = nil
	return seen
}

// connectionCounter is a TCP listener on loopback that counts the
// connections made to it and closes them.
type connectionCounter struct {
	listener net.Listener
	mu       sync.Mutex
	n        int
}

func startConnectionCounter(t *testing.T) *connectionCounter {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connectionCounter{listener: l}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.n++
			c.mu.Unlock()
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() { _ = l.Close() })
	return c
}

func (c *connectionCounter) port() int { return c.listener.Addr().(*net.TCPAddr).Port }

func (c *connectionCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// sshKeys returns a client key (OpenSSH PEM) and a host key (authorized_keys
// form) made for this test: a configuration must name both, though the
// plan uses neither.
func sshKeys(t *testing.T) (privateKey, hostKey string) {
	t.Helper()
	_, client, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(client, "")
	if err != nil {
		t.Fatal(err)
	}
	hostPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(hostPub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}
