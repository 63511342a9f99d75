package moduletest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// modelRunnerArgs are the module's inputs for a container name on h, then
// extra lines.
func modelRunnerArgs(h acctest.Host, name, extra string) string {
	return fmt.Sprintf("  host  = %q\n  name  = %q\n  image = %q\n%s\n", h.Address, name, acctest.ModelImageReady, extra)
}

// replaceInConfig replaces from with to in the workspace's main.tf.
func replaceInConfig(t *testing.T, w *acctest.Workspace, from, to string) {
	t.Helper()
	p := filepath.Join(w.Dir, "main.tf")
	config, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(config), from) {
		t.Fatalf("%s lacks %q (%v)", p, from, err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(config), from, to, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The module runs the inference server with the guide's container settings
// and the knobs as the server kind's flags and environment, GPUs from the
// (mock) NVIDIA runtime; a change of kind replaces the container; the plan
// is then empty and destroy removes it.
func TestAccModuleModelRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := serviceHost(t)
	const name = "mcpai-module-runner"
	h.RemoveContainers(t, name)
	t.Cleanup(func() { h.RemoveContainers(t, name) })
	const secret = "hf-module-secret-4711"

	common := `
  command       = ["--model", "/models/llama"]
  env           = { MODELSERVER_READY_AFTER = "1s" }
  sensitive_env = { HF_TOKEN = "` + secret + `" }
  ports         = [{ container_port = 8000, host_port = 18100, host_ip = "127.0.0.1" }]
  volumes       = [{ source = "/tmp", target = "/models", read_only = true }]
  timeouts      = { create = "2m", update = "2m" }
`
	const vllm = `
  server              = "vllm"
  gpu_memory_fraction = 0.85
  dtype               = "bfloat16"
  quantization        = "awq"
  max_batch_size      = 32
  tensor_parallel     = 1
  allow_tf32          = true
  cuda_alloc_conf     = "expandable_segments:True"
  python_malloc       = "malloc"
  malloc_arena_max    = 2`
	w := callModule(t, "model-runner", modelRunnerArgs(h, name, common+vllm), "container_id", "state", "gpu_ids", "image_digest")
	// The guide's defaults reach the resource.
	w.Run([]int{0}, "plan", "-out=tfplan")
	_, plan := w.Run([]int{0}, "show", "-json", "tfplan")
	var planned struct {
		ResourceChanges []struct {
			Change struct {
				After struct {
					ShmSize       string            `json:"shm_size"`
					RestartPolicy string            `json:"restart_policy"`
					LogDriver     string            `json:"log_driver"`
					LogOpts       map[string]string `json:"log_opts"`
					Ulimits       []struct {
						Name       string
						Soft, Hard int64
					}
				}
			}
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(plan), &planned); err != nil || len(planned.ResourceChanges) != 1 {
		t.Fatalf("plan: %v:\n%s", err, plan)
	}
	after := planned.ResourceChanges[0].Change.After
	if got := fmt.Sprintf("%s %s %s %v %v", after.ShmSize, after.RestartPolicy, after.LogDriver, after.LogOpts, after.Ulimits); got !=
		"16g unless-stopped json-file map[max-file:3 max-size:100m] [{memlock -1 -1} {stack 67108864 67108864}]" {
		t.Errorf("planned container settings: %s", got)
	}

	// This machine's hard memlock limit is 8 MiB: the engine cannot give a
	// container more.
	replaceInConfig(t, w, common, common+`  ulimits = [{ name = "memlock", soft = 8388608, hard = 8388608 }, { name = "stack", soft = 67108864, hard = 67108864 }]
`)
	_, out := w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})
	if strings.Contains(out, secret) {
		t.Errorf("the apply output shows sensitive_env:\n%s", out)
	}

	c, ok := h.InspectContainer(t, name)
	if !ok {
		t.Fatalf("no container %s", name)
	}
	// The knobs as vLLM's flags after the command, and its environment.
	if err := acctest.ContainsRun(c.Config.Cmd, "--model", "/models/llama", "--gpu-memory-utilization", "0.85", "--dtype", "bfloat16",
		"--quantization", "awq", "--max-num-seqs", "32", "--tensor-parallel-size", "1"); err != nil {
		t.Error(err)
	}
	if err := acctest.HasAll(c.Config.Env, "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True", "PYTHONMALLOC=malloc", "MALLOC_ARENA_MAX=2",
		"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1", "HF_TOKEN="+secret, "MODELSERVER_READY_AFTER=1s"); err != nil {
		t.Error(err)
	}
	// The guide's container settings.
	hc := c.HostConfig
	if hc.ShmSize != 16<<30 || hc.RestartPolicy.Name != "unless-stopped" {
		t.Errorf("shm_size %d, restart policy %q", hc.ShmSize, hc.RestartPolicy.Name)
	}
	ulimits := fmt.Sprint(hc.Ulimits)
	if ulimits != "[{memlock 8388608 8388608} {stack 67108864 67108864}]" {
		t.Errorf("ulimits = %s", ulimits)
	}
	if logs := h.Docker(t, "inspect", "-f", "{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}", name); logs != `json-file {"max-file":"3","max-size":"100m"}` {
		t.Errorf("log config = %s", logs)
	}
	if len(hc.DeviceRequests) != 1 || hc.DeviceRequests[0].Count != -1 || hc.DeviceRequests[0].Driver != "nvidia" {
		t.Errorf("device requests = %+v, want all GPUs through nvidia", hc.DeviceRequests)
	}
	if b := hc.PortBindings["8000/tcp"]; len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != "18100" {
		t.Errorf("port bindings = %+v", hc.PortBindings)
	}
	if !slices.Contains(hc.Binds, "/tmp:/models:ro") {
		t.Errorf("binds = %q", hc.Binds)
	}

	var id, state, digest string
	var gpuIDs []string
	w.OutputJSON("container_id", &id)
	w.OutputJSON("state", &state)
	w.OutputJSON("gpu_ids", &gpuIDs)
	w.OutputJSON("image_digest", &digest)
	if id != c.ID || state != "running" || !slices.Equal(gpuIDs, []string{"all"}) {
		t.Errorf("outputs: container_id %s (container %s), state %s, gpu_ids %q", id, c.ID, state, gpuIDs)
	}
	if digest != "" && !strings.HasPrefix(digest, "mcpai-model@sha256:") {
		t.Errorf("image_digest = %q", digest)
	}
	w.PlanEmpty()

	// Another server kind: the knobs become the custom contract's
	// variables, in a new container.
	replaceInConfig(t, w, vllm, `
  server             = "custom"
  health_path        = "/health"
  gpus               = ["0"]
  torch_compile_mode = "max-autotune"
  max_batch_size     = 8`)
	w.Run([]int{0}, "apply", "-auto-approve")
	c2, ok := h.InspectContainer(t, name)
	if !ok {
		t.Fatalf("no container %s after the change", name)
	}
	if c2.ID == c.ID {
		t.Error("a new server kind kept the container")
	}
	if err := acctest.HasAll(c2.Config.Env, "MCPAI_TORCH_COMPILE_MODE=max-autotune", "MCPAI_MAX_BATCH_SIZE=8"); err != nil {
		t.Error(err)
	}
	w.OutputJSON("container_id", &id)
	w.OutputJSON("gpu_ids", &gpuIDs)
	if id != c2.ID || !slices.Equal(gpuIDs, []string{"0"}) {
		t.Errorf("outputs after the change: container_id %s (container %s), gpu_ids %q", id, c2.ID, gpuIDs)
	}
	w.PlanEmpty()

	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if _, ok := h.InspectContainer(t, name); ok {
		t.Errorf("destroy left container %s", name)
	}
	if err := h.NoLeftovers(t, name); err != nil {
		t.Error(err)
	}
}

// A knob the server kind has no flag for is refused at plan time by the
// resource's own check, before the Docker host is reached (the module's
// validation is tested in modules/model-runner/tests).
func TestAccModuleModelRunner_validation(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := serviceHost(t)
	const name = "mcpai-module-bad"
	w := callModuleAsProbe(t, "model-runner", modelRunnerArgs(h, name, "server = \"triton\"\ndtype = \"bfloat16\""))
	planRefusedAsProbe(t, w, h, `Triton sets precision per model`)
	if _, ok := h.InspectContainer(t, name); ok {
		t.Errorf("a container %s was created", name)
	}
}
