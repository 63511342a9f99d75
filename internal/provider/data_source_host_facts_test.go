package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/hostfacts"
)

func TestAccHostFacts(t *testing.T) {
	h := acctest.FirstHost(t)
	// What the host says through an independent path (the ssh CLI).
	want := strings.Fields(h.InHost(t, "getconf _NPROCESSORS_ONLN; awk '/^MemTotal:/ {print $2}' /proc/meminfo; uname -r; uname -m; . /etc/os-release; echo $ID $VERSION_ID"))
	cpus, _ := strconv.ParseInt(want[0], 10, 64)
	memKiB, _ := strconv.ParseInt(want[1], 10, 64)
	// The sandbox host's dockerd, asked through its socket.
	engine := h.Docker(t, "info", "--format", "{{.ServerVersion}} {{.DefaultRuntime}}")
	addr := "data.mcpai_host_facts.this"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
data "mcpai_host_facts" "this" {
  ssh = { host = %q }
}
output "has_gpu" { value = length(data.mcpai_host_facts.this.gpus) > 0 }
`, h.Address),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu_count"), knownvalue.Int64Exact(cpus)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory_bytes"), knownvalue.Int64Exact(memKiB*1024)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("kernel"), knownvalue.StringExact(want[2])),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("architecture"), knownvalue.StringExact(want[3])),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("os_id"), knownvalue.StringExact(want[4])),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("os_version"), knownvalue.StringExact(want[5])),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("numa_nodes"), knownvalue.Int64Exact(1)),
				// No NVIDIA driver in a sandbox host; its own dockerd.
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("gpus"), knownvalue.ListExact([]knownvalue.Check{})),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("docker").AtMapKey("server_version"), knownvalue.StringExact(strings.Fields(engine)[0])),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("docker").AtMapKey("default_runtime"), knownvalue.StringExact(strings.Fields(engine)[1])),
				statecheck.ExpectKnownOutputValue("has_gpu", knownvalue.Bool(false)),
			},
		}},
	})
}

func TestAccHostFacts_wrongHostKey(t *testing.T) {
	hosts := acctest.Hosts(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
data "mcpai_host_facts" "this" {
  ssh = { host = %q, host_key = %q }
}`, hosts[0].Address, hosts[1].HostKey),
			ExpectError: regexp.MustCompile(`Host Key Verification Failed`),
		}},
	})
}

// A key known_hosts marks @revoked is a host key error that says so, not a
// host that cannot be reached.
func TestAccHostFacts_revokedHostKey(t *testing.T) {
	h := acctest.FirstHost(t)
	knownHosts := fmt.Sprintf("%s %s\n@revoked * %s", h.Address, h.HostKey, h.HostKey)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
data "mcpai_host_facts" "this" {
  ssh = { host = %q, known_hosts = %q }
}`, h.Address, knownHosts),
			ExpectError: errorParts("Host Key Verification Failed", "which known_hosts marks @revoked", "Ask the host's owner for its current key"),
		}},
	})
}

func TestSetFactsNeverLeavesNullLists(t *testing.T) {
	var m hostFactsModel
	setFacts(&m, hostfacts.Facts{CPUCount: 2})
	if m.Disks == nil || m.GPUs == nil || m.CPUGovernors == nil || m.Docker != nil {
		t.Fatalf("empty facts gave %+v", m)
	}
	setFacts(&m, hostfacts.Facts{Docker: &hostfacts.Docker{ServerVersion: "27.0.1", Runtimes: []string{"nvidia", "runc"}}})
	if m.Docker == nil || m.Docker.ServerVersion.ValueString() != "27.0.1" || len(m.Docker.Runtimes) != 2 {
		t.Fatalf("docker facts gave %+v", m.Docker)
	}
}

// Opting out of host key checking works, and every plan says so.
func TestAccHostFacts_insecureWarns(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := acctest.FirstHost(t)
	w := acctest.NewWorkspace(t, fmt.Sprintf(`
terraform {
  required_providers {
    mcpai = { source = "mcpai/mcpai" }
  }
}
data "mcpai_host_facts" "this" {
  ssh = {
    host                     = %q
    private_key              = file(%q)
    insecure_ignore_host_key = true
  }
}
output "cpus" { value = data.mcpai_host_facts.this.cpu_count }
`, h.Address, h.PrivateKeyPath))
	_, out := w.Run([]int{0}, "plan")
	if !regexp.MustCompile(`Warning: Host Key Verification Disabled[\s\S]*insecure_ignore_host_key`).MatchString(out) {
		t.Errorf("no warning in:\n%s", out)
	}
	if !strings.Contains(out, "cpus") {
		t.Errorf("facts not read:\n%s", out)
	}
}

// Through a bastion: the sandbox host is its own jump host, so sshd sees
// two logins, the hop and the target.
func TestAccHostFacts_bastion(t *testing.T) {
	h := acctest.FirstHost(t)
	before := h.AcceptedLogins(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
data "mcpai_host_facts" "this" {
  ssh = {
    host    = %q
    bastion = { host = %q, host_key = %q }
  }
}`, h.Address, h.Address, h.HostKey),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.mcpai_host_facts.this", tfjsonpath.New("id"), knownvalue.StringExact(h.Address)),
			},
		}},
	})
	// One hop and one target login per provider process that read facts.
	if got := h.AcceptedLogins(t) - before; got < 2 || got%2 != 0 {
		t.Errorf("sshd accepted %d logins, want pairs of bastion and target", got)
	}
}
