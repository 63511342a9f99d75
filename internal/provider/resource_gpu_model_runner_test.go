package provider

import (
	"fmt"
	"os"
	"regexp"
	"slices"
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

const accRunnerAddr = "mcpai_gpu_model_runner.test"

func runnerConfig(t *testing.T, h acctest.Host, body string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_gpu_model_runner" "test" {
  ssh = { host = %q }
%s
}
`, h.Address, body)
}

func checkContainer(t *testing.T, h acctest.Host, name string, f func(c acctest.Container) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c, ok := h.InspectContainer(t, name)
		if !ok {
			return fmt.Errorf("no container %s", name)
		}
		return f(c)
	}
}

// errorParts matches the parts of an error message in order, however
// Terraform wraps its lines.
func errorParts(parts ...string) *regexp.Regexp {
	rs := make([]string, len(parts))
	for i, p := range parts {
		rs[i] = acctest.ErrorWords(p).String()
	}
	return regexp.MustCompile(`(?s)` + strings.Join(rs, `.*`))
}

const vllmBody = `
  name   = "mcpai-vllm"
  image  = %q
  server = "vllm"
  command = ["--model", "/models/llama"]
  env    = { HF_HOME = "/models/hf", MODELSERVER_READY_AFTER = "1s" }
  labels = { team = "ml" }
  ports  = [{ container_port = 8000, host_port = 18000, host_ip = "127.0.0.1" }]
  volumes = [{ source = "mcpai-model-cache", target = "/models" }]
  log_opts = { "max-size" = "10m" }
  memory   = %q
  cpus     = %q
  shm_size = "128m"
  restart_policy = %q
  ulimits  = [{ name = "nofile", soft = 4096, hard = 4096 }, { name = "stack", soft = 67108864, hard = 67108864 }]

  gpu_memory_fraction = 0.9
  dtype               = %q
  quantization        = "awq"
  max_batch_size      = 64
  tensor_parallel     = 1
  allow_tf32          = true
  cuda_alloc_conf     = "expandable_segments:True"
  python_malloc       = "malloc"
  malloc_arena_max    = 2
`

func TestAccGPUModelRunner_lifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		const name = "mcpai-vllm"
		h.RemoveContainers(t, name)
		t.Cleanup(func() { h.RemoveContainers(t, name) })
		cfg := func(memory, cpus, restart, dtype string) string {
			return runnerConfig(t, h, fmt.Sprintf(vllmBody, acctest.ModelImageReady, memory, cpus, restart, dtype))
		}
		var firstID string
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			CheckDestroy: func(*terraform.State) error {
				if _, ok := h.InspectContainer(t, name); ok {
					return fmt.Errorf("destroy left container %s", name)
				}
				return nil
			},
			Steps: []resource.TestStep{
				{
					Config: cfg("256m", "1", "unless-stopped", "bfloat16"),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
						statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("health_path"), knownvalue.Null()),
						statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("gpu_ids"), knownvalue.ListSizeExact(0)),
						statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("memory"), knownvalue.StringExact("256m")),
					},
					Check: resource.ComposeTestCheckFunc(
						checkContainer(t, h, name, func(c acctest.Container) error {
							firstID = c.ID
							// The knobs as vLLM's flags, after the user's command.
							if err := acctest.ContainsRun(c.Config.Cmd, "--model", "/models/llama", "--gpu-memory-utilization", "0.9", "--dtype", "bfloat16",
								"--quantization", "awq", "--max-num-seqs", "64", "--tensor-parallel-size", "1"); err != nil {
								return err
							}
							if err := acctest.HasAll(c.Config.Env, "HF_HOME=/models/hf", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1",
								"PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True", "PYTHONMALLOC=malloc", "MALLOC_ARENA_MAX=2"); err != nil {
								return err
							}
							if c.Config.Labels["team"] != "ml" || c.Config.Labels["io.mcpai.server"] != "vllm" {
								return fmt.Errorf("labels %v", c.Config.Labels)
							}
							hc := c.HostConfig
							if hc.Memory != 256<<20 || hc.NanoCpus != 1e9 || hc.ShmSize != 128<<20 || hc.RestartPolicy.Name != "unless-stopped" {
								return fmt.Errorf("host config %+v", hc)
							}
							if err := acctest.HasAll(hc.Binds, "mcpai-model-cache:/models"); err != nil {
								return err
							}
							if b := hc.PortBindings["8000/tcp"]; len(b) != 1 || b[0].HostPort != "18000" || b[0].HostIP != "127.0.0.1" {
								return fmt.Errorf("port bindings %+v", hc.PortBindings)
							}
							if len(hc.Ulimits) != 2 || hc.Ulimits[1].Name != "stack" || hc.Ulimits[1].Soft != 67108864 {
								return fmt.Errorf("ulimits %+v", hc.Ulimits)
							}
							// Ready means the server said so, not just running.
							if logs, _ := h.DockerOutput("logs", name); !strings.Contains(logs, "modelserver: ready") {
								return fmt.Errorf("applied before the server was ready; its log:\n%s", logs)
							}
							return nil
						}),
					),
				},
				{
					// Resources and the restart policy change in place.
					Config: cfg("512m", "2", "always", "bfloat16"),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(accRunnerAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("id"), knownvalue.NotNull()),
					}},
					Check: checkContainer(t, h, name, func(c acctest.Container) error {
						if c.ID != firstID {
							return fmt.Errorf("in-place update replaced the container: %s became %s", firstID, c.ID)
						}
						if c.HostConfig.Memory != 512<<20 || c.HostConfig.NanoCpus != 2e9 || c.HostConfig.RestartPolicy.Name != "always" || !c.State.Running {
							return fmt.Errorf("after update: %+v %+v", c.HostConfig, c.State)
						}
						return nil
					}),
				},
				{
					// A flag is fixed at create: a new container.
					Config: cfg("512m", "2", "always", "float16"),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(accRunnerAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(accRunnerAddr, tfjsonpath.New("id")),
					}},
					Check: checkContainer(t, h, name, func(c acctest.Container) error {
						if c.ID == firstID {
							return fmt.Errorf("dtype change kept container %s", c.ID)
						}
						if _, ok := h.InspectContainer(t, name+oldSuffix); ok {
							return fmt.Errorf("the replaced container was left as %s", name+oldSuffix)
						}
						return acctest.ContainsRun(c.Config.Cmd, "--dtype", "float16")
					}),
				},
				{
					ResourceName:            accRunnerAddr,
					ImportState:             true,
					ImportStateId:           h.Address + "/" + name,
					ImportStateVerify:       true,
					ImportStateVerifyIgnore: []string{"timeouts", "ssh"},
				},
				{
					// Drift: stopped by hand, started again.
					PreConfig: func() { h.Docker(t, "stop", "-t", "1", name) },
					Config:    cfg("512m", "2", "always", "float16"),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(accRunnerAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
					}},
					Check: checkContainer(t, h, name, func(c acctest.Container) error {
						if !c.State.Running {
							return fmt.Errorf("not running: %+v", c.State)
						}
						return nil
					}),
				},
				{
					// Drift: paused by hand, unpaused.
					PreConfig: func() { h.Docker(t, "pause", name) },
					Config:    cfg("512m", "2", "always", "float16"),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(accRunnerAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
					}},
					Check: checkContainer(t, h, name, func(c acctest.Container) error {
						if !c.State.Running || c.State.Status != "running" {
							return fmt.Errorf("not running: %+v", c.State)
						}
						return nil
					}),
				},
				{
					// Drift: changed by hand (docker update) is put back in place.
					PreConfig: func() { h.Docker(t, "update", "--memory", "300m", "--memory-swap", "600m", name) },
					Config:    cfg("512m", "2", "always", "float16"),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(accRunnerAddr, plancheck.ResourceActionUpdate),
					}},
					Check: checkContainer(t, h, name, func(c acctest.Container) error {
						if c.HostConfig.Memory != 512<<20 {
							return fmt.Errorf("memory %d after apply", c.HostConfig.Memory)
						}
						return nil
					}),
				},
				{
					// Drift: removed by hand, created again.
					PreConfig: func() { h.Docker(t, "rm", "-f", name) },
					Config:    cfg("512m", "2", "always", "float16"),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(accRunnerAddr, plancheck.ResourceActionCreate),
					}},
					Check: checkContainer(t, h, name, func(c acctest.Container) error {
						if !c.State.Running {
							return fmt.Errorf("not running: %+v", c.State)
						}
						return nil
					}),
				},
			},
		})
	})
}

// TestAccGPUModelRunner_readiness: a server that never answers times out,
// one that exits fails at once with its log, and nothing is left either way;
// a HEALTHCHECK is waited on when there is no endpoint.
func TestAccGPUModelRunner_readiness(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		const name = "mcpai-ready"
		h.RemoveContainers(t, name)
		t.Cleanup(func() { h.RemoveContainers(t, name) })
		gone := func() {
			if c, ok := h.InspectContainer(t, name); ok {
				t.Errorf("a failed start left container %s (%s)", name, c.State.Status)
			}
		}
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			Steps: []resource.TestStep{
				{
					Config: runnerConfig(t, h, fmt.Sprintf(`
  name     = %q
  image    = %q
  server   = "vllm"
  timeouts = { create = "15s" }
`, name, acctest.ModelImageNever)),
					ExpectError: errorParts("Model Server Not Ready In Time", "not ready after", "the endpoint answers 503", "modelserver: loading model", "the new container was removed"),
				},
				{
					PreConfig: gone,
					Config: runnerConfig(t, h, fmt.Sprintf(`
  name     = %q
  image    = %q
  server   = "tgi"
  health_port = 8000
`, name, acctest.ModelImageExits)),
					ExpectError: errorParts("Model Server Failed To Start", "exited with code 3", "modelserver: fatal: CUDA out of memory (simulated)", "the new container was removed"),
				},
				{
					PreConfig: gone,
					Config: runnerConfig(t, h, fmt.Sprintf(`
  name     = %q
  image    = %q
  server   = "custom"
  env      = { MODELSERVER_MODE = "never" }
  timeouts = { create = "60s" }
`, name, acctest.ModelImageHealthcheck)),
					ExpectError: errorParts("Model Server Failed To Start", "the image's HEALTHCHECK reports unhealthy"),
				},
				{
					PreConfig: gone,
					Config: runnerConfig(t, h, fmt.Sprintf(`
  name   = %q
  image  = %q
  server = "custom"
`, name, acctest.ModelImageHealthcheck)),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("health"), knownvalue.StringExact("healthy")),
					},
				},
			},
		})
	})
}

// TestAccGPUModelRunner_servers: each kind's knobs become its own flags and
// environment, and its readiness endpoint is the one waited on (the image
// answers every path, on the port the kind listens on).
func TestAccGPUModelRunner_servers(t *testing.T) {
	h := dockerHosts(t)[len(dockerHosts(t))-1]
	names := []string{"mcpai-tgi", "mcpai-triton", "mcpai-ollama", "mcpai-custom"}
	h.RemoveContainers(t, names...)
	t.Cleanup(func() { h.RemoveContainers(t, names...) })
	config := acctest.ProviderBlock(t) + fmt.Sprintf(`
locals { host = %q }
resource "mcpai_gpu_model_runner" "tgi" {
  ssh    = { host = local.host }
  name   = "mcpai-tgi"
  image  = %[2]q
  server = "tgi"
  env    = { MODELSERVER_LISTEN = ":80" }
  command = ["--model-id", "bigscience/bloom-560m"]
  gpu_memory_fraction = 0.85
  dtype          = "bfloat16"
  quantization   = "gptq"
  max_batch_size = 32
  tensor_parallel = 2
  allow_tf32     = false
}
resource "mcpai_gpu_model_runner" "triton" {
  ssh    = { host = local.host }
  name   = "mcpai-triton"
  image  = %[2]q
  server = "triton"
  command = ["tritonserver", "--model-repository=/models"]
  cuda_alloc_conf = "max_split_size_mb:512"
}
resource "mcpai_gpu_model_runner" "ollama" {
  ssh    = { host = local.host }
  name   = "mcpai-ollama"
  image  = %[2]q
  server = "ollama"
  env    = { MODELSERVER_LISTEN = ":11434" }
  max_batch_size   = 4
  malloc_arena_max = 2
}
resource "mcpai_gpu_model_runner" "custom" {
  ssh    = { host = local.host }
  name   = "mcpai-custom"
  image  = %[2]q
  server = "custom"
  env    = { MODELSERVER_LISTEN = ":9000" }
  sensitive_env = { HF_TOKEN = "hf_test_secret" }
  health_path = "/ready"
  health_port = 9000
  gpu_memory_fraction = 0.5
  allow_tf32          = true
  torch_compile_mode  = "max-autotune"
  max_batch_size      = 8
}
`, h.Address, acctest.ModelImageReady)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: config,
			Check: resource.ComposeTestCheckFunc(
				checkContainer(t, h, "mcpai-tgi", func(c acctest.Container) error {
					if err := acctest.ContainsRun(c.Config.Cmd, "--model-id", "bigscience/bloom-560m", "--cuda-memory-fraction", "0.85", "--dtype", "bfloat16",
						"--quantize", "gptq", "--max-batch-size", "32", "--num-shard", "2"); err != nil {
						return err
					}
					return acctest.HasAll(c.Config.Env, "NVIDIA_TF32_OVERRIDE=0")
				}),
				checkContainer(t, h, "mcpai-triton", func(c acctest.Container) error {
					if !slices.Equal(c.Config.Cmd, []string{"tritonserver", "--model-repository=/models"}) {
						return fmt.Errorf("cmd %q", c.Config.Cmd)
					}
					return acctest.HasAll(c.Config.Env, "PYTORCH_CUDA_ALLOC_CONF=max_split_size_mb:512")
				}),
				checkContainer(t, h, "mcpai-ollama", func(c acctest.Container) error {
					return acctest.HasAll(c.Config.Env, "OLLAMA_NUM_PARALLEL=4", "MALLOC_ARENA_MAX=2")
				}),
				checkContainer(t, h, "mcpai-custom", func(c acctest.Container) error {
					return acctest.HasAll(c.Config.Env, "HF_TOKEN=hf_test_secret", "MCPAI_GPU_MEMORY_FRACTION=0.5", "MCPAI_ALLOW_TF32=true", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1",
						"MCPAI_TORCH_COMPILE_MODE=max-autotune", "MCPAI_MAX_BATCH_SIZE=8")
				}),
			),
		}},
	})
}

// TestAccGPUModelRunner_gpus runs on the host with the mock NVIDIA stack:
// the device request is asserted as the engine stores it, and the
// container is handed the GPUs the request names.
func TestAccGPUModelRunner_gpus(t *testing.T) {
	var h acctest.Host
	for _, x := range dockerHosts(t) {
		if x.GPUMock {
			h = x
		}
	}
	if !h.GPUMock {
		t.Fatal("no sandbox host has the mock NVIDIA stack; run scripts/sandbox.sh up 2")
	}
	const name = "mcpai-gpu"
	h.RemoveContainers(t, name)
	t.Cleanup(func() { h.RemoveContainers(t, name) })
	cfg := func(gpus, driver string) string {
		return runnerConfig(t, h, fmt.Sprintf(`
  name       = %q
  image      = %q
  server     = "vllm"
  gpus       = %s
  gpu_driver = %q
`, name, acctest.ModelImageReady, gpus, driver))
	}
	sawDevices := func(want string) func(acctest.Container) error {
		return func(c acctest.Container) error {
			logs, _ := h.DockerOutput("logs", c.ID)
			if !strings.Contains(logs, "modelserver: NVIDIA_VISIBLE_DEVICES="+want+"\n") {
				return fmt.Errorf("the container did not see NVIDIA_VISIBLE_DEVICES=%s:\n%s", want, logs)
			}
			return nil
		}
	}
	hookRan := func(c acctest.Container) error {
		data, err := os.ReadFile(h.NVIDIAHookLog)
		if err != nil || !strings.Contains(string(data), c.ID) {
			return fmt.Errorf("the NVIDIA hook did not run for %s: %w\n%s", c.ID, err, data)
		}
		return nil
	}
	request := func(driver string, count int, ids []string, caps [][]string) func(acctest.Container) error {
		return func(c acctest.Container) error {
			r := c.HostConfig.DeviceRequests
			if len(r) != 1 || r[0].Driver != driver || r[0].Count != count || !slices.Equal(r[0].DeviceIDs, ids) || fmt.Sprint(r[0].Capabilities) != fmt.Sprint(caps) {
				return fmt.Errorf("engine stored device requests %+v", r)
			}
			return nil
		}
	}
	all := func(fs ...func(acctest.Container) error) func(acctest.Container) error {
		return func(c acctest.Container) error {
			for _, f := range fs {
				if err := f(c); err != nil {
					return err
				}
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: cfg(`["1"]`, "nvidia"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("gpu_ids"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("1")})),
				},
				Check: checkContainer(t, h, name, all(request("nvidia", 0, []string{"1"}, [][]string{{"gpu"}}), sawDevices("1"), hookRan)),
			},
			{
				Config: cfg(`2`, "nvidia"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("gpu_ids"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("0"), knownvalue.StringExact("1")})),
				},
				Check: checkContainer(t, h, name, all(request("nvidia", 2, nil, [][]string{{"gpu"}}), sawDevices("0,1"), hookRan)),
			},
			{
				Config: cfg(`"all"`, "nvidia"),
				Check:  checkContainer(t, h, name, all(request("nvidia", -1, nil, [][]string{{"gpu"}}), sawDevices("all"), hookRan)),
			},
			{
				Config: cfg(`["0"]`, "cdi"),
				Check:  checkContainer(t, h, name, all(request("cdi", 0, []string{"nvidia.com/gpu=0"}, nil), sawDevices("0"))),
			},
			{
				Config:      cfg(`["7"]`, "cdi"),
				ExpectError: errorParts("No GPU Support On The Docker Host", "no CDI device nvidia.com/gpu=7", "nvidia.com/gpu=0", "Nothing was created"),
			},
			{
				ResourceName:            accRunnerAddr,
				ImportState:             true,
				ImportStateId:           h.Address + "/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "ssh", "gpu_driver", "gpus"},
			},
		},
	})
}

// TestAccGPUModelRunner_noGPURuntime: on an engine without NVIDIA support a
// GPU request is refused before anything is created.
func TestAccGPUModelRunner_noGPURuntime(t *testing.T) {
	for _, h := range dockerHosts(t) {
		if h.GPUMock {
			continue
		}
		const name = "mcpai-nogpu"
		h.RemoveContainers(t, name)
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			Steps: []resource.TestStep{
				{
					Config: runnerConfig(t, h, fmt.Sprintf(`
  name   = %q
  image  = %q
  server = "vllm"
  gpus   = "all"
`, name, acctest.ModelImageReady)),
					ExpectError: errorParts("No GPU Support On The Docker Host", "no NVIDIA runtime (its runtimes:", "runc) and no CDI GPU devices", "nvidia-ctk runtime configure --runtime=docker", "Nothing was created"),
				},
				{
					Config: runnerConfig(t, h, fmt.Sprintf(`
  name   = %q
  image  = %q
  server = "vllm"
  gpus   = ["0"]
  gpu_driver = "cdi"
`, name, acctest.ModelImageReady)),
					ExpectError: errorParts("No GPU Support On The Docker Host", "no CDI spec directories", "Nothing was created"),
				},
			},
		})
		if _, ok := h.InspectContainer(t, name); ok {
			t.Errorf("a refused GPU request created container %s", name)
		}
	}
}

// TestAccGPUModelRunner_badInputs: each bad input fails with an error that
// names the attribute and what to do, and leaves the host as it was.
func TestAccGPUModelRunner_badInputs(t *testing.T) {
	h := dockerHosts(t)[0]
	const name, squatter = "mcpai-bad", "mcpai-squatter"
	h.RemoveContainers(t, name, squatter)
	t.Cleanup(func() { h.RemoveContainers(t, name, squatter) })
	h.Docker(t, "run", "-d", "--name", squatter, h.DockerImage)
	squatterID := h.Docker(t, "inspect", "--format", "{{.Id}}", squatter)
	body := func(extra string) string {
		return runnerConfig(t, h, fmt.Sprintf(`
  name   = %q
  image  = %q
%s
`, name, acctest.ModelImageReady, extra))
	}
	nothingChanged := func() {
		if c, ok := h.InspectContainer(t, name); ok {
			t.Errorf("a refused input created container %s (%s)", name, c.State.Status)
		}
		c, ok := h.InspectContainer(t, squatter)
		if !ok || c.ID != squatterID || !c.State.Running {
			t.Errorf("the unrelated container %s was touched: %+v", squatter, c)
		}
	}
	plan := func(extra string, want ...string) resource.TestStep {
		return resource.TestStep{PreConfig: nothingChanged, Config: body(extra), PlanOnly: true, ExpectError: errorParts(want...)}
	}
	apply := func(extra string, want ...string) resource.TestStep {
		return resource.TestStep{PreConfig: nothingChanged, Config: body(extra), ExpectError: errorParts(want...)}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             func(*terraform.State) error { nothingChanged(); return nil },
		Steps: []resource.TestStep{
			// At plan time, from the configuration alone.
			plan(`server = "triton"
  gpu_memory_fraction = 0.8`, "Setting Not Supported By This Server", `gpu_memory_fraction cannot be applied to server "triton"`, "Remove gpu_memory_fraction"),
			plan(`server = "ollama"
  allow_tf32 = true`, "Setting Not Supported By This Server", "allow_tf32 = false"),
			plan(`server = "tgi"
  dtype = "float32"`, "Invalid dtype", `"float32" is not one of float16, bfloat16`),
			plan(`server = "vllm"
  dtype = "bfloat16"
  command = ["--model", "m", "--dtype=half"]`, "Flag Set Twice", "command has --dtype=half", "Remove it from command"),
			plan(`server = "vllm"
  cuda_alloc_conf = "expandable_segments:True"
  env = { PYTORCH_CUDA_ALLOC_CONF = "x:y" }`, "Variable Set Twice", "env sets PYTORCH_CUDA_ALLOC_CONF"),
			plan(`server = "vllm"
  env = { HF_TOKEN = "a" }
  sensitive_env = { HF_TOKEN = "b" }`, "Variable Set Twice", "HF_TOKEN is in both env and sensitive_env"),
			plan(`server = "vllm"
  gpus = "many"`, "Invalid GPU Request", `"many" is neither "all", a count`),
			plan(`server = "vllm"
  gpus = []`, "Invalid GPU Request", "the list of GPU ids is empty"),
			plan(`server = "vllm"
  gpus = 1.5`, "Invalid GPU Request", "1.5 is not a whole number of GPUs"),
			plan(`server = "vllm"
  gpus = ["0", "0"]`, "Invalid GPU Request", `GPU id "0" is listed twice`),
			plan(`server = "vllm"
  gpus = 2
  gpu_driver = "cdi"`, "Invalid GPU Request", "CDI requests name their devices"),
			plan(`server = "vllm"
  gpus = ["nvidia.com/gpu=0"]`, "Invalid GPU Request", `set gpu_driver = "cdi"`),
			plan(`server = "vllm"
  memory = "lots"`, "Invalid Size", `"lots" is not a size such as 64g`),
			plan(`server = "vllm"
  cpus = "0"`, "Invalid CPUs", "0.01 or more"),
			plan(`server = "vllm"
  cpuset = "3-1"`, "Invalid CPU Set", "reversed range"),
			plan(`server = "vllm"
  max_retry_count = 3`, "Retry Count Without on-failure"),
			plan(`server = "vllm"
  docker_host = "unix:///var/run/docker.sock"`, "Invalid Attribute Combination", "ssh", "docker_host"),
			plan(`server = "mystery"`, "Invalid Attribute Value Match", "server"),
			// At apply time, against the host, before anything is created.
			apply(`server = "vllm"
  cpus = "64"`, "More CPUs Than The Host Has", "cpus = 64", "Lower cpus", "Nothing was created"),
			apply(`server = "vllm"
  cpuset = "0-63"`, "CPU Set Outside The Host", "names CPU 63", "Nothing was created"),
			apply(`server = "vllm"
  memory = "64t"`, "More Memory Than The Host Has", "Lower memory", "Nothing was created"),
			{
				// A registry on the host's loopback, where none listens: the
				// pull fails at once, and no traffic leaves the sandbox.
				PreConfig: nothingChanged,
				Config:    strings.Replace(body(`server = "vllm"`), acctest.ModelImageReady, "127.0.0.1:5999/mcpai/absent:v1", 1),
				ExpectError: errorParts("Image Not Available", "127.0.0.1:5999/mcpai/absent:v1", "pulling it failed",
					"give registry_auth for a private registry", "Nothing was created"),
			},
			{
				PreConfig: nothingChanged,
				Config:    strings.Replace(body(`server = "vllm"`), fmt.Sprintf("%q", name), fmt.Sprintf("%q", squatter), 1),
				ExpectError: errorParts("Container Name In Use", "A container named "+squatter+" already exists", "Import it",
					"Nothing was changed"),
			},
		},
	})
}

// TestAccGPUModelRunner_updateRollback: an update whose new container does
// not become ready leaves the old one serving, with either strategy.
func TestAccGPUModelRunner_updateRollback(t *testing.T) {
	h := dockerHosts(t)[len(dockerHosts(t))-1]
	const name = "mcpai-roll"
	h.RemoveContainers(t, name)
	t.Cleanup(func() { h.RemoveContainers(t, name) })
	cfg := func(image, strategy, timeout string) string {
		return runnerConfig(t, h, fmt.Sprintf(`
  name     = %q
  image    = %q
  server   = "vllm"
  env      = { MODELSERVER_READY_AFTER = "1s" }
  ports    = [%s]
  update_strategy = %q
  timeouts = { update = %q }
`, name, image, map[string]string{
			// start_first needs the engine to pick host ports: both run at once.
			strategyRecreate:   "{ container_port = 8000, host_port = 18100 }",
			strategyStartFirst: "{ container_port = 8000 }",
		}[strategy], strategy, timeout))
	}
	var id string
	same := func() error {
		c, ok := h.InspectContainer(t, name)
		if !ok || c.ID != id || !c.State.Running {
			return fmt.Errorf("the old container is not back as %s and running: %+v", name, c)
		}
		return h.NoLeftovers(t, name)
	}
	failed := func(config string, want *regexp.Regexp) resource.TestStep {
		return resource.TestStep{Config: config, ExpectError: want}
	}
	// kept: the old container serves on, and the state, which still holds
	// it, has no change to make.
	kept := func(config string) resource.TestStep {
		return resource.TestStep{
			PreConfig: func() {
				if err := same(); err != nil {
					t.Error(err)
				}
			},
			Config:   config,
			PlanOnly: true,
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: cfg(acctest.ModelImageReady, strategyRecreate, "20s"),
				Check: checkContainer(t, h, name, func(c acctest.Container) error {
					id = c.ID
					return nil
				}),
			},
			failed(cfg(acctest.ModelImageExits, strategyRecreate, "20s"),
				errorParts("Model Server Failed To Start", "exited with code 3", "the old one started again")),
			kept(cfg(acctest.ModelImageReady, strategyRecreate, "20s")),
			{
				Config: cfg(acctest.ModelImageReady, strategyStartFirst, "20s"),
				Check: checkContainer(t, h, name, func(c acctest.Container) error {
					id = c.ID
					return nil
				}),
			},
			failed(cfg(acctest.ModelImageNever, strategyStartFirst, "4s"),
				errorParts("Model Server Not Ready In Time", "the old one kept running throughout")),
			kept(cfg(acctest.ModelImageReady, strategyStartFirst, "20s")),
			{
				// start_first: the new one is ready before the old one goes.
				Config: cfg(acctest.ModelImageHealthcheck, strategyStartFirst, "20s"),
				Check: checkContainer(t, h, name, func(c acctest.Container) error {
					if c.ID == id {
						return fmt.Errorf("image change kept the container")
					}
					return h.NoLeftovers(t, name)
				}),
			},
		},
	})
}

// TestAccGPUModelRunner_dockerHost reaches the engine through docker_host
// instead of SSH (readiness from the image's HEALTHCHECK, as the machine
// cannot reach the host's container network), and imports by that URL.
func TestAccGPUModelRunner_dockerHost(t *testing.T) {
	h := dockerHosts(t)[0]
	const name = "mcpai-direct"
	h.RemoveContainers(t, name)
	t.Cleanup(func() { h.RemoveContainers(t, name) })
	url := "unix://" + h.DockerSocket
	config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_gpu_model_runner" "test" {
  docker_host = %q
  name        = %q
  image       = %q
  server      = "custom"
}
`, url, name, acctest.ModelImageHealthcheck)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if _, ok := h.InspectContainer(t, name); ok {
				return fmt.Errorf("destroy left %s", name)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("health"), knownvalue.StringExact("healthy")),
					statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
				},
			},
			{
				ResourceName:            accRunnerAddr,
				ImportState:             true,
				ImportStateId:           url + "|" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
		},
	})
}

// TestAccGPUModelRunner_startFirstFallback: when both containers would
// publish the same host port, start_first cannot run them side by side: the
// plan warns and the replacement is made by recreate.
func TestAccGPUModelRunner_startFirstFallback(t *testing.T) {
	h := dockerHosts(t)[len(dockerHosts(t))-1]
	const name = "mcpai-fallback"
	h.RemoveContainers(t, name)
	t.Cleanup(func() { h.RemoveContainers(t, name) })
	config := func(image string) string {
		return runnerConfig(t, h, fmt.Sprintf(`
  name            = %q
  image           = %q
  server          = "vllm"
  ports           = [{ container_port = 8000, host_port = 18200 }]
  update_strategy = "start_first"
`, name, image))
	}
	w := acctest.NewWorkspace(t, config(acctest.ModelImageReady))
	w.Run([]int{0}, "apply", "-auto-approve")
	t.Cleanup(func() { w.Run([]int{0}, "destroy", "-auto-approve") })
	first, _ := h.InspectContainer(t, name)
	if err := os.WriteFile(w.Dir+"/main.tf", []byte(config(acctest.ModelImageHealthcheck)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out := w.Run([]int{0}, "apply", "-auto-approve")
	if !errorParts("Container Will Be Replaced", "image cannot change in place", `update_strategy = "start_first" cannot be honoured`,
		"both containers would publish host port 18200/tcp").MatchString(out) {
		t.Errorf("no fallback warning in:\n%s", out)
	}
	c, ok := h.InspectContainer(t, name)
	if !ok || c.ID == first.ID || !c.State.Running {
		t.Fatalf("not replaced and running: %+v", c)
	}
	if b := c.HostConfig.PortBindings["8000/tcp"]; len(b) != 1 || b[0].HostPort != "18200" {
		t.Errorf("port bindings %+v", c.HostConfig.PortBindings)
	}
}
