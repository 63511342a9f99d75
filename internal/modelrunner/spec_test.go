package modelrunner

import (
	"encoding/json"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// The test image, as the engine merges it into a container's config.
// NGC-based images set TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1; some set
// allocator variables too.
var (
	testImageEntrypoint = []string{"/opt/nvidia/nvidia_entrypoint.sh"}
	testImageEnv        = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"NVIDIA_VISIBLE_DEVICES=all", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1", "PYTHONMALLOC=malloc", "HF_TOKEN=from-image"}
	testImageLabels = map[string]string{"org.opencontainers.image.version": "24.04", "team": "image's"}
)

// engine stores a create request as dockerd does, with the defaults it
// fills in; the flags choose between behaviours seen across versions.
type engine struct {
	assignPorts    bool                // writes the host ports it picked into the bindings
	fillHostIP     bool                // writes 0.0.0.0 for "all addresses"
	swapRestartNo  bool                // stores "no" for "" and "" for "no"
	defaultUlimits []*container.Ulimit // daemon.json default-ulimits, merged in on start
}

var engines = map[string]engine{
	"as sent": {},
	"filled in": {assignPorts: true, fillHostIP: true, swapRestartNo: true,
		defaultUlimits: []*container.Ulimit{{Name: "nofile", Soft: 1048576, Hard: 1048576}, {Name: "memlock", Soft: 1, Hard: 1}}},
}

// inspect creates s on the engine and inspects it, through JSON as the
// client decodes it.
func (e engine) inspect(t *testing.T, s Spec) container.InspectResponse {
	t.Helper()
	cfg, host, netCfg, err := s.Create()
	if err != nil {
		t.Fatalf("%s: Create: %v", s.Name, err)
	}
	// daemon/create.go merges the image's config in so.
	if len(cfg.Entrypoint) == 0 {
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = slices.Clone(s.ImageCmd)
		}
		if cfg.Entrypoint == nil {
			cfg.Entrypoint = testImageEntrypoint
		}
	}
	for _, kv := range testImageEnv {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(cfg.Env, func(u string) bool { return strings.HasPrefix(u, k+"=") }) {
			cfg.Env = append(cfg.Env, kv)
		}
	}
	for k, v := range testImageLabels {
		if _, ok := cfg.Labels[k]; !ok {
			cfg.Labels[k] = v
		}
	}
	if host.LogConfig.Type == "" {
		host.LogConfig.Type = "json-file"
	}
	if host.ShmSize == 0 {
		host.ShmSize = 64 << 20
	}
	if host.IpcMode == "" {
		host.IpcMode = "private"
	}
	if host.Runtime == "" {
		host.Runtime = "runc"
	}
	if host.NetworkMode == "" {
		host.NetworkMode = "bridge"
	}
	if host.Memory > 0 && host.MemorySwap == 0 {
		host.MemorySwap = 2 * host.Memory
	}
	if e.swapRestartNo {
		switch host.RestartPolicy.Name {
		case "":
			host.RestartPolicy.Name = container.RestartPolicyDisabled
		case container.RestartPolicyDisabled:
			host.RestartPolicy.Name = ""
		}
	}
	next := 32768
	for _, port := range slices.SortedFunc(maps.Keys(host.PortBindings), func(a, b network.Port) int { return strings.Compare(a.String(), b.String()) }) {
		binds := host.PortBindings[port]
		for i := range binds {
			if e.assignPorts && binds[i].HostPort == "" {
				binds[i].HostPort = strconv.Itoa(next)
				next++
			}
			if e.fillHostIP && !binds[i].HostIP.IsValid() {
				binds[i].HostIP = netip.IPv4Unspecified()
			}
		}
	}
	for _, u := range e.defaultUlimits {
		if !slices.ContainsFunc(host.Ulimits, func(h *container.Ulimit) bool { return h.Name == u.Name }) {
			host.Ulimits = append(host.Ulimits, u)
		}
	}
	nets := map[string]*network.EndpointSettings{}
	if netCfg != nil {
		for n := range netCfg.EndpointsConfig {
			nets[n] = &network.EndpointSettings{}
		}
	}
	for _, n := range s.Networks { // the provider connects the rest after create
		nets[n] = &network.EndpointSettings{}
	}
	if len(nets) == 0 {
		nets[string(host.NetworkMode)] = &network.EndpointSettings{}
	}
	c := container.InspectResponse{ID: "c0ffee", Name: "/" + s.Name, Config: cfg, HostConfig: host,
		NetworkSettings: &container.NetworkSettings{Networks: nets}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back container.InspectResponse
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

// richSpec uses every field.
func richSpec() Spec {
	return Spec{
		Name: "llm", Image: "vllm/vllm-openai:v0.8.5", Server: VLLM,
		Entrypoint: []string{"vllm", "serve"},
		Command:    []string{"meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "8192"},
		ImageCmd:   []string{"--help"},
		Env:        map[string]string{"HF_TOKEN": "hf_x", "VLLM_LOGGING_LEVEL": "INFO"},
		Knobs:      allKnobs(VLLM),
		Ports:      []Port{{ContainerPort: 8000, Protocol: "tcp", HostPort: 8080, HostIP: "127.0.0.1"}, {ContainerPort: 8000, Protocol: "tcp"}},
		Volumes:    []Volume{{Source: "/srv/models", Target: "/models", ReadOnly: true}, {Source: "hf-cache", Target: "/root/.cache/huggingface"}},
		Networks:   []string{"models", "monitoring"},
		Labels:     map[string]string{"team": "ml"},
		Restart:    "unless-stopped",
		LogDriver:  "local", LogOpts: map[string]string{"max-size": "10m"},
		Memory: 32 << 30, MemoryReservation: 16 << 30, NanoCPUs: 8e9, Cpuset: "0-7",
		ShmSize: 16 << 30, IpcMode: "host", Runtime: "nvidia",
		Ulimits: []Ulimit{{Name: "stack", Soft: 67108864, Hard: 67108864}, {Name: "memlock", Soft: -1, Hard: -1}},
		GPUs:    GPUs{Driver: DriverNVIDIA, All: true},
	}
}

var observeCases = []struct {
	name string
	spec Spec
}{
	{"minimal", Spec{Name: "m", Image: "vllm/vllm-openai", Server: VLLM}},
	{"image's command", Spec{Name: "m", Image: "vllm/vllm-openai", Server: VLLM, ImageCmd: []string{"--model", "m"}}},
	{"image's command with knob flags", Spec{Name: "m", Image: "ghcr.io/huggingface/text-generation-inference:3.0", Server: TGI,
		ImageCmd: []string{"--json-output"}, Knobs: allKnobs(TGI), Restart: "no"}},
	{"every field", richSpec()},
	{"triton, env knobs", Spec{Name: "triton", Image: "nvcr.io/nvidia/tritonserver:24.04-py3", Server: Triton,
		Command: []string{"tritonserver", "--model-repository=/models"}, Knobs: allKnobs(Triton),
		Volumes: []Volume{{Source: "/srv/repo", Target: "/models", ReadOnly: true}}, ShmSize: 1 << 30,
		Ulimits: []Ulimit{{Name: "memlock", Soft: -1, Hard: -1}, {Name: "stack", Soft: 67108864, Hard: 67108864}},
		GPUs:    GPUs{Driver: DriverNVIDIA, Count: 2}, Restart: "on-failure", MaxRetries: 3}},
	{"triton, TF32 on", Spec{Name: "triton", Image: "nvcr.io/nvidia/tritonserver:24.04-py3", Server: Triton,
		Knobs: Knobs{AllowTF32: boolp(true)}, GPUs: GPUs{Driver: DriverNVIDIA, IDs: []string{"GPU-8f6b2c1e", "1"}}}},
	{"ollama", Spec{Name: "ollama", Image: "ollama/ollama:0.5.7", Server: Ollama, Knobs: allKnobs(Ollama),
		Ports:   []Port{{ContainerPort: 11434, Protocol: "tcp", HostPort: 11434, HostIP: "::1"}},
		Volumes: []Volume{{Source: "ollama", Target: "/root/.ollama"}}, Restart: "always", GPUs: GPUs{Driver: DriverCDI, All: true}}},
	{"custom", Spec{Name: "mine", Image: "registry.example/mine:1", Server: Custom,
		Entrypoint: []string{"/start.sh"}, Command: []string{"--serve"}, Knobs: allKnobs(Custom),
		Env: map[string]string{}, Labels: map[string]string{}, LogOpts: map[string]string{},
		NetworkMode: "models", Networks: []string{"models"},
		GPUs: GPUs{Driver: DriverCDI, IDs: []string{"0", "nvidia.com/gpu=1"}}}},
	{"host network", Spec{Name: "m", Image: "vllm/vllm-openai", Server: VLLM, NetworkMode: "host", Ports: []Port{}, Volumes: []Volume{}, Ulimits: []Ulimit{}}},
	{"empty command with an entrypoint", Spec{Name: "m", Image: "img", Server: Custom, Entrypoint: []string{"python3", "-m", "server"},
		Command: []string{}}},
	// The knobs' flags and variables as the user's own, the knobs unset:
	// they stay the command's and env's.
	{"user's own knob flags and env", Spec{Name: "m", Image: "vllm/vllm-openai", Server: VLLM,
		Command: []string{"--model", "m", "--dtype", "half", "--quantization", "awq"}, Knobs: Knobs{MaxBatchSize: i64(8)},
		Env: map[string]string{"PYTHONMALLOC": "pymalloc", "NVIDIA_TF32_OVERRIDE": "0", "MALLOC_ARENA_MAX": "2"}}},
	{"user's own flags, no knobs", Spec{Name: "m", Image: "vllm/vllm-openai", Server: VLLM,
		Command: []string{"--dtype", "half"}}},
	{"user's own flags, image command", Spec{Name: "m", Image: "vllm/vllm-openai", Server: TGI,
		ImageCmd: []string{"--model-id", "m", "--num-shard", "2"}, Knobs: Knobs{MaxBatchSize: i64(4)}}},
	{"ports", Spec{Name: "m", Image: "img", Server: TGI, Ports: []Port{
		{ContainerPort: 80, Protocol: "tcp", HostPort: 8080, HostIP: "0.0.0.0"},
		{ContainerPort: 80, Protocol: "tcp", HostPort: 8081, HostIP: "::"},
		{ContainerPort: 80, Protocol: "tcp"},
		{ContainerPort: 9000, Protocol: "udp", HostPort: 9000},
		{ContainerPort: 9001, Protocol: "sctp", HostIP: "10.0.0.1"},
	}}},
	// General containers (no server kind): an API service and a proxy.
	{"general: API service", Spec{Name: "api", Image: "registry.example/api:2", Command: []string{"uvicorn", "app:app", "--workers", "4"},
		Env:     map[string]string{"PYTHONMALLOC": "malloc", "MALLOC_ARENA_MAX": "2", "MCPAI_DTYPE": "not a knob here"},
		Ports:   []Port{{ContainerPort: 8000, Protocol: "tcp", HostPort: 8000, HostIP: "127.0.0.1"}},
		Labels:  map[string]string{"traefik.enable": "true"},
		Restart: "unless-stopped", Memory: 2 << 30, NanoCPUs: 2e9, Networks: []string{"web"}}},
	{"general: proxy", Spec{Name: "traefik", Image: "traefik:v3.1", Command: []string{"--providers.file.directory=/etc/traefik"},
		Ports:   []Port{{ContainerPort: 80, Protocol: "tcp", HostPort: 80}, {ContainerPort: 443, Protocol: "tcp", HostPort: 443}},
		Volumes: []Volume{{Source: "/srv/traefik", Target: "/etc/traefik", ReadOnly: true}},
		Ulimits: []Ulimit{{Name: "nofile", Soft: 65535, Hard: 65535}}, Restart: "always"}},
}

// withEngineDefaults is s as Observe reads it back from the engine: the
// attributes the resource keeps from state when the configuration omits
// them are read as the engine set them.
func withEngineDefaults(s Spec) Spec {
	if s.NetworkMode == "" {
		s.NetworkMode = "bridge"
		if len(s.Networks) > 0 {
			s.NetworkMode = s.Networks[0]
		}
	}
	if s.LogDriver == "" {
		s.LogDriver = "json-file"
	}
	if s.ShmSize == 0 {
		s.ShmSize = 64 << 20
	}
	if s.IpcMode == "" {
		s.IpcMode = "private"
	}
	if s.Runtime == "" {
		s.Runtime = "runc"
	}
	return s
}

func TestObserveRoundTrip(t *testing.T) {
	for _, tc := range observeCases {
		for ename, e := range engines {
			c := e.inspect(t, tc.spec)
			got, want := Observe(tc.spec, c), withEngineDefaults(tc.spec)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, engine %s: Observe differs from the spec:\n%s", tc.name, ename, specDiff(want, got))
			}
			if ch, fields := Plan(got, want); ch != NoChange {
				t.Errorf("%s, engine %s: Plan(observed, spec) = %v %q", tc.name, ename, ch, fields)
			}
		}
	}
}

// specDiff names the fields of two specs that differ.
func specDiff(want, got Spec) string {
	var b strings.Builder
	w, g := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := range w.NumField() {
		if !reflect.DeepEqual(w.Field(i).Interface(), g.Field(i).Interface()) {
			wv, gv := w.Field(i).Interface(), g.Field(i).Interface()
			if k, ok := wv.(Knobs); ok {
				wv, gv = show(k), show(gv.(Knobs))
			}
			b.WriteString("  " + w.Type().Field(i).Name + ": want " + strings.TrimSpace(sprint(wv)) + ", got " + sprint(gv) + "\n")
		}
	}
	return b.String()
}

func sprint(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var driftCases = []struct {
	name   string
	change func(c *container.InspectResponse)
	want   func(s *Spec)
}{
	{"nothing", func(*container.InspectResponse) {}, func(*Spec) {}},
	{"no config", func(c *container.InspectResponse) { c.Config = nil }, func(s *Spec) { s.NetworkMode = "" }},
	{"memory", func(c *container.InspectResponse) { c.HostConfig.Memory = 8 << 30 }, func(s *Spec) { s.Memory = 8 << 30 }},
	{"memory limit removed", func(c *container.InspectResponse) { c.HostConfig.Memory = 0 }, func(s *Spec) { s.Memory = 0 }},
	{"reservation", func(c *container.InspectResponse) { c.HostConfig.MemoryReservation = 1 }, func(s *Spec) { s.MemoryReservation = 1 }},
	{"cpus", func(c *container.InspectResponse) { c.HostConfig.NanoCPUs = 2e9 }, func(s *Spec) { s.NanoCPUs = 2e9 }},
	{"cpuset", func(c *container.InspectResponse) { c.HostConfig.CpusetCpus = "0,1" }, func(s *Spec) { s.Cpuset = "0,1" }},
	{"restart", func(c *container.InspectResponse) { c.HostConfig.RestartPolicy.Name = "" }, func(s *Spec) { s.Restart = "no" }},
	{"retries", func(c *container.InspectResponse) {
		c.HostConfig.RestartPolicy = container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 5}
	}, func(s *Spec) { s.Restart, s.MaxRetries = "on-failure", 5 }},
	{"image", func(c *container.InspectResponse) { c.Config.Image = "vllm/vllm-openai:latest" }, func(s *Spec) { s.Image = "vllm/vllm-openai:latest" }},
	{"entrypoint", func(c *container.InspectResponse) { c.Config.Entrypoint = []string{"bash"} }, func(s *Spec) { s.Entrypoint = []string{"bash"} }},
	{"user env value", func(c *container.InspectResponse) { setEnv(c, "HF_TOKEN", "hf_y") },
		func(s *Spec) { s.Env = map[string]string{"HF_TOKEN": "hf_y", "VLLM_LOGGING_LEVEL": "INFO"} }},
	{"user env removed", func(c *container.InspectResponse) { setEnv(c, "VLLM_LOGGING_LEVEL", "") },
		func(s *Spec) { s.Env = map[string]string{"HF_TOKEN": "hf_x"} }},
	{"others' env ignored", func(c *container.InspectResponse) { setEnv(c, "CUDA_VERSION", "12.4") }, func(*Spec) {}},
	{"argument added", func(c *container.InspectResponse) {
		c.Config.Cmd = slices.Insert(c.Config.Cmd, 3, "--enforce-eager")
	}, func(s *Spec) { s.Command = append(s.Command, "--enforce-eager") }},
	{"command changed", func(c *container.InspectResponse) { c.Config.Cmd[0] = "Qwen/Qwen2.5-7B" },
		func(s *Spec) { s.Command = []string{"Qwen/Qwen2.5-7B", "--max-model-len", "8192"} }},
	{"knob flag value", func(c *container.InspectResponse) { setArg(c, "--max-num-seqs", "256") }, func(s *Spec) { s.Knobs.MaxBatchSize = i64(256) }},
	{"knob flag unparseable", func(c *container.InspectResponse) { setArg(c, "--gpu-memory-utilization", "most") },
		func(s *Spec) { s.Knobs.GPUMemoryFraction = nil }},
	{"knob flag removed", func(c *container.InspectResponse) {
		i := slices.Index(c.Config.Cmd, "--dtype")
		c.Config.Cmd = slices.Delete(c.Config.Cmd, i, i+2)
	}, func(s *Spec) { s.Knobs.Dtype = "" }},
	{"knob env value", func(c *container.InspectResponse) { setEnv(c, "PYTHONMALLOC", "debug") }, func(s *Spec) { s.Knobs.PythonMalloc = "debug" }},
	{"knob env removed", func(c *container.InspectResponse) { setEnv(c, "MALLOC_ARENA_MAX", "") }, func(s *Spec) { s.Knobs.MallocArenaMax = nil }},
	{"TF32 override removed", func(c *container.InspectResponse) { setEnv(c, "NVIDIA_TF32_OVERRIDE", "") }, func(s *Spec) { s.Knobs.AllowTF32 = nil }},
	{"gpus count", func(c *container.InspectResponse) {
		c.HostConfig.DeviceRequests = []container.DeviceRequest{{Count: 1, Capabilities: [][]string{{"gpu"}}}}
	}, func(s *Spec) { s.GPUs = GPUs{Driver: DriverNVIDIA, Count: 1} }},
	{"gpus removed", func(c *container.InspectResponse) { c.HostConfig.DeviceRequests = nil }, func(s *Spec) { s.GPUs = GPUs{} }},
	{"gpus another tool's", func(c *container.InspectResponse) {
		c.HostConfig.DeviceRequests = append(c.HostConfig.DeviceRequests, container.DeviceRequest{Driver: "cdi", DeviceIDs: []string{"x.com/y=z"}})
	}, func(s *Spec) { s.GPUs = GPUs{Driver: "unknown"} }},
	{"server label", func(c *container.InspectResponse) { c.Config.Labels[LabelServer] = "tgi" }, func(s *Spec) { s.Server = TGI }},
	{"user label", func(c *container.InspectResponse) { c.Config.Labels["team"] = "infra" }, func(s *Spec) { s.Labels = map[string]string{"team": "infra"} }},
	{"host port", func(c *container.InspectResponse) {
		c.HostConfig.PortBindings[network.MustParsePort("8000/tcp")][0].HostPort = "9090"
	}, func(s *Spec) {
		s.Ports = []Port{{ContainerPort: 8000, Protocol: "tcp"}, {ContainerPort: 8000, Protocol: "tcp", HostPort: 9090, HostIP: "127.0.0.1"}}
	}},
	{"read-write volume", func(c *container.InspectResponse) { c.HostConfig.Binds[0] = "/srv/models:/models" },
		func(s *Spec) {
			s.Volumes = []Volume{{Source: "/srv/models", Target: "/models"}, {Source: "hf-cache", Target: "/root/.cache/huggingface"}}
		}},
	{"network disconnected", func(c *container.InspectResponse) { delete(c.NetworkSettings.Networks, "monitoring") },
		func(s *Spec) { s.Networks = []string{"models"} }},
	{"ulimit", func(c *container.InspectResponse) { c.HostConfig.Ulimits[1].Soft = 1024 },
		func(s *Spec) {
			s.Ulimits = []Ulimit{{Name: "stack", Soft: 67108864, Hard: 67108864}, {Name: "memlock", Soft: 1024, Hard: -1}}
		}},
	{"ulimit gone", func(c *container.InspectResponse) { c.HostConfig.Ulimits = c.HostConfig.Ulimits[1:] },
		func(s *Spec) { s.Ulimits = []Ulimit{{Name: "memlock", Soft: -1, Hard: -1}} }},
	{"log driver", func(c *container.InspectResponse) { c.HostConfig.LogConfig.Type = "json-file" }, func(s *Spec) { s.LogDriver = "json-file" }},
	{"shm", func(c *container.InspectResponse) { c.HostConfig.ShmSize = 64 << 20 }, func(s *Spec) { s.ShmSize = 64 << 20 }},
	{"ipc", func(c *container.InspectResponse) { c.HostConfig.IpcMode = "private" }, func(s *Spec) { s.IpcMode = "private" }},
	{"runtime", func(c *container.InspectResponse) { c.HostConfig.Runtime = "runc" }, func(s *Spec) { s.Runtime = "runc" }},
}

func setEnv(c *container.InspectResponse, key, value string) {
	c.Config.Env = slices.DeleteFunc(c.Config.Env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
	if value != "" {
		c.Config.Env = append(c.Config.Env, key+"="+value)
	}
}

func setArg(c *container.InspectResponse, flag, value string) {
	c.Config.Cmd[slices.Index(c.Config.Cmd, flag)+1] = value
}

func TestObserveDrift(t *testing.T) {
	for _, tc := range driftCases {
		prior := richSpec()
		c := engine{}.inspect(t, prior)
		tc.change(&c)
		want := withEngineDefaults(richSpec())
		tc.want(&want)
		if got := Observe(prior, c); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Observe:\n%s", tc.name, specDiff(want, got))
		}
	}
}

func TestCreate(t *testing.T) {
	s := richSpec()
	s.Ports = append(s.Ports, Port{ContainerPort: 9000, Protocol: "udp", HostPort: 9000, HostIP: "::1"})
	cfg, host, netCfg, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	check("Image", cfg.Image, "vllm/vllm-openai:v0.8.5")
	check("Entrypoint", cfg.Entrypoint, []string{"vllm", "serve"})
	check("Cmd", cfg.Cmd, []string{"meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "8192",
		"--gpu-memory-utilization", "0.9", "--dtype", "bfloat16", "--quantization", "awq", "--max-num-seqs", "128", "--tensor-parallel-size", "2"})
	check("Env", cfg.Env, []string{"HF_TOKEN=hf_x", "MALLOC_ARENA_MAX=4", "NVIDIA_TF32_OVERRIDE=0",
		"PYTHONMALLOC=malloc", "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True,max_split_size_mb:512", "VLLM_LOGGING_LEVEL=INFO"})
	check("Labels", cfg.Labels, map[string]string{"team": "ml", LabelManagedBy: "terraform-provider-mcpai", LabelServer: "vllm"})
	p8000, p9000 := network.MustParsePort("8000/tcp"), network.MustParsePort("9000/udp")
	check("ExposedPorts", cfg.ExposedPorts, network.PortSet{p8000: {}, p9000: {}})
	check("PortBindings", host.PortBindings, network.PortMap{
		p8000: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"}, {}},
		p9000: {{HostIP: netip.MustParseAddr("::1"), HostPort: "9000"}},
	})
	check("Binds", host.Binds, []string{"/srv/models:/models:ro", "hf-cache:/root/.cache/huggingface"})
	check("Ulimits", host.Ulimits, []*container.Ulimit{{Name: "stack", Soft: 67108864, Hard: 67108864}, {Name: "memlock", Soft: -1, Hard: -1}})
	check("RestartPolicy", host.RestartPolicy, container.RestartPolicy{Name: "unless-stopped"})
	check("LogConfig", host.LogConfig, container.LogConfig{Type: "local", Config: map[string]string{"max-size": "10m"}})
	check("Resources", []any{host.Memory, host.MemoryReservation, host.NanoCPUs, host.CpusetCpus, host.MemorySwap},
		[]any{int64(32 << 30), int64(16 << 30), int64(8e9), "0-7", int64(0)})
	check("DeviceRequests", host.DeviceRequests, []container.DeviceRequest{{Driver: "nvidia", Count: -1, Capabilities: [][]string{{"gpu"}}}})
	check("ShmSize, IpcMode, Runtime", []any{host.ShmSize, host.IpcMode, host.Runtime}, []any{int64(16 << 30), container.IpcMode("host"), "nvidia"})
	// The first network is joined at create, and is the network mode.
	check("NetworkMode", host.NetworkMode, container.NetworkMode("models"))
	check("EndpointsConfig", netCfg, &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"models": {}}})
	if s.Labels[LabelManagedBy] != "" || len(s.Labels) != 1 {
		t.Errorf("Create changed the spec's labels: %v", s.Labels)
	}

	s = Spec{Image: "img", Server: VLLM, NetworkMode: "host"}
	cfg, host, netCfg, err = s.Create()
	if err != nil || netCfg != nil || host.NetworkMode != "host" || cfg.Cmd != nil || host.Binds != nil || host.DeviceRequests != nil ||
		!reflect.DeepEqual(cfg.Env, []string{}) || len(cfg.ExposedPorts) != 0 {
		t.Errorf("Create(minimal) = %+v, %+v, %+v, %v", cfg, host, netCfg, err)
	}
	s.NetworkMode, s.Networks = "bridge", []string{"models"}
	if _, host, netCfg, _ = s.Create(); host.NetworkMode != "bridge" || netCfg == nil || netCfg.EndpointsConfig["models"] == nil {
		t.Errorf("Create(network_mode and networks) = %+v, %+v", host.NetworkMode, netCfg)
	}
}

var createErrorCases = []struct {
	name   string
	change func(s *Spec)
	err    string
}{
	{"knob problem", func(s *Spec) { s.Knobs.Dtype = "fp8" }, `"fp8" is not one of`},
	{"unknown server", func(s *Spec) { s.Server = "sglang" }, "is not one of"},
	{"container port 0", func(s *Spec) { s.Ports = []Port{{ContainerPort: 0, Protocol: "tcp"}} }, "not valid"},
	{"container port past 65535", func(s *Spec) { s.Ports = []Port{{ContainerPort: 65536 + 8000, Protocol: "tcp"}} }, "not valid"},
	{"host port past 65535", func(s *Spec) { s.Ports = []Port{{ContainerPort: 80, Protocol: "tcp", HostPort: 70000}} }, "not valid"},
	{"negative host port", func(s *Spec) { s.Ports = []Port{{ContainerPort: 80, Protocol: "tcp", HostPort: -1}} }, "not valid"},
	{"no protocol", func(s *Spec) { s.Ports = []Port{{ContainerPort: 80}} }, "protocols tcp, udp or sctp"},
	{"upper-case protocol", func(s *Spec) { s.Ports = []Port{{ContainerPort: 80, Protocol: "TCP"}} }, "protocols"},
	{"bad host ip", func(s *Spec) { s.Ports = []Port{{ContainerPort: 80, Protocol: "tcp", HostIP: "localhost"}} }, `host_ip "localhost"`},
	{"managed-by label", func(s *Spec) { s.Labels = map[string]string{LabelManagedBy: "me"} }, LabelManagedBy},
	{"server label", func(s *Spec) { s.Labels = map[string]string{LabelServer: "tgi"} }, LabelServer},
	{"kind label", func(s *Spec) { s.Labels = map[string]string{LabelKind: KindGeneral} }, "reserved"},
	{"general: server label", func(s *Spec) { s.Server, s.Knobs, s.Labels = NoServer, Knobs{}, map[string]string{LabelServer: "vllm"} }, "reserved"},
	{"general: kind label", func(s *Spec) { s.Server, s.Knobs, s.Labels = NoServer, Knobs{}, map[string]string{LabelKind: "other"} }, LabelKind},
	{"general: knobs", func(s *Spec) { s.Server = NoServer }, "takes no tuning settings"},
	{"bad gpus", func(s *Spec) { s.GPUs = GPUs{Driver: DriverCDI, Count: 2} }, "CDI requests name their devices"},
	{"gpus set outside", func(s *Spec) { s.GPUs = GPUs{Driver: "unknown", Count: 1} }, "gpu_driver"},
}

func TestCreateErrors(t *testing.T) {
	for _, tc := range createErrorCases {
		s := richSpec()
		tc.change(&s)
		if _, _, _, err := s.Create(); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: Create = %v, want an error with %q", tc.name, err, tc.err)
		}
	}
	// The labels are the resource's own, with the same value: fine.
	s := richSpec()
	s.Labels = map[string]string{LabelManagedBy: "terraform-provider-mcpai", LabelServer: "vllm"}
	if _, _, _, err := s.Create(); err != nil {
		t.Errorf("Create with the resource's own labels: %v", err)
	}
}

// TestOwner: the labels a spec's container gets say which resource made
// it, and only the provider's own labels say so.
func TestOwner(t *testing.T) {
	general := richSpec()
	general.Server, general.Knobs = NoServer, Knobs{}
	for _, tc := range []struct {
		s    Spec
		want Owner
	}{{richSpec(), ModelRunner}, {general, General}} {
		cfg, _, _, err := tc.s.Create()
		if err != nil {
			t.Fatal(err)
		}
		if tc.s.Owner() != tc.want || OwnerOf(cfg.Labels) != tc.want {
			t.Errorf("server %q: Owner() = %v, OwnerOf(labels %v) = %v; want %v", tc.s.Server, tc.s.Owner(), cfg.Labels, OwnerOf(cfg.Labels), tc.want)
		}
	}
	cfg, _, _, _ := general.Create()
	if _, ok := cfg.Labels[LabelServer]; ok || cfg.Labels[LabelKind] != KindGeneral || cfg.Labels["team"] != "ml" {
		t.Errorf("general container's labels %v", cfg.Labels)
	}
	for _, labels := range []map[string]string{
		nil,
		{"team": "ml"},
		{LabelServer: "vllm"},       // not made by the provider
		{LabelKind: KindGeneral},    // likewise
		{LabelManagedBy: managedBy}, // neither kind
		{LabelManagedBy: managedBy, LabelKind: "x"},
	} {
		if got := OwnerOf(labels); got != NotOurs {
			t.Errorf("OwnerOf(%v) = %v, want NotOurs", labels, got)
		}
	}
}

func TestCmdAndEnvList(t *testing.T) {
	r := Rendered{Args: []string{"--dtype", "half"}, Env: map[string]string{"PYTHONMALLOC": "malloc", "B": "knob"}}
	for _, tc := range []struct {
		s    Spec
		r    Rendered
		want []string
	}{
		{Spec{}, Rendered{}, nil},
		{Spec{ImageCmd: []string{"serve"}}, Rendered{}, []string{"serve"}},
		{Spec{ImageCmd: []string{"serve"}}, r, []string{"serve", "--dtype", "half"}},
		{Spec{Command: []string{}, ImageCmd: []string{"serve"}}, r, []string{"--dtype", "half"}},
		{Spec{Command: []string{}}, Rendered{}, []string{}},
		{Spec{Command: []string{"--model", "m"}, ImageCmd: []string{"serve"}}, r, []string{"--model", "m", "--dtype", "half"}},
	} {
		got := tc.s.Cmd(tc.r)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v.Cmd(%+v) = %#v, want %#v", tc.s, tc.r, got, tc.want)
		}
	}
	// Cmd does not write into the spec's slices.
	command := make([]string, 1, 8)
	command[0] = "serve"
	s := Spec{Command: command}
	_ = s.Cmd(r)
	if got := s.Cmd(Rendered{Args: []string{"--x", "1"}}); !slices.Equal(got, []string{"serve", "--x", "1"}) || command[:2][1] != "" {
		t.Errorf("Cmd shares the command's array: %q, %q", got, command[:2])
	}
	env := Spec{Env: map[string]string{"B": "user", "A": "1", "C": "x=y"}}.EnvList(r)
	if want := []string{"A=1", "B=knob", "C=x=y", "PYTHONMALLOC=malloc"}; !slices.Equal(env, want) {
		t.Errorf("EnvList = %q, want %q", env, want)
	}
}

var planCases = []struct {
	name   string
	change func(s *Spec)
	want   Change
	fields []string
}{
	{"nothing", func(*Spec) {}, NoChange, nil},
	{"memory up", func(s *Spec) { s.Memory = 64 << 30 }, InPlace, []string{"memory"}},
	{"memory down", func(s *Spec) { s.Memory = 24 << 30 }, InPlace, []string{"memory"}},
	{"memory removed", func(s *Spec) { s.Memory = 0 }, Replace, []string{"memory"}},
	{"reservation", func(s *Spec) { s.MemoryReservation = 8 << 30 }, InPlace, []string{"memory_reservation"}},
	{"reservation removed", func(s *Spec) { s.MemoryReservation = 0 }, Replace, []string{"memory_reservation"}},
	{"cpus", func(s *Spec) { s.NanoCPUs = 4e9 }, InPlace, []string{"cpus"}},
	{"cpus removed", func(s *Spec) { s.NanoCPUs = 0 }, Replace, []string{"cpus"}},
	{"cpuset", func(s *Spec) { s.Cpuset = "0-3" }, InPlace, []string{"cpuset"}},
	{"cpuset removed", func(s *Spec) { s.Cpuset = "" }, Replace, []string{"cpuset"}},
	{"restart", func(s *Spec) { s.Restart = "always" }, InPlace, []string{"restart_policy"}},
	{"retries", func(s *Spec) { s.Restart, s.MaxRetries = "on-failure", 3 }, InPlace, []string{"restart_policy"}},
	{"several in place", func(s *Spec) { s.Memory, s.NanoCPUs, s.Restart = 1<<30, 1e9, "no" }, InPlace, []string{"memory", "cpus", "restart_policy"}},
	{"image", func(s *Spec) { s.Image = "vllm/vllm-openai:v0.9.0" }, Replace, []string{"image"}},
	{"image and memory", func(s *Spec) { s.Image, s.Memory = "x", 1 }, Replace, []string{"image", "memory"}},
	{"image, memory removed", func(s *Spec) { s.Image, s.Memory = "x", 0 }, Replace, []string{"memory", "image"}},
	{"name", func(s *Spec) { s.Name = "llm2" }, Replace, []string{"name"}},
	{"entrypoint", func(s *Spec) { s.Entrypoint = nil }, Replace, []string{"entrypoint"}},
	{"command", func(s *Spec) { s.Command = s.Command[:1] }, Replace, []string{"command"}},
	{"image's command", func(s *Spec) {
		s.Command, s.ImageCmd = nil, []string{"meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "8192"}
	}, NoChange, nil},
	{"flag knob", func(s *Spec) { s.Knobs.Dtype = "half" }, Replace, []string{"dtype"}},
	{"env knob", func(s *Spec) { s.Knobs.PythonMalloc = "debug" }, Replace, []string{"python_malloc"}},
	{"env", func(s *Spec) { s.Env = map[string]string{"HF_TOKEN": "hf_y"} }, Replace, []string{"env"}},
	{"server", func(s *Spec) { s.Server = Custom }, Replace, []string{"server"}},
	{"ports", func(s *Spec) { s.Ports = s.Ports[:1] }, Replace, []string{"ports"}},
	{"volumes", func(s *Spec) { s.Volumes = nil }, Replace, []string{"volumes"}},
	{"network mode", func(s *Spec) { s.NetworkMode = "host" }, Replace, []string{"network_mode"}},
	{"networks", func(s *Spec) { s.Networks = []string{"models"} }, Replace, []string{"networks"}},
	{"labels", func(s *Spec) { s.Labels = map[string]string{"team": "x"} }, Replace, []string{"labels"}},
	{"labels nil and empty are the same", func(s *Spec) { s.Labels = map[string]string{} }, Replace, []string{"labels"}},
	{"log", func(s *Spec) { s.LogOpts = nil }, Replace, []string{"log"}},
	{"shm", func(s *Spec) { s.ShmSize = 1 << 30 }, Replace, []string{"shm_size"}},
	{"ipc", func(s *Spec) { s.IpcMode = "" }, Replace, []string{"ipc_mode"}},
	{"runtime", func(s *Spec) { s.Runtime = "" }, Replace, []string{"runtime"}},
	{"ulimits", func(s *Spec) { s.Ulimits = s.Ulimits[1:] }, Replace, []string{"ulimits"}},
	{"gpus", func(s *Spec) { s.GPUs = GPUs{Driver: DriverNVIDIA, Count: 1} }, Replace, []string{"gpus"}},
}

func TestPlan(t *testing.T) {
	for _, tc := range planCases {
		old, next := richSpec(), richSpec()
		tc.change(&next)
		got, fields := Plan(old, next)
		if tc.name == "labels nil and empty are the same" {
			next.Labels, old.Labels = map[string]string{}, nil
			got, fields = Plan(old, next)
			tc.want, tc.fields = NoChange, nil
		}
		if got != tc.want || !slices.Equal(fields, tc.fields) {
			t.Errorf("%s: Plan = %v %q, want %v %q", tc.name, got, fields, tc.want, tc.fields)
		}
	}
	// The same request spelt differently.
	for _, pair := range [][2]Spec{
		{{Restart: ""}, {Restart: "no"}},
		{{GPUs: GPUs{Driver: DriverCDI, IDs: []string{"0"}}}, {GPUs: GPUs{Driver: DriverCDI, IDs: []string{"nvidia.com/gpu=0"}}}},
		{{GPUs: GPUs{}}, {GPUs: GPUs{Driver: DriverNVIDIA}}},
		{{Env: nil}, {Env: map[string]string{}}},
		{{Command: nil, ImageCmd: []string{"a"}}, {Command: []string{"a"}}},
	} {
		pair[0].Server, pair[1].Server = VLLM, VLLM
		if got, fields := Plan(pair[0], pair[1]); got != NoChange {
			t.Errorf("Plan(%+v, %+v) = %v %q", pair[0], pair[1], got, fields)
		}
	}
}

func TestUpdate(t *testing.T) {
	s := richSpec()
	s.Restart, s.MaxRetries = "on-failure", 2
	u := Update(s)
	want := container.UpdateConfig{
		Resources:     container.Resources{Memory: 32 << 30, MemorySwap: 64 << 30, MemoryReservation: 16 << 30, NanoCPUs: 8e9, CpusetCpus: "0-7"},
		RestartPolicy: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2},
	}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("Update = %+v, want %+v", u, want)
	}
	// Without a memory limit the swap limit is left alone.
	s.Memory = 0
	if u := Update(s); u.MemorySwap != 0 || u.Memory != 0 {
		t.Errorf("Update without memory = %+v", u.Resources)
	}
}
