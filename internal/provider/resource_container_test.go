package provider

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

const accContainerAddr = "mcpai_container.test"

func containerConfig(t *testing.T, h acctest.Host, body string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_container" "test" {
  ssh = { host = %q }
%s
}
`, h.Address, body)
}

// clearContainers removes a test's containers (and the temporary names of
// their replacements) from the host now and when the test ends, whatever a
// failed run left.
func clearContainers(t *testing.T, h acctest.Host, names ...string) acctest.Host {
	h.RemoveContainers(t, names...)
	t.Cleanup(func() { h.RemoveContainers(t, names...) })
	return h
}

// noContainer is a CheckDestroy (and a step's PreConfig check) that asks
// the host's engine whether the container is gone.
func noContainer(t *testing.T, h acctest.Host, name string) func(*terraform.State) error {
	return func(*terraform.State) error {
		if c, ok := h.InspectContainer(t, name); ok {
			return fmt.Errorf("container %s is on the host (%s)", name, c.State.Status)
		}
		return h.NoLeftovers(t, name)
	}
}

// apiBody is an API service as the stack runs one: the imitation server
// stands in for uvicorn (it ignores its arguments and answers every path
// once ready).
const apiBody = `
  name    = "acc-container-api"
  image   = %q
  command = ["--host", "0.0.0.0", "--workers", "2"]
  env     = { APP_ENV = %q, MODELSERVER_READY_AFTER = "1s" }
  sensitive_env = { DATABASE_PASSWORD = "acc-secret" }
  labels  = { "traefik.enable" = "true" }
  ports   = [{ container_port = 8000, host_port = 18340, host_ip = "127.0.0.1" }]
  log_opts = { "max-size" = "10m" }
  memory   = %q
  memory_reservation = "128m"
  cpus     = %q
  restart_policy = %q
  ulimits  = [{ name = "nofile", soft = 4096, hard = 8192 }]
  health_path = "/health"
`

func TestAccContainer_lifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		const name = "acc-container-api"
		clearContainers(t, h, name)
		cfg := func(appEnv, memory, cpus, restart string) string {
			return containerConfig(t, h, fmt.Sprintf(apiBody, acctest.ModelImageReady, appEnv, memory, cpus, restart))
		}
		var firstID string
		// drift changes the container behind Terraform's back; the plan
		// shows it and the apply puts the container back, running.
		drift := func(what string, change func(), action plancheck.ResourceActionType, check func(c acctest.Container) error) resource.TestStep {
			planned := []plancheck.PlanCheck{plancheck.ExpectResourceAction(accContainerAddr, action)}
			if action == plancheck.ResourceActionUpdate {
				// The same container, shown going back to running.
				planned = append(planned, plancheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("id"), knownvalue.NotNull()),
					plancheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")))
			}
			return resource.TestStep{
				PreConfig:        change,
				Config:           cfg("production", "512m", "2", "always"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: planned},
				Check: checkContainer(t, h, name, func(c acctest.Container) error {
					if !c.State.Running {
						return fmt.Errorf("%s: not running after apply: %+v", what, c.State)
					}
					if check == nil {
						return nil
					}
					if err := check(c); err != nil {
						return fmt.Errorf("%s: %w", what, err)
					}
					return nil
				}),
			}
		}
		// update applies config, which changes the container in place or
		// replaces it, as inPlace says.
		update := func(config string, inPlace bool, check func(c acctest.Container) error) resource.TestStep {
			id := plancheck.ExpectUnknownValue(accContainerAddr, tfjsonpath.New("id"))
			if inPlace {
				id = plancheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("id"), knownvalue.NotNull())
			}
			return resource.TestStep{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(accContainerAddr, plancheck.ResourceActionUpdate), id}},
				Check: checkContainer(t, h, name, func(c acctest.Container) error {
					if (c.ID == firstID) != inPlace || !c.State.Running {
						return fmt.Errorf("in place: %v, but the container went from %s to %s (%s)", inPlace, firstID, c.ID, c.State.Status)
					}
					firstID = c.ID
					if err := h.NoLeftovers(t, name); err != nil {
						return err
					}
					return check(c)
				}),
			}
		}
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			CheckDestroy:             noContainer(t, h, name),
			Steps: []resource.TestStep{
				{
					Config: cfg("staging", "256m", "1", "unless-stopped"),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
						statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("health"), knownvalue.StringExact("")),
						statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("memory"), knownvalue.StringExact("256m")),
						statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("update_strategy"), knownvalue.StringExact("recreate")),
						statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("image_id"), knownvalue.StringRegexp(regexp.MustCompile(`^sha256:[0-9a-f]{64}$`))),
					},
					ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
					Check: checkContainer(t, h, name, func(c acctest.Container) error {
						firstID = c.ID
						if img, _ := h.DockerOutput("inspect", "--format", "{{.Config.Image}}", name); img != acctest.ModelImageReady {
							return fmt.Errorf("image %q", img)
						}
						if !slices.Equal(c.Config.Cmd, []string{"--host", "0.0.0.0", "--workers", "2"}) {
							return fmt.Errorf("cmd %q", c.Config.Cmd)
						}
						if err := acctest.HasAll(c.Config.Env, "APP_ENV=staging", "DATABASE_PASSWORD=acc-secret"); err != nil {
							return err
						}
						l := c.Config.Labels
						if _, server := l[modelrunner.LabelServer]; l["traefik.enable"] != "true" || l[modelrunner.LabelManagedBy] == "" ||
							l[modelrunner.LabelKind] != modelrunner.KindGeneral || server {
							return fmt.Errorf("labels %v", l)
						}
						hc := c.HostConfig
						if hc.Memory != 256<<20 || hc.MemoryReservation != 128<<20 || hc.NanoCpus != 1e9 || hc.RestartPolicy.Name != "unless-stopped" {
							return fmt.Errorf("host config %+v", hc)
						}
						if b := hc.PortBindings["8000/tcp"]; len(b) != 1 || b[0].HostPort != "18340" || b[0].HostIP != "127.0.0.1" {
							return fmt.Errorf("port bindings %+v", hc.PortBindings)
						}
						if len(hc.Ulimits) != 1 || hc.Ulimits[0].Name != "nofile" || hc.Ulimits[0].Soft != 4096 || hc.Ulimits[0].Hard != 8192 {
							return fmt.Errorf("ulimits %+v", hc.Ulimits)
						}
						if logOpt, _ := h.DockerOutput("inspect", "--format", `{{index .HostConfig.LogConfig.Config "max-size"}}`, name); logOpt != "10m" {
							return fmt.Errorf("log max-size %q", logOpt)
						}
						// Ready means health_path answered, not just running.
						if logs, _ := h.DockerOutput("logs", name); !strings.Contains(logs, "modelserver: ready") {
							return fmt.Errorf("applied before the service was ready; its log:\n%s", logs)
						}
						return nil
					}),
				},
				// Resources and the restart policy change in place.
				update(cfg("staging", "512m", "2", "always"), true, func(c acctest.Container) error {
					if c.HostConfig.Memory != 512<<20 || c.HostConfig.NanoCpus != 2e9 || c.HostConfig.RestartPolicy.Name != "always" {
						return fmt.Errorf("host config %+v", c.HostConfig)
					}
					return nil
				}),
				// The environment is fixed at create: a new container.
				update(cfg("production", "512m", "2", "always"), false, func(c acctest.Container) error {
					return acctest.HasAll(c.Config.Env, "APP_ENV=production", "DATABASE_PASSWORD=acc-secret")
				}),
				{
					// An import reads every variable into env (the secret
					// too, as documented), the rest as configured.
					ResourceName:            accContainerAddr,
					ImportState:             true,
					ImportStateId:           h.Address + "/" + name,
					ImportStateVerify:       true,
					ImportStateVerifyIgnore: []string{"timeouts", "ssh", "env", "sensitive_env", "health_path"},
					ImportStateCheck: func(states []*terraform.InstanceState) error {
						if len(states) != 1 {
							return fmt.Errorf("imported %d states", len(states))
						}
						a := states[0].Attributes
						if a["env.APP_ENV"] != "production" || a["env.DATABASE_PASSWORD"] != "acc-secret" || a["sensitive_env.%"] != "" {
							return fmt.Errorf("imported env: %v", a)
						}
						return nil
					},
				},
				drift("stopped by hand: started again", func() { h.Docker(t, "stop", "-t", "1", name) }, plancheck.ResourceActionUpdate,
					nil),
				drift("limits changed by hand (docker update): put back in place", func() {
					h.Docker(t, "update", "--memory", "300m", "--memory-swap", "600m", "--cpus", "1.5", name)
				}, plancheck.ResourceActionUpdate, func(c acctest.Container) error {
					if c.HostConfig.Memory != 512<<20 || c.HostConfig.NanoCpus != 2e9 {
						return fmt.Errorf("limits after apply: memory %d, cpus %d", c.HostConfig.Memory, c.HostConfig.NanoCpus)
					}
					return nil
				}),
				drift("removed by hand: created again", func() { h.Docker(t, "rm", "-f", name) }, plancheck.ResourceActionCreate,
					nil),
			},
		})
	})
}

// TestAccContainer_readiness: without health_path, readiness is the
// image's HEALTHCHECK, or else the container still running after the
// settle period; one that exits within it fails the apply with its log,
// and a failed start leaves nothing.
func TestAccContainer_readiness(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		const name = "acc-container-ready"
		clearContainers(t, h, name)
		gone := func() {
			if err := noContainer(t, h, name)(nil); err != nil {
				t.Errorf("a failed start left something: %v", err)
			}
		}
		body := func(image, extra string) string {
			return containerConfig(t, h, fmt.Sprintf("  name  = %q\n  image = %q\n%s", name, image, extra))
		}
		var began time.Time
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			CheckDestroy:             noContainer(t, h, name),
			Steps: []resource.TestStep{
				{
					// Exits 1 s after it starts: running at first, so only
					// the settle period catches it.
					Config:      body(acctest.ModelImageExits, ""),
					ExpectError: errorParts("Container Failed To Start", "exited with code 3", "modelserver: fatal: CUDA out of memory (simulated)", "the new container was removed"),
				},
				{
					PreConfig:   gone,
					Config:      body(h.DockerImage, `  command = ["-nofile"]`),
					ExpectError: errorParts("Container Failed To Start", "exited with code 0", "the new container was removed"),
				},
				{
					PreConfig: gone,
					Config: body(acctest.ModelImageHealthcheck, `  env = { MODELSERVER_MODE = "never" }
  timeouts = { create = "60s" }`),
					ExpectError: errorParts("Container Failed To Start", "the image's HEALTHCHECK reports unhealthy", "the new container was removed"),
				},
				{
					// Running for the settle period is ready.
					PreConfig: func() { gone(); began = time.Now() },
					Config:    body(h.DockerImage, ""),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
						statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("health"), knownvalue.StringExact("")),
					},
					Check: func(*terraform.State) error {
						if took := time.Since(began); took < generalSettle {
							return fmt.Errorf("applied in %s, less than the settle period %s", took, generalSettle)
						}
						return nil
					},
				},
				{
					// A HEALTHCHECK is waited on (a new image: a new container).
					Config: body(acctest.ModelImageHealthcheck, ""),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("health"), knownvalue.StringExact("healthy")),
					},
				},
			},
		})
	})
}

// TestAccContainer_badInputs: each bad input fails with an error that
// names the attribute and what to do, and leaves the host as it was.
func TestAccContainer_badInputs(t *testing.T) {
	const name, squatter = "acc-container-bad", "acc-container-squatter"
	h := clearContainers(t, dockerHosts(t)[0], name, squatter)
	h.Docker(t, "run", "-d", "--name", squatter, h.DockerImage)
	squatterID := h.Docker(t, "inspect", "--format", "{{.Id}}", squatter)
	body := func(image, extra string) string {
		return containerConfig(t, h, fmt.Sprintf("  name  = %q\n  image = %q\n%s", name, image, extra))
	}
	nothingChanged := func() {
		if err := noContainer(t, h, name)(nil); err != nil {
			t.Errorf("a refused input changed the host: %v", err)
		}
		c, ok := h.InspectContainer(t, squatter)
		if !ok || c.ID != squatterID || !c.State.Running {
			t.Errorf("the unrelated container %s was touched: %+v", squatter, c)
		}
	}
	step := func(plan bool, image, extra string, want ...string) resource.TestStep {
		return resource.TestStep{PreConfig: nothingChanged, Config: body(image, extra), PlanOnly: plan, ExpectError: errorParts(want...)}
	}
	ready := acctest.ModelImageReady
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             func(*terraform.State) error { nothingChanged(); return nil },
		Steps: []resource.TestStep{
			// At plan time, from the configuration alone.
			step(true, ready, `  ports = [{ container_port = 70000 }]`, "ports[0].container_port", "between 1 and 65535, got: 70000"),
			step(true, ready, `  ports = [{ container_port = 80, host_port = 0 }]`, "ports[0].host_port", "between 1 and 65535, got: 0"),
			step(true, ready, `  ports = [{ container_port = 80, protocol = "sctp" }]`, "ports[0].protocol", `value must be one of`),
			step(true, ready, `  memory = "lots"`, "Invalid Size", "memory", `"lots" is not a size such as 64g`),
			step(true, ready, `  shm_size = "1.5q"`, "Invalid Size", "shm_size"),
			step(true, ready, `  volumes = [{ source = "data:/etc", target = "/data" }]`, "volumes[0].source", "must be an absolute path without ':' or a volume name"),
			step(true, ready, `  volumes = [{ source = "/srv/data", target = "data" }]`, "volumes[0].target", "must be an absolute path"),
			step(true, ready, `  volumes = [{ source = "/srv/data", target = "/data:ro" }]`, "volumes[0].target", "without ':'", "mount options"),
			step(true, ready, `  volumes = [{ source = "/srv/a:b", target = "/data" }]`, "volumes[0].source", "without ':'"),
			step(true, ready, `  entrypoint = ["MODELSERVER_MODE=never", "/modelserver"]`, "Variable Assignment As Program", "entrypoint[0] is the program", `["env", "MODELSERVER_MODE=never", ...]`),
			step(true, ready, `  cpus = "0"`, "Invalid CPUs", "cpus", "0.01 or more"),
			step(true, ready, `  max_retry_count = 3`, "Retry Count Without on-failure", "max_retry_count", `restart_policy = "on-failure"`),
			step(true, ready, `  env = { TOKEN = "a" }
  sensitive_env = { TOKEN = "b" }`, "Variable Set Twice", "sensitive_env", "TOKEN is in both env and sensitive_env"),
			step(true, ready, `  labels = { "io.mcpai.server" = "vllm" }`, "Reserved Label", "labels", "io.mcpai.server is reserved", "remove it from labels"),
			step(true, ready, `  health_path = "health"`, "health_path", "must be a path starting with /"),
			step(true, ready, `  server = "vllm"`, "Unsupported argument", `"server" is not expected here`),
			step(true, ready, `  docker_host = "unix:///var/run/docker.sock"`, "Invalid Attribute Combination", "ssh", "docker_host"),
			// At apply time, against the host, before anything is created.
			step(false, ready, `  memory = "64t"`, "More Memory Than The Host Has", "memory = 64t", "Lower memory", "Nothing was created"),
			step(false, ready, `  cpus = "64"`, "More CPUs Than The Host Has", "cpus = 64", "Lower cpus", "Nothing was created"),
			// A registry on the host's loopback, where none listens: the pull
			// fails at once, and no traffic leaves the sandbox.
			step(false, "127.0.0.1:5999/mcpai/absent:v1", "", "Image Not Available", "127.0.0.1:5999/mcpai/absent:v1", "pulling it failed",
				"give registry_auth for a private registry", "Nothing was created"),
			// health_path never answers 2xx: the wait times out, and the new
			// container is removed.
			step(false, acctest.ModelImageNever, `  health_path = "/health"
  timeouts = { create = "15s" }`, "Container Not Ready In Time", "not ready after", "the endpoint answers 503",
				"modelserver: loading model", "the new container was removed", "the service needs longer to start"),
			{
				PreConfig: nothingChanged,
				Config:    strings.Replace(body(ready, ""), fmt.Sprintf("%q", name), fmt.Sprintf("%q", squatter), 1),
				ExpectError: errorParts("Container Name In Use", "A container named "+squatter+" already exists", "Import it",
					"Nothing was changed"),
			},
		},
	})
}

// TestAccContainer_owners: the labels say which resource made a container,
// and neither resource type takes over the other's: an import is refused,
// and a leftover of the other type under a replacement's temporary name is
// an error that leaves it, and the container being replaced, as they were.
// The resource's own leftover is cleared.
func TestAccContainer_owners(t *testing.T) {
	const general, runner = "acc-container-own", "acc-container-own-runner"
	h := clearContainers(t, dockerHosts(t)[len(dockerHosts(t))-1], general, runner)
	config := func(generalImage, runnerImage, extra string) string {
		return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_container" "test" {
  ssh   = { host = %[1]q }
  name  = %[2]q
  image = %[3]q
}
resource "mcpai_gpu_model_runner" "test" {
  ssh    = { host = %[1]q }
  name   = %[4]q
  image  = %[5]q
  server = "vllm"
  env    = { MODELSERVER_READY_AFTER = "1s" }
}
%[6]s`, h.Address, general, generalImage, runner, runnerImage, extra)
	}
	// want holds the containers that must stay as they are, by name.
	want := map[string]string{}
	record := func(names ...string) {
		for _, n := range names {
			c, ok := h.InspectContainer(t, n)
			if !ok {
				t.Fatalf("no container %s", n)
			}
			want[n] = c.ID
		}
	}
	kept := func() {
		for n, id := range want {
			if c, ok := h.InspectContainer(t, n); !ok || c.ID != id || !c.State.Running {
				t.Errorf("%s is not the container it was (%s) and running: %+v", n, id, c)
			}
		}
	}
	// stray runs a sleeper under name's temporary name, labelled as made
	// by the other resource type (label), which the next step's
	// replacement of name must leave alone.
	stray := func(name, label, generalImage, runnerImage string) resource.TestStep {
		return resource.TestStep{
			PreConfig: func() {
				kept()
				h.Docker(t, "run", "-d", "--name", name+oldSuffix, "--label", modelrunner.LabelManagedBy+"=terraform-provider-mcpai", "--label", label, h.DockerImage)
				record(name + oldSuffix)
			},
			Config:      config(generalImage, runnerImage, ""),
			ExpectError: errorParts("Container Replacement Failed", "Clearing the temporary name "+name+oldSuffix, "is not one this resource made"),
		}
	}
	refusedImport := func(typ, name, madeBy, extra string) resource.TestStep {
		return resource.TestStep{
			Config: config(h.DockerImage, acctest.ModelImageReady, fmt.Sprintf(`
resource %q "adopt" {
  ssh   = { host = %q }
  name  = %q
  image = %q
%s
}`, typ, h.Address, name, h.DockerImage, extra)),
			ResourceName:  typ + ".adopt",
			ImportState:   true,
			ImportStateId: h.Address + "/" + name,
			ExpectError: errorParts("Container Managed By Another Resource Type", name, "was made by "+madeBy,
				"Import it as "+madeBy, "Nothing was imported"),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			for _, n := range []string{general, runner} {
				if _, ok := h.InspectContainer(t, n); ok {
					return fmt.Errorf("destroy left %s", n)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: config(h.DockerImage, acctest.ModelImageReady, ""), Check: func(*terraform.State) error { record(general, runner); return nil }},
			refusedImport("mcpai_container", runner, "mcpai_gpu_model_runner", ""),
			refusedImport("mcpai_gpu_model_runner", general, "mcpai_container", `  server = "custom"`),
			stray(general, modelrunner.LabelServer+"=vllm", acctest.ModelImageHealthcheck, acctest.ModelImageReady),
			stray(runner, modelrunner.LabelKind+"="+modelrunner.KindGeneral, h.DockerImage, acctest.ModelImageHealthcheck),
			{
				// Its own leftover is cleared; the other's stays.
				PreConfig: func() {
					kept()
					h.Docker(t, "rm", "-f", general+oldSuffix)
					delete(want, general+oldSuffix)
					h.Docker(t, "run", "-d", "--name", general+oldSuffix, "--label", modelrunner.LabelManagedBy+"=terraform-provider-mcpai",
						"--label", modelrunner.LabelKind+"="+modelrunner.KindGeneral, h.DockerImage)
				},
				Config: config(acctest.ModelImageHealthcheck, acctest.ModelImageReady, ""),
				Check: func(*terraform.State) error {
					c, ok := h.InspectContainer(t, general)
					if !ok || c.ID == want[general] || !c.State.Running {
						return fmt.Errorf("%s not replaced and running: %+v", general, c)
					}
					if _, ok := h.InspectContainer(t, general+oldSuffix); ok {
						return fmt.Errorf("the resource's own leftover %s is still there", general+oldSuffix)
					}
					delete(want, general)
					kept()
					return nil
				},
			},
		},
	})
	if _, ok := h.InspectContainer(t, runner+oldSuffix); !ok {
		t.Errorf("the general container's leftover under the model runner's temporary name was removed")
	}
}

// TestAccContainer_dockerHost reaches the engine through docker_host
// (readiness by the settle period: nothing to probe), and imports by that
// URL.
func TestAccContainer_dockerHost(t *testing.T) {
	const name = "acc-container-direct"
	h := clearContainers(t, dockerHosts(t)[0], name)
	url := "unix://" + h.DockerSocket
	config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_container" "test" {
  docker_host = %q
  name        = %q
  image       = %q
  command     = [":8080"]
  restart_policy = "on-failure"
  max_retry_count = 2
}
`, url, name, h.DockerImage)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             noContainer(t, h, name),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
					statecheck.ExpectKnownValue(accContainerAddr, tfjsonpath.New("docker_socket"), knownvalue.StringExact(defaultDockerSock)),
				},
				Check: checkContainer(t, h, name, func(c acctest.Container) error {
					if c.HostConfig.RestartPolicy.Name != "on-failure" || !slices.Equal(c.Config.Cmd, []string{":8080"}) {
						return fmt.Errorf("restart policy %q, cmd %q", c.HostConfig.RestartPolicy.Name, c.Config.Cmd)
					}
					return nil
				}),
			},
			{
				ResourceName:            accContainerAddr,
				ImportState:             true,
				ImportStateId:           url + "|" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
		},
	})
}

// TestAccContainer_secretsRedacted: a container that prints a sensitive_env
// value and fails to start is reported with its log, the value replaced.
func TestAccContainer_secretsRedacted(t *testing.T) {
	const name, secret = "acc-container-secret", "acc-hunter2-in-the-log"
	h := clearContainers(t, dockerHosts(t)[0], name)
	// The imitation server refuses an unknown MODELSERVER_MODE, quoting it.
	config := containerConfig(t, h, fmt.Sprintf(`  name  = %q
  image = %q
  sensitive_env = { MODELSERVER_MODE = %q }`, name, acctest.ModelImageReady, secret))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             noContainer(t, h, name),
		// ErrorCheck sees the whole error, to prove what it lacks.
		ErrorCheck: func(err error) error {
			msg := err.Error()
			want := errorParts("Container Failed To Start", `MODELSERVER_MODE "(sensitive value)": want ready, never or exit`, "the new container was removed")
			if !want.MatchString(msg) || strings.Contains(msg, "hunter2") {
				return fmt.Errorf("want the failed start with %s redacted, got: %w", secret, err)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(*terraform.State) error {
				return fmt.Errorf("%s started; want it to fail on its MODELSERVER_MODE", name)
			},
		}},
	})
}
