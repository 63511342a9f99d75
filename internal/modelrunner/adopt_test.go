package modelrunner

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// testImage is what the simulated engine merges into containers of s.
func testImage(s Spec) ImageDefaults {
	return ImageDefaults{Entrypoint: testImageEntrypoint, Cmd: s.ImageCmd, Env: testImageEnv, Labels: testImageLabels}
}

// adoptCases are observeCases and a few whose values repeat the image's or
// whose networks are not in order.
func adoptCases() []struct {
	name string
	spec Spec
} {
	cases := slices.Clone(observeCases)
	add := func(name string, s Spec) {
		cases = append(cases, struct {
			name string
			spec Spec
		}{name, s})
	}
	add("the image's own values given again", Spec{Name: "m", Image: "img", Server: VLLM,
		Entrypoint: testImageEntrypoint, Command: []string{"serve"}, ImageCmd: []string{"serve"},
		Env:    map[string]string{"HF_TOKEN": "from-image", "NVIDIA_VISIBLE_DEVICES": "0"},
		Labels: map[string]string{"team": "image's", "org.opencontainers.image.version": "25.01"},
		Knobs:  Knobs{PythonMalloc: "malloc", AllowTF32: boolp(true), MallocArenaMax: i64(2)}})
	add("networks not in order", Spec{Name: "m", Image: "img", Server: TGI, Networks: []string{"zeta", "alpha", "mid"}})
	add("restart no", Spec{Name: "m", Image: "img", Server: Ollama, Restart: "no"})
	return cases
}

// TestAdopt: a container made from a spec and merged with its image, as
// dockerd does, adopts back to that spec where it is not the image's or
// the engine's; it reads back unchanged; and it makes the same container.
func TestAdopt(t *testing.T) {
	for _, tc := range adoptCases() {
		for ename, e := range engines {
			name := tc.name + ", engine " + ename
			s := tc.spec
			c := e.inspect(t, s)
			got := AdoptAs(c, testImage(s), s.Owner())
			checkAdopted(t, name, s, got, e)

			if again := Observe(got, c); !reflect.DeepEqual(again, got) {
				t.Errorf("%s: the adopted spec does not read back the same:\n%s", name, specDiff(got, again))
			}
			if ch, fields := Plan(got, Observe(got, c)); ch != NoChange {
				t.Errorf("%s: Plan(adopted, observed) = %v %q", name, ch, fields)
			}
			checkSameContainer(t, name, c, e.inspect(t, got))
		}
	}
}

func checkAdopted(t *testing.T, name string, s, got Spec, e engine) {
	t.Helper()
	img := testImage(s)
	imageEnv := envMap(img.Env)
	fail := func(field string, want, have any) {
		t.Helper()
		t.Errorf("%s: adopted %s = %s, want %s", name, field, sprint(have), sprint(want))
	}
	if got.Name != s.Name || got.Image != s.Image || got.Server != s.Server {
		fail("name, image, server", []any{s.Name, s.Image, s.Server}, []any{got.Name, got.Image, got.Server})
	}
	if !slices.Equal(got.ImageCmd, s.ImageCmd) {
		fail("ImageCmd", s.ImageCmd, got.ImageCmd)
	}
	live := func(x Spec) []any { return []any{x.Memory, x.MemoryReservation, x.NanoCPUs, x.Cpuset, x.MaxRetries} }
	if !reflect.DeepEqual(live(got), live(s)) {
		fail("resources", live(s), live(got))
	}
	if got.Restart != restartMode(s.Restart) {
		fail("Restart", restartMode(s.Restart), got.Restart)
	}

	// The image's entrypoint, command, variables and labels are left unset.
	wantEntrypoint := s.Entrypoint
	if slices.Equal(wantEntrypoint, img.Entrypoint) {
		wantEntrypoint = nil
	}
	if !reflect.DeepEqual(got.Entrypoint, wantEntrypoint) {
		fail("Entrypoint", wantEntrypoint, got.Entrypoint)
	}
	wantLabels := withoutImage(s.Labels, img.Labels)
	if !reflect.DeepEqual(got.Labels, wantLabels) {
		fail("Labels", wantLabels, got.Labels)
	}
	// The command as it runs, and the variables set on top of the image,
	// are the spec's, however split between knobs and command or env.
	rs, _ := Render(s.Server, s.Knobs)
	rg, probs := Render(got.Server, got.Knobs)
	if len(probs) > 0 {
		t.Errorf("%s: adopted knobs %s do not render: %+v", name, show(got.Knobs), probs)
	}
	if !slices.Equal(got.Cmd(rg), s.Cmd(rs)) {
		fail("command as run", s.Cmd(rs), got.Cmd(rg))
	}
	if want, have := withoutImage(envMap(s.EnvList(rs)), imageEnv), withoutImage(envMap(got.EnvList(rg)), imageEnv); !maps.Equal(want, have) {
		fail("environment over the image's", want, have)
	}
	// Where the spec's own command and env hold nothing a knob sets, the
	// split is the spec's too: knobs stay knobs unless the image sets
	// their variables to the same values itself.
	all, _ := Render(s.Server, allKnobs(s.Server))
	ownFlags := slices.ContainsFunc(s.Command, func(a string) bool { return slices.Contains(all.Args, a) }) ||
		slices.ContainsFunc(s.ImageCmd, func(a string) bool { return slices.Contains(all.Args, a) })
	ownVars := slices.ContainsFunc(slices.Collect(maps.Keys(s.Env)), func(k string) bool { return slices.Contains(KnobEnvKeys(s.Server), k) })
	if !ownFlags && !ownVars {
		wantCommand := s.Command
		if len(wantCommand) == 0 || slices.Equal(wantCommand, s.ImageCmd) {
			wantCommand = nil
		}
		if !slices.Equal(got.Command, wantCommand) || (got.Command == nil) != (wantCommand == nil) {
			fail("Command", wantCommand, got.Command)
		}
		if want := withoutImage(s.Env, imageEnv); !reflect.DeepEqual(got.Env, want) {
			fail("Env", want, got.Env)
		}
		if want := knobsNotTheImages(s.Server, s.Knobs, imageEnv); !reflect.DeepEqual(got.Knobs, want) {
			t.Errorf("%s: adopted knobs %s, want %s", name, show(got.Knobs), show(want))
		}
	}

	// The rest as the engine holds it.
	d := withEngineDefaults(s)
	engineSet := func(x Spec) []any { return []any{x.NetworkMode, x.LogDriver, x.ShmSize, x.IpcMode, x.Runtime} }
	if !reflect.DeepEqual(engineSet(got), engineSet(d)) {
		fail("engine-defaulted fields", engineSet(d), engineSet(got))
	}
	if !maps.Equal(got.LogOpts, s.LogOpts) || (got.LogOpts != nil && len(got.LogOpts) == 0) {
		fail("LogOpts", s.LogOpts, got.LogOpts)
	}
	if !slices.Equal(got.Volumes, s.Volumes) {
		fail("Volumes", s.Volumes, got.Volumes)
	}
	if !samePorts(s.Ports, got.Ports) {
		fail("Ports", s.Ports, got.Ports)
	}
	// The network mode's network first (Create makes it of the first).
	wantNets := slices.Clone(s.Networks)
	if len(wantNets) > 1 {
		slices.Sort(wantNets[1:])
	}
	if !slices.Equal(got.Networks, wantNets) {
		fail("Networks", wantNets, got.Networks)
	}
	// The spec's ulimits, then the daemon's defaults it did not name.
	wantUlimits := slices.Clone(s.Ulimits)
	for _, u := range e.defaultUlimits {
		if !slices.ContainsFunc(s.Ulimits, func(o Ulimit) bool { return o.Name == u.Name }) {
			wantUlimits = append(wantUlimits, Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
		}
	}
	if !slices.Equal(got.Ulimits, wantUlimits) {
		fail("Ulimits", wantUlimits, got.Ulimits)
	}
	if !got.GPUs.Equal(s.GPUs) {
		fail("GPUs", s.GPUs, got.GPUs)
	}
}

// withoutImage is m less what the image sets to the same value; nil when
// nothing is left.
func withoutImage(m, image map[string]string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if iv, ok := image[k]; ok && iv == v {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// knobsNotTheImages is k less the knobs whose variables the image already
// sets to the same values: a container cannot tell those from the image's.
func knobsNotTheImages(s Server, k Knobs, imageEnv map[string]string) Knobs {
	v := reflect.ValueOf(&k).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			continue
		}
		var one Knobs
		reflect.ValueOf(&one).Elem().Field(i).Set(v.Field(i))
		r, _ := Render(s, one)
		if len(r.Args) == 0 && len(r.Env) > 0 && len(withoutImage(r.Env, imageEnv)) == 0 {
			v.Field(i).SetZero()
		}
	}
	return k
}

// samePorts: the same bindings in any order, an engine-picked host port
// (want 0) matching any and "" matching an unspecified address.
func samePorts(want, got []Port) bool {
	if len(want) != len(got) {
		return false
	}
	used := make([]bool, len(got))
next:
	for _, w := range want {
		for i, g := range got {
			if !used[i] && g.ContainerPort == w.ContainerPort && g.Protocol == w.Protocol && sameHostIP(w.HostIP, g.HostIP) &&
				(w.HostPort == 0 || w.HostPort == g.HostPort) {
				used[i] = true
				continue next
			}
		}
		return false
	}
	return true
}

// checkSameContainer compares what two containers run with: the config
// and host config fields a spec sets, in their meaning (binding order,
// "" and "no" restart policies, nil and empty lists are not differences).
func checkSameContainer(t *testing.T, name string, a, b container.InspectResponse) {
	t.Helper()
	diff := func(field string, x, y any) {
		t.Helper()
		if !reflect.DeepEqual(x, y) {
			t.Errorf("%s: the adopted spec makes another container: %s %s, was %s", name, field, sprint(y), sprint(x))
		}
	}
	orNil := func(l []string) []string {
		if len(l) == 0 {
			return nil
		}
		return l
	}
	diff("Image", a.Config.Image, b.Config.Image)
	diff("Entrypoint", orNil(a.Config.Entrypoint), orNil(b.Config.Entrypoint))
	diff("Cmd", orNil(a.Config.Cmd), orNil(b.Config.Cmd))
	diff("Env", slices.Sorted(slices.Values(a.Config.Env)), slices.Sorted(slices.Values(b.Config.Env)))
	diff("Labels", a.Config.Labels, b.Config.Labels)
	ah, bh := a.HostConfig, b.HostConfig
	diff("NetworkMode", ah.NetworkMode, bh.NetworkMode)
	diff("RestartPolicy", []any{restartMode(string(ah.RestartPolicy.Name)), ah.RestartPolicy.MaximumRetryCount},
		[]any{restartMode(string(bh.RestartPolicy.Name)), bh.RestartPolicy.MaximumRetryCount})
	logOpts := func(h *container.HostConfig) map[string]string {
		if len(h.LogConfig.Config) == 0 {
			return nil
		}
		return h.LogConfig.Config
	}
	diff("LogConfig", []any{ah.LogConfig.Type, logOpts(ah)}, []any{bh.LogConfig.Type, logOpts(bh)})
	resources := func(h *container.HostConfig) []any {
		return []any{h.Memory, h.MemoryReservation, h.MemorySwap, h.NanoCPUs, h.CpusetCpus, h.DeviceRequests, h.ShmSize, h.IpcMode, h.Runtime}
	}
	diff("resources", resources(ah), resources(bh))
	diff("Binds", orNil(ah.Binds), orNil(bh.Binds))
	diff("Ulimits", ah.Ulimits, bh.Ulimits)
	diff("PortBindings", bindings(ah.PortBindings), bindings(bh.PortBindings))
	diff("networks", slices.Sorted(maps.Keys(a.NetworkSettings.Networks)), slices.Sorted(maps.Keys(b.NetworkSettings.Networks)))
}

func bindings(pm network.PortMap) []string {
	var out []string
	for port, bs := range pm {
		for _, b := range bs {
			out = append(out, port.String()+" "+b.HostIP.String()+" "+b.HostPort)
		}
	}
	slices.Sort(out)
	return out
}

// A container's image, for the cases below: an NGC-like image without the
// TF32 variable, so that the container's own can be told.
var plainImage = ImageDefaults{
	Entrypoint: []string{"/entrypoint.sh"},
	Cmd:        []string{"serve"},
	Env:        []string{"PATH=/usr/bin:/bin", "PYTHONMALLOC=malloc"},
	Labels:     map[string]string{"vendor": "x"},
}

// container made by hand (docker run), merged with plainImage.
func handMade(server Server, cmd []string, env ...string) container.InspectResponse {
	labels := map[string]string{"vendor": "x"}
	if server != "" {
		labels[LabelServer] = string(server)
		labels[LabelManagedBy] = managedBy
	}
	return container.InspectResponse{
		ID: "beef", Name: "/m",
		Config: &container.Config{Image: "img:1", Entrypoint: plainImage.Entrypoint, Cmd: cmd,
			Env: mergeEnv(plainImage.Env, env), Labels: labels},
		HostConfig:      &container.HostConfig{NetworkMode: "bridge", RestartPolicy: container.RestartPolicy{Name: "no"}},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{"bridge": {}}},
	}
}

// mergeEnv is the image's environment with the container's own over it,
// as dockerd merges them.
func mergeEnv(image, own []string) []string {
	out := slices.Clone(image)
	for _, kv := range own {
		k, _, _ := strings.Cut(kv, "=")
		if i := slices.IndexFunc(out, func(o string) bool { return strings.HasPrefix(o, k+"=") }); i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

func TestAdoptCases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       container.InspectResponse
		knobs   Knobs
		command []string
		env     map[string]string
	}{
		{name: "nothing on top of the image", c: handMade(VLLM, plainImage.Cmd)},
		{name: "no server label: custom, flags stay the command's",
			c:       handMade("", []string{"--model", "m", "--dtype", "half"}, "MCPAI_DTYPE=bfloat16", "HF_TOKEN=hf_x"),
			command: []string{"--model", "m", "--dtype", "half"}, knobs: Knobs{Dtype: "bfloat16"}, env: map[string]string{"HF_TOKEN": "hf_x"}},
		{name: "knob flags after the image's command", c: handMade(VLLM, []string{"serve", "--dtype", "half", "--max-num-seqs", "8"}),
			knobs: Knobs{Dtype: "half", MaxBatchSize: i64(8)}},
		{name: "the image's variable with the knob's value is the image's", c: handMade(VLLM, plainImage.Cmd, "MALLOC_ARENA_MAX=2"),
			knobs: Knobs{MallocArenaMax: i64(2)}},
		{name: "the image's variable with another value is the knob", c: handMade(VLLM, plainImage.Cmd, "PYTHONMALLOC=pymalloc"),
			knobs: Knobs{PythonMalloc: "pymalloc"}},
		{name: "TF32 off", c: handMade(TGI, plainImage.Cmd, "NVIDIA_TF32_OVERRIDE=0"), knobs: Knobs{AllowTF32: boolp(false)}},
		{name: "TF32 variables that contradict each other are env",
			c:   handMade(VLLM, plainImage.Cmd, "NVIDIA_TF32_OVERRIDE=0", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1"),
			env: map[string]string{"NVIDIA_TF32_OVERRIDE": "0", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}},
		{name: "TF32 on cannot be Ollama's: env", c: handMade(Ollama, plainImage.Cmd, "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1"),
			env: map[string]string{"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}},
		{name: "a knob variable that does not parse is env", c: handMade(Triton, plainImage.Cmd, "MALLOC_ARENA_MAX=lots"),
			env: map[string]string{"MALLOC_ARENA_MAX": "lots"}},
		{name: "a knob variable the knob refuses is env", c: handMade(Triton, plainImage.Cmd, "PYTHONMALLOC=jemalloc"),
			env: map[string]string{"PYTHONMALLOC": "jemalloc"}},
		{name: "a custom knob variable out of range is env", c: handMade(Custom, plainImage.Cmd, "MCPAI_GPU_MEMORY_FRACTION=1.5", "MCPAI_DTYPE=bfloat16"),
			knobs: Knobs{Dtype: "bfloat16"}, env: map[string]string{"MCPAI_GPU_MEMORY_FRACTION": "1.5"}},
		{name: "custom TF32 on with PyTorch's variable", c: handMade(Custom, plainImage.Cmd, "MCPAI_ALLOW_TF32=true", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1"),
			knobs: Knobs{AllowTF32: boolp(true)}},
		{name: "custom TF32 on without PyTorch's variable is env", c: handMade(Custom, plainImage.Cmd, "MCPAI_ALLOW_TF32=true"),
			env: map[string]string{"MCPAI_ALLOW_TF32": "true"}},
		{name: "custom TF32 off without NVIDIA's variable is env", c: handMade(Custom, plainImage.Cmd, "MCPAI_ALLOW_TF32=false", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1"),
			env: map[string]string{"MCPAI_ALLOW_TF32": "false", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}},
		{name: "a flag value the knob refuses stays in the command", c: handMade(TGI, []string{"serve", "--max-batch-size", "4", "--dtype", "float32"}),
			command: []string{"serve", "--max-batch-size", "4", "--dtype", "float32"}},
		{name: "a flag value spelt otherwise stays in the command", c: handMade(VLLM, []string{"serve", "--gpu-memory-utilization", "0.90"}),
			command: []string{"serve", "--gpu-memory-utilization", "0.90"}},
		{name: "a flag value that does not parse stays in the command", c: handMade(VLLM, []string{"serve", "--max-num-seqs", "many"}),
			command: []string{"serve", "--max-num-seqs", "many"}},
		{name: "an unknown server kind reads no knobs", c: handMade("sglang", []string{"serve", "--dtype", "half"}, "NVIDIA_TF32_OVERRIDE=0"),
			command: []string{"serve", "--dtype", "half"}, env: map[string]string{"NVIDIA_TF32_OVERRIDE": "0"}},
	} {
		got := Adopt(tc.c, plainImage)
		if !reflect.DeepEqual(got.Knobs, tc.knobs) || !reflect.DeepEqual(got.Command, tc.command) || !reflect.DeepEqual(got.Env, tc.env) {
			t.Errorf("%s: Adopt = knobs %s, command %q, env %v; want %s, %q, %v",
				tc.name, show(got.Knobs), got.Command, got.Env, show(tc.knobs), tc.command, tc.env)
		}
		if got.Entrypoint != nil || got.Labels != nil || got.Restart != "no" || got.Name != "m" || got.Image != "img:1" {
			t.Errorf("%s: Adopt = entrypoint %q, labels %v, restart %q, name %q, image %q", tc.name, got.Entrypoint, got.Labels, got.Restart, got.Name, got.Image)
		}
		// What the spec runs is what the container runs.
		r, _ := Render(got.Server, got.Knobs)
		if cmd := got.Cmd(r); !slices.Equal(cmd, tc.c.Config.Cmd) {
			t.Errorf("%s: the adopted spec runs %q, the container %q", tc.name, cmd, tc.c.Config.Cmd)
		}
		want := slices.Sorted(slices.Values(tc.c.Config.Env))
		if env := slices.Sorted(slices.Values(mergeEnv(plainImage.Env, got.EnvList(r)))); !slices.Equal(env, want) {
			t.Errorf("%s: the adopted spec's environment over the image's is %q, the container's %q", tc.name, env, want)
		}
		if again := Observe(got, tc.c); !reflect.DeepEqual(again, got) {
			t.Errorf("%s: the adopted spec does not read back the same:\n%s", tc.name, specDiff(got, again))
		}
	}
}

func TestAdoptRestartPolicy(t *testing.T) {
	for stored, want := range map[string]string{"": "no", "no": "no", "always": "always", "on-failure": "on-failure"} {
		c := handMade(VLLM, plainImage.Cmd)
		c.HostConfig.RestartPolicy.Name = container.RestartPolicyMode(stored)
		if got := Adopt(c, plainImage).Restart; got != want {
			t.Errorf("restart policy %q adopts as %q, want %q", stored, got, want)
		}
	}
}

func TestAdoptWithoutConfig(t *testing.T) {
	c := handMade(VLLM, nil)
	c.Config = nil
	if got := Adopt(c, plainImage); !reflect.DeepEqual(got, Spec{Name: "m", ImageCmd: plainImage.Cmd}) {
		t.Errorf("Adopt without a config = %+v", got)
	}
	c = handMade(VLLM, nil)
	c.HostConfig = nil
	if got := Adopt(c, plainImage); !reflect.DeepEqual(got, Spec{Name: "m", ImageCmd: plainImage.Cmd}) {
		t.Errorf("Adopt without a host config = %+v", got)
	}
}
