package vmtest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// providerBlock is the terraform and provider blocks for v: the VM's key
// and pinned host key as defaults, logging in as the sudo user with
// `sudo = true` (or as root), so resources need only sshTarget and an
// import ID finds its credentials.
func providerBlock(t testing.TB, v acctest.VM, asRoot bool) string {
	user, sudo := v.SudoUser, true
	if asRoot {
		user, sudo = "root", false
	}
	return fmt.Sprintf(`terraform {
  required_providers {
    mcpai = { source = "mcpai/mcpai" }
  }
}

provider "mcpai" {
  ssh = {
    user        = %q
    sudo        = %t
    private_key = %q
    host_key    = %q
  }
}
`, user, sudo, v.PrivateKey(t), v.HostKey)
}

// sshTarget is a resource's ssh object for v; the rest comes from
// providerBlock.
func sshTarget(v acctest.VM) string {
	return fmt.Sprintf("{ host = %q, port = %d }", v.Address, v.Port)
}

// hostID is how import IDs name v: host:port.
func hostID(v acctest.VM) string { return fmt.Sprintf("%s:%d", v.Address, v.Port) }

// messageRE matches the parts in order, with anything between them and any
// run of white space where a part has a space: Terraform wraps diagnostics.
func messageRE(parts ...string) *regexp.Regexp {
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(regexp.QuoteMeta(p), " ", `\s+`)
	}
	return regexp.MustCompile(strings.Join(parts, `(?s:.*)`))
}

// fileSum is the SHA-256 of a file on v, or "absent".
func fileSum(t testing.TB, v acctest.VM, path string) string {
	t.Helper()
	return v.InHost(t, fmt.Sprintf("if [ -e %[1]s ]; then sha256sum < %[1]s | cut -d' ' -f1; else echo absent; fi", path))
}

// tempFiles lists what the provider's uploads leave behind in dir.
func tempFiles(t testing.TB, v acctest.VM, dir string) string {
	t.Helper()
	return v.InHost(t, "ls -A "+dir+" | grep '^\\.mcpai' || true")
}

// servicesUp fails the test unless systemd has finished starting and ssh,
// Docker, PostgreSQL and Redis run.
func servicesUp(t testing.TB, v acctest.VM, when string) {
	t.Helper()
	if got := v.InHost(t, "systemctl is-system-running --wait || true"); got != "running" && got != "degraded" {
		t.Fatalf("%s: systemd is %q: %s", when, got, v.InHost(t, "systemctl --failed --no-legend"))
	}
	got := v.InHost(t, "systemctl is-active ssh docker postgresql@15-main redis-server || true")
	if strings.Join(strings.Fields(got), " ") != "active active active active" {
		t.Fatalf("%s: ssh, docker, postgresql, redis: %q", when, got)
	}
}
