package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"sync/atomic"
)

// MaxSessions caps concurrent sessions on one connection below OpenSSH's
// default MaxSessions of 10, leaving room for an interactive login.
const MaxSessions = 8

// Pool holds one connection per target for the life of a provider process,
// shared by every resource and data source.
type Pool struct {
	mu      sync.Mutex
	clients map[string]*Client
	dials   atomic.Int64
}

// NewPool returns an empty pool; connections are dialled on first use.
func NewPool() *Pool {
	return &Pool{clients: map[string]*Client{}}
}

// Client returns the pooled client for cfg, creating it (without dialling)
// if needed.
func (p *Pool) Client(cfg Config) *Client {
	key := cfg.poolKey() + "#" + credentialDigest(cfg)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[key]; ok {
		return c
	}
	c := newClient(cfg, &p.dials)
	p.clients[key] = c
	return c
}

// Dials counts the SSH connections this pool has opened (bastion hops
// included), for tests and benchmarks.
func (p *Pool) Dials() int64 { return p.dials.Load() }

// Close closes every pooled connection.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, c := range p.clients {
		c.Close()
		delete(p.clients, k)
	}
}

// credentialDigest separates configurations that reach the same target with
// different credentials or host key settings, so that a rejected login never
// poisons a good one. Only a hash is kept.
func credentialDigest(cfg Config) string {
	h := sha256.New()
	write := func(e Endpoint) {
		for _, s := range []string{e.PrivateKey, e.PrivateKeyPassphrase, e.Password, e.KnownHosts, e.HostKey} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		if e.Agent {
			h.Write([]byte("agent"))
		}
		if e.InsecureIgnoreHostKey {
			h.Write([]byte("insecure"))
		}
	}
	write(cfg.Endpoint)
	if cfg.Bastion != nil {
		write(*cfg.Bastion)
	}
	if cfg.Sudo {
		h.Write([]byte("sudo"))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
