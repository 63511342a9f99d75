package modelrunner

import (
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// fuzzDrivers are the gpu_driver values the fuzz targets draw from: the
// two there are, the default, and ones that are not.
var fuzzDrivers = []string{"", DriverNVIDIA, DriverCDI, "amd", "unknown"}

// sep splits one fuzzed string into a list.
const sep = "\x1f"

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

func FuzzGPUs(f *testing.F) {
	for _, tc := range parseGPUsCases {
		f.Add(uint8(slices.Index(fuzzDrivers, tc.driver)), tc.single, strings.Join(tc.ids, sep), tc.ids != nil, int64(0))
	}
	f.Add(uint8(2), "", "0"+sep+"nvidia.com/gpu=0", true, int64(-1))
	f.Add(uint8(1), "", "GPU-1"+sep+"1"+sep+"", true, int64(3))
	f.Fuzz(func(t *testing.T, driver uint8, single, ids string, list bool, count int64) {
		d := fuzzDrivers[int(driver)%len(fuzzDrivers)]
		var l []string
		if list {
			l = append([]string{}, split(ids)...)
		}
		g, err := ParseGPUs(d, single, l)
		if err != nil {
			if !reflect.DeepEqual(g, GPUs{}) {
				t.Fatalf("ParseGPUs(%q, %q, %q) = %+v with error %v", d, single, l, g, err)
			}
		} else {
			if err := g.Validate(); err != nil {
				t.Fatalf("ParseGPUs(%q, %q, %q) = %+v, which does not validate: %v", d, single, l, g, err)
			}
			if g.None() {
				t.Fatalf("ParseGPUs(%q, %q, %q) requests none", d, single, l)
			}
			checkRequest(t, g)
		}

		// Any request the engine may hold reads back without a panic, and
		// one that reads back as valid is made again the same.
		reqs := []container.DeviceRequest{{Driver: d, Count: int(count), DeviceIDs: split(ids)}}
		if single != "" {
			reqs = append(reqs, container.DeviceRequest{Driver: single})
		}
		if back, ok := GPUsFromDeviceRequests(reqs); ok && !back.None() && back.Validate() == nil {
			checkRequest(t, back)
		}
		_ = CheckEngine(g, EngineGPU{Runtimes: split(single), CDISpecDirs: split(ids), CDIDevices: split(ids), Discovered: list})
	})
}

// checkRequest checks what a valid request becomes.
func checkRequest(t *testing.T, g GPUs) {
	t.Helper()
	reqs := g.DeviceRequests()
	if len(reqs) != 1 {
		t.Fatalf("%+v.DeviceRequests() = %+v", g, reqs)
	}
	r := reqs[0]
	if r.Driver != g.Driver && (g.Driver != "" || r.Driver != DriverNVIDIA) {
		t.Fatalf("%+v.DeviceRequests() has driver %q", g, r.Driver)
	}
	if r.Driver == DriverNVIDIA && (!reflect.DeepEqual(r.Capabilities, [][]string{{"gpu"}}) ||
		g.All != (r.Count == -1) || (r.Count != 0) == (len(r.DeviceIDs) > 0)) {
		t.Fatalf("%+v.DeviceRequests() = %+v", g, r)
	}
	if r.Driver == DriverCDI && (r.Count != 0 || len(r.DeviceIDs) == 0 ||
		slices.ContainsFunc(r.DeviceIDs, func(id string) bool { return !strings.Contains(id, "=") })) {
		t.Fatalf("%+v.DeviceRequests() = %+v: CDI names are qualified", g, r)
	}
	back, ok := GPUsFromDeviceRequests(reqs)
	if !ok || !back.Equal(g) || !g.Equal(back) || !g.Equal(g) {
		t.Fatalf("%+v: DeviceRequests %+v read back as %+v, %v", g, reqs, back, ok)
	}
	if r.Driver == DriverNVIDIA { // as the docker CLI sends it
		r.Driver = ""
		if back, ok := GPUsFromDeviceRequests([]container.DeviceRequest{r}); !ok || !back.Equal(g) {
			t.Fatalf("%+v: without a driver read back as %+v, %v", g, back, ok)
		}
	}
	a := g.Assigned()
	switch {
	case g.All:
		if !slices.Equal(a, []string{"all"}) {
			t.Fatalf("%+v.Assigned() = %q", g, a)
		}
	case g.Count > 0:
		if len(a) != g.Count || a[0] != "0" {
			t.Fatalf("%+v.Assigned() = %q", g, a)
		}
	default:
		if len(a) != len(g.IDs) {
			t.Fatalf("%+v.Assigned() = %q", g, a)
		}
	}
}

func FuzzReadKnobs(f *testing.F) {
	for _, tc := range readCases {
		f.Add(uint8(slices.Index(Servers(), string(tc.s))), strings.Join(tc.args, sep), envString(tc.env))
	}
	for _, tc := range conflictCases {
		f.Add(uint8(slices.Index(Servers(), string(tc.s))), strings.Join(tc.command, sep), envString(tc.env))
	}
	f.Add(uint8(0), "--dtype"+sep+"--dtype"+sep+"--dtype", "NVIDIA_TF32_OVERRIDE=0\nTORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1")
	f.Add(uint8(1), "--num-shard"+sep+"99999999999999999999", "MALLOC_ARENA_MAX=-1\nPYTHONMALLOC")
	f.Fuzz(func(t *testing.T, server uint8, args, env string) {
		names := append(Servers(), "unknown")
		s := Server(names[int(server)%len(names)])
		a := split(args)
		e := map[string]string{}
		for _, kv := range strings.Split(env, "\n") {
			k, v, _ := strings.Cut(kv, "=")
			e[k] = v
		}
		k, rest := ReadKnobs(s, a, e)
		// The knobs' flags are taken off the end, in pairs.
		if rest == nil || len(rest) > len(a) || !slices.Equal(rest, a[:len(rest)]) || (len(a)-len(rest))%2 != 0 {
			t.Fatalf("ReadKnobs(%s, %q) left %q", s, a, rest)
		}
		if s == Custom && len(rest) != len(a) {
			t.Fatalf("ReadKnobs(custom, %q) took flags: %q", a, rest)
		}
		// What it reads, Render writes back as read.
		r, probs := Render(s, k)
		if len(probs) == 0 {
			if again, _ := ReadKnobs(s, r.Args, r.Env); !reflect.DeepEqual(again, k) {
				t.Fatalf("ReadKnobs(%s, %q, %v) = %s; rendered %+v reads back as %s", s, a, e, show(k), r, show(again))
			}
		}
		for _, p := range Conflicts(r, a, e) {
			if p.Key == "" || (p.Attr != "command" && p.Attr != "env") {
				t.Fatalf("Conflicts problem %+v", p)
			}
		}
	})
}

func envString(env map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		kv = append(kv, k+"="+env[k])
	}
	return strings.Join(kv, "\n")
}

func FuzzRenderRoundTrip(f *testing.F) {
	for i, tc := range valueCases {
		k := tc.knobs
		frac := math.NaN()
		if k.GPUMemoryFraction != nil {
			frac = *k.GPUMemoryFraction
		}
		n := int64(0)
		for _, p := range []*int64{k.MaxBatchSize, k.TensorParallel, k.MallocArenaMax} {
			if p != nil {
				n = *p
			}
		}
		f.Add(uint8(slices.Index(Servers(), string(tc.s))), uint16(i), frac, n, k.Dtype+k.Quantization+k.TorchCompileMode, k.CUDAAllocConf+k.PythonMalloc,
			strings.Join(commandCases[i%len(commandCases)], sep))
	}
	f.Add(uint8(0), uint16(0xffff), 0.9, int64(4), "bfloat16", "expandable_segments:True", "--dtype"+sep+"half")
	f.Add(uint8(1), uint16(0xffff), 5e-324, int64(math.MaxInt64), "float16", "roundup_power2_divisions:[>:8]", "--num-shard")
	f.Fuzz(func(t *testing.T, server uint8, which uint16, frac float64, n int64, word, conf, command string) {
		s := Server(Servers()[int(server)%len(Servers())])
		// which picks the knobs to set, one bit each.
		var k Knobs
		set := func(bit int) bool { return which&(1<<bit) != 0 }
		if set(0) {
			k.GPUMemoryFraction = &frac
		}
		if set(1) {
			k.AllowTF32 = boolp(set(11))
		}
		if set(2) {
			k.Dtype = word
		}
		if set(3) {
			k.Quantization = word
		}
		if set(4) {
			k.MaxBatchSize = &n
		}
		if set(5) {
			k.TensorParallel = &n
		}
		if set(6) {
			k.TorchCompileMode = word
		}
		if set(7) {
			k.CUDAAllocConf = conf
		}
		if set(8) {
			k.PythonMalloc = conf
		}
		if set(9) {
			k.MallocArenaMax = &n
		}
		r, probs := Render(s, k)
		if len(probs) > 0 {
			k = withoutProblems(k, probs)
			if r, probs = Render(s, k); len(probs) > 0 {
				t.Fatalf("Render(%s, %s) without the knobs it refused: %+v", s, show(k), probs)
			}
		}
		cmd := split(strings.ToValidUTF8(command, "?")) // Terraform's strings are UTF-8; JSON would change others
		if cmd == nil && set(10) {
			cmd = []string{}
		}

		// Render, then ReadKnobs: the same knobs, and the user's command,
		// where the command holds none of the knobs' flags (a flag at its
		// end could be either's).
		args := Spec{Command: cmd}.Cmd(r)
		all, _ := Render(s, allKnobs(s))
		if !slices.ContainsFunc(cmd, func(c string) bool { return slices.Contains(all.Args, c) }) {
			got, rest := ReadKnobs(s, args, r.Env)
			if !reflect.DeepEqual(got, k) || !slices.Equal(rest, cmd) {
				t.Fatalf("ReadKnobs(%s, %q, %v) = %s, %q; want %s, %q", s, args, r.Env, show(got), rest, show(k), cmd)
			}
		}

		// Through the engine and back, for any command: Observe knows
		// where the user's ends.
		spec := Spec{Name: "fuzz", Image: "img", Server: s, Command: cmd, Knobs: k}
		if set(12) {
			spec.Command, spec.ImageCmd = nil, cmd
		}
		for _, e := range engines {
			c := e.inspect(t, spec)
			got, want := Observe(spec, c), withEngineDefaults(spec)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Observe(%+v) differs:\n%s", spec, specDiff(want, got))
			}
			// Imported, it reads back the same and makes the same container.
			adopted := Adopt(c, testImage(spec))
			if again := Observe(adopted, c); !reflect.DeepEqual(again, adopted) {
				t.Fatalf("Adopt(%+v) does not read back the same:\n%s", spec, specDiff(adopted, again))
			}
			if t.Failed() {
				return
			}
			checkSameContainer(t, "adopted "+spec.Name, c, e.inspect(t, adopted))
			if t.Failed() {
				t.Fatalf("spec %+v, adopted %+v", spec, adopted)
			}
		}
	})
}

func FuzzLastLines(f *testing.F) {
	for _, tc := range lastLinesCases {
		f.Add(tc.log, tc.n)
	}
	f.Add("a\r\r\n\rb\n", 3)
	f.Add("\n", math.MinInt)
	f.Fuzz(func(t *testing.T, log string, n int) {
		n %= 1 << 16 // a log's last lines; the capacity is n
		got := LastLines(log, n)
		if got == nil || len(got) > max(n, 0) {
			t.Fatalf("LastLines(%q, %d) = %q", log, n, got)
		}
		at := 0
		for _, l := range got {
			if strings.TrimSpace(l) == "" || strings.ContainsRune(l, '\n') || strings.HasSuffix(l, "\r") {
				t.Fatalf("LastLines(%q, %d) = %q: line %q", log, n, got, l)
			}
			i := strings.Index(log[at:], l)
			if i < 0 {
				t.Fatalf("LastLines(%q, %d) = %q: %q is not in the log, in order", log, n, got, l)
			}
			at += i + len(l)
		}
		// Fewer than n only when the log has no more.
		if len(got) < n {
			var all []string
			for _, l := range strings.Split(log, "\n") {
				if strings.TrimSpace(strings.TrimRight(l, "\r")) != "" {
					all = append(all, l)
				}
			}
			if len(all) != len(got) {
				t.Fatalf("LastLines(%q, %d) = %q of %d lines", log, n, got, len(all))
			}
		}
	})
}
