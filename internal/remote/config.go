// Package remote is the SSH transport: pooled connections, argv-quoted
// commands, atomic file writes, tunnels and per-host locks. It knows nothing
// of Terraform.
package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// DefaultTimeout bounds a dial (TCP connect plus handshake) when the
// configuration names none.
const DefaultTimeout = 30 * time.Second

// Endpoint is one SSH server with the credentials to log in to it.
type Endpoint struct {
	Host                 string
	Port                 int
	User                 string
	PrivateKey           string
	PrivateKeyPassphrase string
	Password             string
	// Agent uses the agent at SSH_AUTH_SOCK.
	Agent bool
	// KnownHosts is the content of a known_hosts file.
	KnownHosts string
	// HostKey is one pinned public key in authorized_keys format.
	HostKey               string
	InsecureIgnoreHostKey bool
}

// Config describes how to reach a host: the target, an optional bastion, and
// how to run privileged steps.
type Config struct {
	Endpoint
	Bastion *Endpoint
	// Sudo wraps every command in `sudo -n --`.
	Sudo    bool
	Timeout time.Duration
}

// Address is host:port, bracketing IPv6 literals.
func (e Endpoint) Address() string {
	return net.JoinHostPort(e.Host, strconv.Itoa(e.portOrDefault()))
}

func (e Endpoint) portOrDefault() int {
	if e.Port == 0 {
		return 22
	}
	return e.Port
}

func (e Endpoint) userOrDefault() string {
	if e.User == "" {
		return "root"
	}
	return e.User
}

// poolKey identifies one pooled connection: the same target reached through
// the same bastion as the same user shares a connection.
func (c Config) poolKey() string {
	k := c.userOrDefault() + "@" + c.Address()
	if c.Bastion != nil {
		k += " via " + c.Bastion.userOrDefault() + "@" + c.Bastion.Address()
	}
	return k
}

// String names the target for messages; it never holds secrets.
func (c Config) String() string { return c.poolKey() }

// GoString keeps %#v from printing the credentials.
func (c Config) GoString() string { return "remote.Config(" + c.String() + ")" }

// String names the endpoint as user@host:port: %v or %+v of an Endpoint (or
// of a Config's Bastion) would otherwise print its key and password.
func (e Endpoint) String() string { return e.userOrDefault() + "@" + e.Address() }

// GoString keeps %#v from printing the credentials.
func (e Endpoint) GoString() string { return "remote.Endpoint(" + e.String() + ")" }

func (c Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// ErrNoHostKey is returned when host key verification is on and no key
// material was given.
var ErrNoHostKey = errors.New("no host key to verify the server against: set known_hosts (the content of a known_hosts file) or host_key (the server's public key, e.g. the output of `ssh-keyscan -t ed25519 HOST` without the host name), or set insecure_ignore_host_key = true to skip verification")

// clientConfig builds the x/crypto/ssh configuration for one endpoint.
// The returned cleanup closes an agent connection if one was opened.
func (e Endpoint) clientConfig(timeout time.Duration) (*ssh.ClientConfig, func(), error) {
	cc, cleanup, err := e.buildClientConfig(timeout)
	if err != nil {
		return nil, cleanup, &ConfigError{Err: err}
	}
	return cc, cleanup, nil
}

func (e Endpoint) buildClientConfig(timeout time.Duration) (*ssh.ClientConfig, func(), error) {
	cleanup := func() {}
	hostKeyCallback, algorithms, err := e.hostKeyCallback()
	if err != nil {
		return nil, cleanup, err
	}
	var auth []ssh.AuthMethod
	if e.PrivateKey != "" {
		signer, err := parsePrivateKey(e.PrivateKey, e.PrivateKeyPassphrase)
		if err != nil {
			return nil, cleanup, err
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if e.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, cleanup, errors.New("agent = true but SSH_AUTH_SOCK is not set: start an SSH agent or give private_key")
		}
		conn, err := net.Dial("unix", sock) //nolint:gosec // the user's own agent socket, by design
		if err != nil {
			return nil, cleanup, fmt.Errorf("connecting to the SSH agent at SSH_AUTH_SOCK: %w", err)
		}
		cleanup = func() { _ = conn.Close() }
		auth = append(auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	if e.Password != "" {
		auth = append(auth, ssh.Password(e.Password))
	}
	if len(auth) == 0 {
		return nil, cleanup, errors.New("no credentials: set private_key, password or agent = true")
	}
	return &ssh.ClientConfig{
		User:              e.userOrDefault(),
		Auth:              auth,
		HostKeyCallback:   hostKeyCallback,
		HostKeyAlgorithms: algorithms(e.Address()),
		Timeout:           timeout,
	}, cleanup, nil
}

func parsePrivateKey(pemText, passphrase string) (ssh.Signer, error) {
	var signer ssh.Signer
	var err error
	if passphrase != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(pemText), []byte(passphrase))
	} else {
		signer, err = ssh.ParsePrivateKey([]byte(pemText))
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, errors.New("private_key is encrypted: set private_key_passphrase")
	case errors.Is(err, x509.IncorrectPasswordError): //nolint:staticcheck // still what x/crypto/ssh returns

		return nil, errors.New("private_key_passphrase does not decrypt private_key")
	case err != nil:
		// The parser's message never quotes key material.
		return nil, fmt.Errorf("private_key is not a usable private key (PEM or OpenSSH format expected): %w", err)
	}
	return signer, nil
}

// hostKeyCallback verifies the server's key. Its companion lists the host
// key algorithms to ask for: a server offers its preferred key type (often
// ECDSA) unless the client names the type it can verify, so a pinned ed25519
// key would otherwise be "wrong" for a perfectly good server.
func (e Endpoint) hostKeyCallback() (ssh.HostKeyCallback, func(address string) []string, error) {
	none := func(string) []string { return nil }
	switch {
	case e.HostKey != "":
		key, err := ParseHostKey(e.HostKey)
		if err != nil {
			return nil, nil, err
		}
		return pinnedKeyCallback(key), func(string) []string { return algorithmsFor([]ssh.PublicKey{key}) }, nil
	case e.KnownHosts != "":
		return knownHostsCallback(e.KnownHosts)
	case e.InsecureIgnoreHostKey:
		return ssh.InsecureIgnoreHostKey(), none, nil //nolint:gosec // explicit user opt-out, warned about at plan time
	default:
		return nil, nil, ErrNoHostKey
	}
}

// algorithmsFor lists the signature algorithms that verify keys of these
// types, RSA's SHA-2 variants first.
func algorithmsFor(keys []ssh.PublicKey) []string {
	var algos []string
	seen := map[string]bool{}
	for _, k := range keys {
		names := []string{k.Type()}
		if k.Type() == ssh.KeyAlgoRSA {
			names = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	return algos
}

// ParseHostKey accepts a public key in authorized_keys format, optionally
// preceded by host names as in a known_hosts line.
func ParseHostKey(text string) (ssh.PublicKey, error) {
	text = strings.TrimSpace(text)
	if key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(text)); err == nil {
		return key, nil
	}
	if _, _, key, _, _, err := ssh.ParseKnownHosts([]byte(text)); err == nil {
		return key, nil
	}
	return nil, errors.New(`host_key is not a public key: expected "ssh-ed25519 AAAA..." (a line of ssh-keyscan output or of /etc/ssh/ssh_host_*_key.pub)`)
}

// HostKeyMismatchError says the server presented a key other than the one
// expected: either the host was reinstalled or someone is in the middle.
type HostKeyMismatchError struct {
	Address string
	Got     string // fingerprint
	Unknown bool   // the known_hosts content has no entry for this host
	Revoked bool   // the known_hosts content marks the key @revoked
}

func (e *HostKeyMismatchError) Error() string {
	if e.Revoked {
		return fmt.Sprintf("host %s offered key %s, which known_hosts marks @revoked: that key was retired or compromised and must not be trusted. "+
			"Ask the host's owner for its current key and put that in known_hosts or host_key; do not remove the @revoked line to get past this", e.Address, e.Got)
	}
	if e.Unknown {
		return fmt.Sprintf("host %s is not in known_hosts (it offered key %s): add its key to known_hosts or set host_key", e.Address, e.Got)
	}
	return fmt.Sprintf("host key verification failed for %s: it offered key %s, which is not the expected key. The host may have been reinstalled, or the connection intercepted: check the key with the host's owner before updating known_hosts or host_key", e.Address, e.Got)
}

func pinnedKeyCallback(want ssh.PublicKey) ssh.HostKeyCallback {
	return func(hostname string, _ net.Addr, got ssh.PublicKey) error {
		if string(got.Marshal()) == string(want.Marshal()) {
			return nil
		}
		return &HostKeyMismatchError{Address: hostname, Got: ssh.FingerprintSHA256(got)}
	}
}

func knownHostsCallback(content string) (ssh.HostKeyCallback, func(address string) []string, error) {
	// knownhosts reads files only; the content lives in a private temp file
	// just long enough to be parsed.
	f, err := os.CreateTemp("", "mcpai-known-hosts-*")
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.WriteString(content + "\n"); err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	if err := f.Close(); err != nil {
		return nil, nil, err
	}
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, nil, fmt.Errorf("known_hosts could not be parsed: %w", err)
	}
	// Asking the database about a key it cannot hold makes it list the
	// keys it does hold for the address (hashed entries included).
	algorithms := func(address string) []string {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil
		}
		probe, err := ssh.NewPublicKey(pub)
		if err != nil {
			return nil
		}
		var keyErr *knownhosts.KeyError
		if !errors.As(cb(address, probeAddr(address), probe), &keyErr) {
			return nil
		}
		keys := make([]ssh.PublicKey, 0, len(keyErr.Want))
		for _, k := range keyErr.Want {
			keys = append(keys, k.Key)
		}
		return algorithmsFor(keys)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		var keyErr *knownhosts.KeyError
		var revoked *knownhosts.RevokedError
		switch {
		case errors.As(err, &keyErr):
			return &HostKeyMismatchError{Address: hostname, Got: ssh.FingerprintSHA256(key), Unknown: len(keyErr.Want) == 0}
		case errors.As(err, &revoked):
			return &HostKeyMismatchError{Address: hostname, Got: ssh.FingerprintSHA256(key), Revoked: true}
		}
		return err
	}, algorithms, nil
}

// probeAddr is the remote address knownhosts also matches: the host's IP
// when it is a literal, else an address no entry names.
func probeAddr(address string) net.Addr {
	host, port, _ := net.SplitHostPort(address)
	p, _ := strconv.Atoi(port)
	ip := net.ParseIP(host)
	if ip == nil {
		ip = net.IPv4zero
	}
	return &net.TCPAddr{IP: ip, Port: p}
}
