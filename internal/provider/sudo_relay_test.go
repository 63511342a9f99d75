package provider

// The Engine API as a sudo user: the sandbox's "mcpai" logs in with the
// sandbox key and may sudo without a password, but is not in the docker
// group, so the host's root-owned /var/run/docker.sock (0660 root:docker)
// is reached only through the sudo relay.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// sudoSSH is a resource's ssh object as the sandbox's sudo user; the
// provider block gives the key and known_hosts.
func sudoSSH(h acctest.Host) string {
	return fmt.Sprintf("{ host = %q, user = %q, sudo = true }", h.Address, h.SudoUser)
}

// socketClosedToSudoUser fails the test unless the login user alone could
// not open the socket, which is what makes the relay necessary.
func socketClosedToSudoUser(t *testing.T, h acctest.Host) {
	t.Helper()
	if got := h.InHost(t, "id -nG "+h.SudoUser+"; stat -c %U:%G:%a /var/run/docker.sock"); strings.Contains(got, "docker\n") || !strings.HasSuffix(got, "root:docker:660") {
		t.Fatalf("the test needs a sudo user outside the docker group and a root-owned socket: %q", got)
	}
}

func TestAccSudoRelay_dockerDaemonConfig(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		socketClosedToSudoUser(t, h)
		h.ResetDocker(t)
		t.Cleanup(func() { h.ResetDocker(t) })
		driver := h.Docker(t, "info", "--format", "{{.Driver}}")
		config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_docker_daemon_config" "test" {
  ssh    = %s
  config = jsonencode(%s)
}
`, sudoSSH(h), guideDocker(driver))
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			CheckDestroy: func(*terraform.State) error {
				if content, ok := h.DaemonJSON(t); ok {
					return fmt.Errorf("destroy left daemon.json:\n%s", content)
				}
				if got := h.Docker(t, "info", "--format", "{{.LiveRestoreEnabled}}"); got != "false" {
					return fmt.Errorf("after destroy the daemon runs with live-restore %s", got)
				}
				return nil
			},
			Steps: []resource.TestStep{{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					// What the daemon said through the Engine API after its restart.
					statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("effective").AtMapKey("live_restore"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("effective").AtMapKey("storage_driver"), knownvalue.StringExact(driver)),
					statecheck.ExpectKnownValue(accDockerAddr, tfjsonpath.New("pending_restart"), knownvalue.ListSizeExact(0)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := h.Docker(t, "info", "--format", "{{.LiveRestoreEnabled}}"); got != "true" {
						return fmt.Errorf("the daemon runs with live-restore %s", got)
					}
					return nil
				},
			}},
		})
	})
}

func TestAccSudoRelay_container(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		socketClosedToSudoUser(t, h)
		const name = "acc-container-sudo"
		clearContainers(t, h, name)
		config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_container" "test" {
  ssh         = %s
  name        = %q
  image       = %q
  env         = { MODELSERVER_READY_AFTER = "1s" }
  health_path = "/health"
}
`, sudoSSH(h), name, acctest.ModelImageReady)
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			CheckDestroy:             noContainer(t, h, name),
			Steps: []resource.TestStep{{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if c, ok := h.InspectContainer(t, name); !ok || c.State.Status != "running" {
						return fmt.Errorf("container %s is not running on the host", name)
					}
					return nil
				},
			}},
		})
	})
}

func TestAccSudoRelay_hostFacts(t *testing.T) {
	h := acctest.FirstHost(t)
	socketClosedToSudoUser(t, h)
	version := h.Docker(t, "info", "--format", "{{.ServerVersion}}")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
data "mcpai_host_facts" "this" {
  ssh = %s
}
`, sudoSSH(h)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.mcpai_host_facts.this", tfjsonpath.New("docker").AtMapKey("server_version"), knownvalue.StringExact(version)),
			},
		}},
	})
}
