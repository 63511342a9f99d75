// Package modelrunner is the pure logic of a GPU inference-server container,
// and of a general container (one with no server kind: an API service, a
// reverse proxy): what the guide's tuning knobs become for each server
// (flags or environment), the GPU device requests, the container's create
// request and how it reads back from an inspect, what Docker can change in
// place, who made a container, and when a starting container counts as
// ready or failed. It does no I/O.
package modelrunner

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Server is an inference server kind.
type Server string

// The server kinds.
const (
	VLLM   Server = "vllm"
	TGI    Server = "tgi"
	Triton Server = "triton"
	Ollama Server = "ollama"
	Custom Server = "custom"
	// NoServer is a general container's: no knobs, no default readiness
	// endpoint.
	NoServer Server = ""
)

// Servers lists the kinds, for validators and docs.
func Servers() []string {
	return []string{string(VLLM), string(TGI), string(Triton), string(Ollama), string(Custom)}
}

// Health is where a server kind says it is ready, by default.
type Health struct {
	Path string // "" when the kind has none (custom)
	Port int    // the container port the server listens on by default
}

// DefaultHealth returns the kind's readiness endpoint and port.
func DefaultHealth(s Server) Health {
	switch s {
	case VLLM:
		return Health{Path: "/health", Port: 8000}
	case TGI:
		return Health{Path: "/health", Port: 80}
	case Triton:
		return Health{Path: "/v2/health/ready", Port: 8000}
	case Ollama:
		return Health{Path: "/", Port: 11434}
	}
	return Health{}
}

// Knobs are the guide's tuning settings. A nil pointer or "" is unset.
type Knobs struct {
	GPUMemoryFraction *float64
	AllowTF32         *bool
	Dtype             string
	Quantization      string
	MaxBatchSize      *int64
	TensorParallel    *int64
	TorchCompileMode  string
	CUDAAllocConf     string
	PythonMalloc      string
	MallocArenaMax    *int64
}

// The knobs' attribute names, as errors name them.
const (
	AttrGPUMemoryFraction = "gpu_memory_fraction"
	AttrAllowTF32         = "allow_tf32"
	AttrDtype             = "dtype"
	AttrQuantization      = "quantization"
	AttrMaxBatchSize      = "max_batch_size"
	AttrTensorParallel    = "tensor_parallel"
	AttrTorchCompileMode  = "torch_compile_mode"
	AttrCUDAAllocConf     = "cuda_alloc_conf"
	AttrPythonMalloc      = "python_malloc"
	AttrMallocArenaMax    = "malloc_arena_max"
)

// Environment variables the knobs set.
const (
	EnvTF32Override      = "NVIDIA_TF32_OVERRIDE"             // "0" turns TF32 off in cuBLAS/cuDNN for any CUDA program
	EnvTorchTF32         = "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE" // "1" makes PyTorch use TF32 for float32 matmuls
	EnvCUDAAllocConf     = "PYTORCH_CUDA_ALLOC_CONF"
	EnvPythonMalloc      = "PYTHONMALLOC"
	EnvMallocArenaMax    = "MALLOC_ARENA_MAX"
	EnvOllamaNumParallel = "OLLAMA_NUM_PARALLEL"
)

// target is what one knob becomes on one server kind: a flag or an
// environment variable; why says why the kind cannot honour it.
type target struct {
	flag string
	env  string
	why  string
}

// knob describes one tuning setting across the server kinds.
type knob struct {
	attr string
	// custom is the environment variable of the custom server's contract.
	custom string
	// meaning documents the custom contract.
	meaning string
	on      map[Server]target
	value   func(Knobs) (string, bool)
	check   func(Server, string) error
}

func pyTorchEnv(env string) map[Server]target {
	return map[Server]target{
		VLLM: {env: env}, TGI: {env: env}, Triton: {env: env},
		Ollama: {why: "Ollama is not a PyTorch server (it runs llama.cpp)"},
	}
}

func ptr[T any](p *T, f func(T) string) (string, bool) {
	if p == nil {
		return "", false
	}
	return f(*p), true
}

func str(s string) (string, bool) { return s, s != "" }

func fmtInt(v int64) string { return strconv.FormatInt(v, 10) }

// allocPair is one of PyTorch's allocator options, key:value: keys may hold
// digits (roundup_power2_divisions), whose value may also be a bracketed
// list of size:divisions pairs, e.g. [256:1,512:2,>:8].
const allocPair = `[a-z][a-z0-9_]*:([A-Za-z0-9_.]+|\[[0-9>]+:[0-9]+(,[0-9>]+:[0-9]+)*\])`

var (
	identRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	allocConfRE  = regexp.MustCompile(`^` + allocPair + `(,` + allocPair + `)*$`)
	vllmDtypes   = []string{"auto", "half", "float16", "bfloat16", "float", "float32"}
	tgiDtypes    = []string{"float16", "bfloat16"}
	compileModes = []string{"default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"}
	pyMallocs    = []string{"default", "malloc", "pymalloc", "debug", "malloc_debug", "pymalloc_debug", "mimalloc", "mimalloc_debug"}
)

func oneOf(allowed []string) func(Server, string) error {
	return func(_ Server, v string) error {
		if !slices.Contains(allowed, v) {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
		}
		return nil
	}
}

func atLeastOne(_ Server, v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 1 {
		return fmt.Errorf("%s must be 1 or more", v)
	}
	return nil
}

// knobs is the mapping table; the order is the order of rendered flags.
var knobs = []knob{
	{
		attr: AttrGPUMemoryFraction, custom: "MCPAI_GPU_MEMORY_FRACTION",
		meaning: "fraction of each GPU's memory the server may use, e.g. 0.9",
		on: map[Server]target{
			VLLM:   {flag: "--gpu-memory-utilization"},
			TGI:    {flag: "--cuda-memory-fraction"},
			Triton: {why: "Triton has no server-wide memory fraction; set it per backend with --backend-config in command"},
			Ollama: {why: "Ollama sizes its GPU memory itself (OLLAMA_GPU_OVERHEAD in env reserves some)"},
		},
		value: func(k Knobs) (string, bool) {
			return ptr(k.GPUMemoryFraction, func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) })
		},
		check: func(_ Server, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f > 0 && f <= 1) {
				return fmt.Errorf("%s is not a fraction in (0, 1]", v)
			}
			return nil
		},
	},
	{
		attr: AttrDtype, custom: "MCPAI_DTYPE",
		meaning: "weights and activations precision (mixed precision), e.g. bfloat16",
		on: map[Server]target{
			VLLM:   {flag: "--dtype"},
			TGI:    {flag: "--dtype"},
			Triton: {why: "Triton sets precision per model, in its config.pbtxt"},
			Ollama: {why: "Ollama's precision is part of the model tag"},
		},
		value: func(k Knobs) (string, bool) { return str(k.Dtype) },
		check: func(s Server, v string) error {
			switch s {
			case VLLM:
				return oneOf(vllmDtypes)(s, v)
			case TGI:
				return oneOf(tgiDtypes)(s, v)
			}
			return identCheck(s, v)
		},
	},
	{
		attr: AttrQuantization, custom: "MCPAI_QUANTIZATION",
		meaning: "quantization method, e.g. awq, gptq, fp8",
		on: map[Server]target{
			VLLM:   {flag: "--quantization"},
			TGI:    {flag: "--quantize"},
			Triton: {why: "Triton quantizes per model (e.g. a TensorRT-LLM engine build)"},
			Ollama: {why: "Ollama's quantization is part of the model tag, e.g. llama3:8b-instruct-q4_K_M"},
		},
		value: func(k Knobs) (string, bool) { return str(k.Quantization) },
		check: identCheck,
	},
	{
		attr: AttrMaxBatchSize, custom: "MCPAI_MAX_BATCH_SIZE",
		meaning: "most requests batched together",
		on: map[Server]target{
			VLLM:   {flag: "--max-num-seqs"},
			TGI:    {flag: "--max-batch-size"},
			Triton: {why: "Triton batches per model: max_batch_size and dynamic_batching in its config.pbtxt"},
			Ollama: {env: EnvOllamaNumParallel},
		},
		value: func(k Knobs) (string, bool) { return ptr(k.MaxBatchSize, fmtInt) },
		check: atLeastOne,
	},
	{
		attr: AttrTensorParallel, custom: "MCPAI_TENSOR_PARALLEL",
		meaning: "GPUs one model is split across",
		on: map[Server]target{
			VLLM:   {flag: "--tensor-parallel-size"},
			TGI:    {flag: "--num-shard"},
			Triton: {why: "Triton splits models per backend (e.g. at TensorRT-LLM engine build)"},
			Ollama: {why: "Ollama splits a model across GPUs itself"},
		},
		value: func(k Knobs) (string, bool) { return ptr(k.TensorParallel, fmtInt) },
		check: atLeastOne,
	},
	{
		attr: AttrTorchCompileMode, custom: "MCPAI_TORCH_COMPILE_MODE",
		meaning: "torch.compile mode: " + strings.Join(compileModes, ", "),
		on: map[Server]target{
			VLLM:   {why: "vLLM runs torch.compile itself; tune it with --compilation-config in command"},
			TGI:    {why: "TGI has no torch.compile switch"},
			Triton: {why: "Triton's PyTorch backend compiles per model, in its config.pbtxt"},
			Ollama: {why: "Ollama is not a PyTorch server (it runs llama.cpp)"},
		},
		value: func(k Knobs) (string, bool) { return str(k.TorchCompileMode) },
		check: oneOf(compileModes),
	},
	{
		attr: AttrCUDAAllocConf, custom: EnvCUDAAllocConf,
		meaning: "PyTorch's CUDA caching allocator settings, e.g. expandable_segments:True",
		on:      pyTorchEnv(EnvCUDAAllocConf),
		value:   func(k Knobs) (string, bool) { return str(k.CUDAAllocConf) },
		check: func(_ Server, v string) error {
			if !allocConfRE.MatchString(v) {
				return fmt.Errorf("%q is not a list of key:value pairs such as expandable_segments:True,max_split_size_mb:512", v)
			}
			return nil
		},
	},
	{
		attr: AttrPythonMalloc, custom: EnvPythonMalloc,
		meaning: "CPython's allocator",
		on: map[Server]target{
			VLLM: {env: EnvPythonMalloc}, TGI: {env: EnvPythonMalloc}, Triton: {env: EnvPythonMalloc},
			Ollama: {why: "Ollama is not a Python server"},
		},
		value: func(k Knobs) (string, bool) { return str(k.PythonMalloc) },
		check: oneOf(pyMallocs),
	},
	{
		attr: AttrMallocArenaMax, custom: EnvMallocArenaMax,
		meaning: "glibc malloc arenas (fewer arenas, less resident memory)",
		on: map[Server]target{
			VLLM: {env: EnvMallocArenaMax}, TGI: {env: EnvMallocArenaMax}, Triton: {env: EnvMallocArenaMax}, Ollama: {env: EnvMallocArenaMax},
		},
		value: func(k Knobs) (string, bool) { return ptr(k.MallocArenaMax, fmtInt) },
		check: atLeastOne,
	},
}

func identCheck(_ Server, v string) error {
	if !identRE.MatchString(v) {
		return fmt.Errorf("%q is not a lower-case method name such as awq", v)
	}
	return nil
}

// Problem is a knob a server kind cannot honour, or a bad value.
type Problem struct {
	Attr    string // the knob's attribute, or "command"/"env"
	Key     string // the env key or command element, for "env"/"command"
	Summary string
	Detail  string
}

// Rendered is what the knobs become: flags appended to the command and
// environment variables.
type Rendered struct {
	Args []string
	Env  map[string]string
}

// Render maps the knobs onto server s. Problems are returned for knobs s
// cannot honour and for bad values; Rendered is then incomplete.
func Render(s Server, k Knobs) (Rendered, []Problem) {
	r := Rendered{Env: map[string]string{}}
	var probs []Problem
	if s == NoServer {
		if k != (Knobs{}) {
			probs = append(probs, Problem{Attr: "server", Summary: "Tuning Without A Server Kind",
				Detail: "a general container takes no tuning settings; set them in its env or command."})
		}
		return r, probs
	}
	if !slices.Contains(Servers(), string(s)) {
		return r, []Problem{{Attr: "server", Summary: "Unknown Server Kind",
			Detail: fmt.Sprintf("server %q is not one of %s.", s, strings.Join(Servers(), ", "))}}
	}
	for _, kn := range knobs {
		v, set := kn.value(k)
		if !set {
			continue
		}
		if err := kn.check(s, v); err != nil {
			probs = append(probs, Problem{Attr: kn.attr, Summary: "Invalid " + kn.attr,
				Detail: fmt.Sprintf("%s for server %q: %v.", kn.attr, s, err)})
			continue
		}
		if s == Custom {
			r.Env[kn.custom] = v
			continue
		}
		t := kn.on[s]
		switch {
		case t.flag != "":
			r.Args = append(r.Args, t.flag, v)
		case t.env != "":
			r.Env[t.env] = v
		default:
			probs = append(probs, unsupported(kn.attr, s, t.why))
		}
	}
	if k.AllowTF32 != nil {
		renderTF32(s, *k.AllowTF32, &r, &probs)
	}
	return r, probs
}

func unsupported(attr string, s Server, why string) Problem {
	return Problem{Attr: attr, Summary: "Setting Not Supported By This Server",
		Detail: fmt.Sprintf("%s cannot be applied to server %q: %s. Remove %s, or use server = \"custom\" "+
			"and read it from the environment in your own image.", attr, s, why, attr)}
}

// renderTF32: TF32 off is NVIDIA_TF32_OVERRIDE=0, which every CUDA library
// honours; on is PyTorch's override, so only PyTorch servers can force it.
func renderTF32(s Server, on bool, r *Rendered, probs *[]Problem) {
	if s == Custom {
		r.Env["MCPAI_ALLOW_TF32"] = strconv.FormatBool(on)
	}
	if !on {
		r.Env[EnvTF32Override] = "0"
		return
	}
	if s == Ollama {
		*probs = append(*probs, unsupported(AttrAllowTF32, s,
			"only turning TF32 off (allow_tf32 = false, NVIDIA_TF32_OVERRIDE=0) reaches llama.cpp's cuBLAS"))
		return
	}
	r.Env[EnvTorchTF32] = "1"
}

// EnvVar documents one variable of the custom server's contract.
type EnvVar struct {
	Name, Attr, Meaning string
}

// CustomContract lists what a custom image reads, for the docs.
func CustomContract() []EnvVar {
	out := make([]EnvVar, 0, len(knobs)+1)
	for _, kn := range knobs {
		out = append(out, EnvVar{Name: kn.custom, Attr: kn.attr, Meaning: kn.meaning})
	}
	out = append(out, EnvVar{Name: "MCPAI_ALLOW_TF32", Attr: AttrAllowTF32,
		Meaning: "true or false; false also sets " + EnvTF32Override + "=0, true sets " + EnvTorchTF32 + "=1"})
	return out
}

// Conflicts reports command elements and env keys the user set that the
// knobs also set: they would be ambiguous, so they are refused. A flag
// spelt with underscores counts (vLLM reads --max_num_seqs as
// --max-num-seqs).
func Conflicts(r Rendered, command []string, env map[string]string) []Problem {
	var probs []Problem
	for i := 0; i < len(r.Args); i += 2 {
		flag := r.Args[i]
		for _, c := range command {
			name, _, _ := strings.Cut(c, "=")
			if strings.HasPrefix(name, "--") && "--"+strings.ReplaceAll(name[2:], "_", "-") == flag {
				probs = append(probs, Problem{Attr: "command", Key: c, Summary: "Flag Set Twice",
					Detail: fmt.Sprintf("command has %s, which a tuning attribute of this resource also sets. "+
						"Remove it from command and keep the attribute.", c)})
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(r.Env)) {
		if _, ok := env[key]; ok {
			probs = append(probs, Problem{Attr: "env", Key: key, Summary: "Variable Set Twice",
				Detail: fmt.Sprintf("env sets %s, which a tuning attribute of this resource also sets. "+
					"Remove it from env and keep the attribute.", key)})
		}
	}
	return probs
}

// ReadKnobs reads the knobs of server s back from a container's arguments
// and environment (the inverse of Render for values Render produces), and
// returns the arguments with the knobs' flags removed. Render appends the
// flags after the command, each once and in its table's order, so only
// that trailing run is read: the same flag earlier on is the command's.
// Unparseable values are returned as not set, so they show as drift.
func ReadKnobs(s Server, args []string, env map[string]string) (Knobs, []string) {
	var k Knobs
	values := map[string]string{}
	flags := map[string]int{} // flag -> its knob's place in the table
	for i, kn := range knobs {
		if s == Custom {
			if v, ok := env[kn.custom]; ok {
				values[kn.attr] = v
			}
			continue
		}
		t := kn.on[s]
		if t.flag != "" {
			flags[t.flag] = i
		} else if v, ok := env[t.env]; ok && t.env != "" {
			values[kn.attr] = v
		}
	}
	end, next := len(args), len(knobs)
	for end >= 2 {
		i, ok := flags[args[end-2]]
		if !ok || i >= next {
			break
		}
		values[knobs[i].attr] = args[end-1]
		end, next = end-2, i
	}
	rest := append(make([]string, 0, end), args[:end]...)
	for attr, v := range values {
		setKnob(&k, attr, v)
	}
	k.AllowTF32 = readTF32(s, env)
	return k, rest
}

func readTF32(s Server, env map[string]string) *bool {
	if s == Custom {
		if b, err := strconv.ParseBool(env["MCPAI_ALLOW_TF32"]); err == nil {
			return &b
		}
		return nil
	}
	off, on := env[EnvTF32Override] == "0", env[EnvTorchTF32] == "1"
	switch {
	case off && !on:
		b := false
		return &b
	case on && !off:
		b := true
		return &b
	}
	return nil
}

// unsetKnob unsets the knob of attribute attr.
func unsetKnob(k *Knobs, attr string) {
	switch attr {
	case AttrGPUMemoryFraction:
		k.GPUMemoryFraction = nil
	case AttrAllowTF32:
		k.AllowTF32 = nil
	default:
		setKnob(k, attr, "") // "" is unset for the string knobs and does not parse for the others
	}
}

func setKnob(k *Knobs, attr, v string) {
	parseInt := func() *int64 {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil
		}
		return &n
	}
	switch attr {
	case AttrGPUMemoryFraction:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			k.GPUMemoryFraction = &f
		}
	case AttrDtype:
		k.Dtype = v
	case AttrQuantization:
		k.Quantization = v
	case AttrMaxBatchSize:
		k.MaxBatchSize = parseInt()
	case AttrTensorParallel:
		k.TensorParallel = parseInt()
	case AttrTorchCompileMode:
		k.TorchCompileMode = v
	case AttrCUDAAllocConf:
		k.CUDAAllocConf = v
	case AttrPythonMalloc:
		k.PythonMalloc = v
	case AttrMallocArenaMax:
		k.MallocArenaMax = parseInt()
	}
}

// KnobEnvKeys are the environment variables knobs of server s may set, so
// that a read-back does not take them for the user's env.
func KnobEnvKeys(s Server) []string {
	if s == NoServer {
		return nil
	}
	keys := []string{EnvTF32Override}
	switch s {
	case Custom:
		keys = append(keys, EnvTorchTF32, "MCPAI_ALLOW_TF32")
	case Ollama: // it can only turn TF32 off
	default:
		keys = append(keys, EnvTorchTF32)
	}
	for _, kn := range knobs {
		if s == Custom {
			keys = append(keys, kn.custom)
		} else if e := kn.on[s].env; e != "" {
			keys = append(keys, e)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
