package modelrunner

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The tables below also seed the fuzz targets in fuzz_test.go.

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }
func boolp(v bool) *bool     { return &v }

func TestServersAndDefaultHealth(t *testing.T) {
	if got := Servers(); !reflect.DeepEqual(got, []string{"vllm", "tgi", "triton", "ollama", "custom"}) {
		t.Errorf("Servers() = %q", got)
	}
	for s, want := range map[Server]Health{
		VLLM:   {Path: "/health", Port: 8000},          // vllm serve --port default
		TGI:    {Path: "/health", Port: 80},            // the TGI image sets PORT=80
		Triton: {Path: "/v2/health/ready", Port: 8000}, // KServe v2 readiness on the HTTP port
		Ollama: {Path: "/", Port: 11434},               // "Ollama is running"
		Custom: {},                                     // the user says
		"nope": {},
	} {
		if got := DefaultHealth(s); got != want {
			t.Errorf("DefaultHealth(%q) = %+v, want %+v", s, got, want)
		}
	}
}

// knobCases says, independently of the mapping table, what one valid knob
// becomes on each server: a "--flag", an "ENV" variable, or (absent) a
// Problem naming the attribute. custom is the custom server's variable.
var knobCases = []struct {
	attr   string
	knobs  Knobs
	value  string
	on     map[Server]string
	custom string
}{
	{AttrGPUMemoryFraction, Knobs{GPUMemoryFraction: f64(0.85)}, "0.85",
		map[Server]string{VLLM: "--gpu-memory-utilization", TGI: "--cuda-memory-fraction"}, "MCPAI_GPU_MEMORY_FRACTION"},
	{AttrDtype, Knobs{Dtype: "bfloat16"}, "bfloat16",
		map[Server]string{VLLM: "--dtype", TGI: "--dtype"}, "MCPAI_DTYPE"},
	{AttrQuantization, Knobs{Quantization: "awq"}, "awq",
		map[Server]string{VLLM: "--quantization", TGI: "--quantize"}, "MCPAI_QUANTIZATION"},
	{AttrMaxBatchSize, Knobs{MaxBatchSize: i64(64)}, "64",
		map[Server]string{VLLM: "--max-num-seqs", TGI: "--max-batch-size", Ollama: "OLLAMA_NUM_PARALLEL"}, "MCPAI_MAX_BATCH_SIZE"},
	{AttrTensorParallel, Knobs{TensorParallel: i64(2)}, "2",
		map[Server]string{VLLM: "--tensor-parallel-size", TGI: "--num-shard"}, "MCPAI_TENSOR_PARALLEL"},
	{AttrTorchCompileMode, Knobs{TorchCompileMode: "max-autotune"}, "max-autotune",
		map[Server]string{}, "MCPAI_TORCH_COMPILE_MODE"},
	{AttrCUDAAllocConf, Knobs{CUDAAllocConf: "expandable_segments:True"}, "expandable_segments:True",
		map[Server]string{VLLM: "PYTORCH_CUDA_ALLOC_CONF", TGI: "PYTORCH_CUDA_ALLOC_CONF", Triton: "PYTORCH_CUDA_ALLOC_CONF"}, "PYTORCH_CUDA_ALLOC_CONF"},
	{AttrPythonMalloc, Knobs{PythonMalloc: "malloc"}, "malloc",
		map[Server]string{VLLM: "PYTHONMALLOC", TGI: "PYTHONMALLOC", Triton: "PYTHONMALLOC"}, "PYTHONMALLOC"},
	{AttrMallocArenaMax, Knobs{MallocArenaMax: i64(2)}, "2",
		map[Server]string{VLLM: "MALLOC_ARENA_MAX", TGI: "MALLOC_ARENA_MAX", Triton: "MALLOC_ARENA_MAX", Ollama: "MALLOC_ARENA_MAX"}, "MALLOC_ARENA_MAX"},
}

func TestRenderEachKnobOnEachServer(t *testing.T) {
	for _, tc := range knobCases {
		for _, name := range Servers() {
			s := Server(name)
			r, probs := Render(s, tc.knobs)
			want := Rendered{Env: map[string]string{}}
			target, ok := tc.on[s]
			switch {
			case s == Custom:
				want.Env[tc.custom] = tc.value
			case !ok:
				if len(probs) != 1 || probs[0].Attr != tc.attr || probs[0].Summary != "Setting Not Supported By This Server" ||
					!strings.Contains(probs[0].Detail, tc.attr) || !strings.Contains(probs[0].Detail, `"`+name+`"`) {
					t.Errorf("Render(%s, %s) problems = %+v, want one naming %s", s, tc.attr, probs, tc.attr)
				}
				continue
			case strings.HasPrefix(target, "--"):
				want.Args = []string{target, tc.value}
			default:
				want.Env[target] = tc.value
			}
			if len(probs) != 0 || !reflect.DeepEqual(r, want) {
				t.Errorf("Render(%s, %s) = %+v, %+v; want %+v", s, tc.attr, r, probs, want)
			}
		}
	}
}

func TestRenderTF32(t *testing.T) {
	for _, tc := range []struct {
		s       Server
		on      bool
		env     map[string]string
		problem bool
	}{
		{VLLM, false, map[string]string{"NVIDIA_TF32_OVERRIDE": "0"}, false},
		{VLLM, true, map[string]string{"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}, false},
		{TGI, false, map[string]string{"NVIDIA_TF32_OVERRIDE": "0"}, false},
		{TGI, true, map[string]string{"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}, false},
		{Triton, false, map[string]string{"NVIDIA_TF32_OVERRIDE": "0"}, false},
		{Triton, true, map[string]string{"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}, false},
		{Ollama, false, map[string]string{"NVIDIA_TF32_OVERRIDE": "0"}, false},
		{Ollama, true, map[string]string{}, true},
		{Custom, false, map[string]string{"MCPAI_ALLOW_TF32": "false", "NVIDIA_TF32_OVERRIDE": "0"}, false},
		{Custom, true, map[string]string{"MCPAI_ALLOW_TF32": "true", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}, false},
	} {
		r, probs := Render(tc.s, Knobs{AllowTF32: boolp(tc.on)})
		if !reflect.DeepEqual(r.Env, tc.env) || len(r.Args) != 0 {
			t.Errorf("Render(%s, allow_tf32=%v) = %+v, want env %v", tc.s, tc.on, r, tc.env)
		}
		if got := len(probs) == 1 && probs[0].Attr == AttrAllowTF32; got != tc.problem {
			t.Errorf("Render(%s, allow_tf32=%v) problems = %+v", tc.s, tc.on, probs)
		}
	}
}

func TestRenderUnknownServer(t *testing.T) {
	for _, s := range []Server{"", "VLLM", "sglang"} {
		r, probs := Render(s, Knobs{Dtype: "half"})
		if len(probs) != 1 || probs[0].Attr != "server" || len(r.Args) != 0 || len(r.Env) != 0 {
			t.Errorf("Render(%q) = %+v, %+v", s, r, probs)
		}
	}
}

// valueCases are knob values, good and bad, on one server.
var valueCases = []struct {
	s     Server
	knobs Knobs
	ok    bool
}{
	{VLLM, Knobs{GPUMemoryFraction: f64(1)}, true},
	{VLLM, Knobs{GPUMemoryFraction: f64(0.000001)}, true},
	{VLLM, Knobs{GPUMemoryFraction: f64(0)}, false},
	{VLLM, Knobs{GPUMemoryFraction: f64(math.Copysign(0, -1))}, false},
	{VLLM, Knobs{GPUMemoryFraction: f64(-0.5)}, false},
	{VLLM, Knobs{GPUMemoryFraction: f64(1.5)}, false},
	{VLLM, Knobs{GPUMemoryFraction: f64(1.0000001)}, false},
	{TGI, Knobs{GPUMemoryFraction: f64(math.NaN())}, false},
	{TGI, Knobs{GPUMemoryFraction: f64(math.Inf(1))}, false},
	{Custom, Knobs{GPUMemoryFraction: f64(2)}, false},

	{VLLM, Knobs{MaxBatchSize: i64(1)}, true},
	{VLLM, Knobs{MaxBatchSize: i64(0)}, false},
	{TGI, Knobs{MaxBatchSize: i64(-1)}, false},
	{Ollama, Knobs{MaxBatchSize: i64(0)}, false},
	{VLLM, Knobs{TensorParallel: i64(0)}, false},
	{TGI, Knobs{TensorParallel: i64(8)}, true},
	{Triton, Knobs{MallocArenaMax: i64(0)}, false},
	{Ollama, Knobs{MallocArenaMax: i64(math.MaxInt64)}, true},

	// vLLM's --dtype choices; TGI's are float16 and bfloat16 only.
	{VLLM, Knobs{Dtype: "auto"}, true},
	{VLLM, Knobs{Dtype: "half"}, true},
	{VLLM, Knobs{Dtype: "float16"}, true},
	{VLLM, Knobs{Dtype: "bfloat16"}, true},
	{VLLM, Knobs{Dtype: "float"}, true},
	{VLLM, Knobs{Dtype: "float32"}, true},
	{VLLM, Knobs{Dtype: "fp8"}, false},
	{VLLM, Knobs{Dtype: "BF16"}, false},
	{TGI, Knobs{Dtype: "float16"}, true},
	{TGI, Knobs{Dtype: "bfloat16"}, true},
	{TGI, Knobs{Dtype: "half"}, false},
	{TGI, Knobs{Dtype: "auto"}, false},
	{TGI, Knobs{Dtype: "float32"}, false},
	{Custom, Knobs{Dtype: "fp8_e4m3"}, true},
	{Custom, Knobs{Dtype: "Float16"}, false},
	{Triton, Knobs{Dtype: "fp8"}, false}, // a valid name, but unsupported

	{VLLM, Knobs{Quantization: "gptq_marlin"}, true},
	{VLLM, Knobs{Quantization: "compressed-tensors"}, true},
	{TGI, Knobs{Quantization: "bitsandbytes-nf4"}, true},
	{TGI, Knobs{Quantization: "AWQ"}, false},
	{VLLM, Knobs{Quantization: "--awq"}, false},
	{VLLM, Knobs{Quantization: "awq gptq"}, false},

	{Custom, Knobs{TorchCompileMode: "default"}, true},
	{Custom, Knobs{TorchCompileMode: "reduce-overhead"}, true},
	{Custom, Knobs{TorchCompileMode: "max-autotune-no-cudagraphs"}, true},
	{Custom, Knobs{TorchCompileMode: "fast"}, false},

	// PyTorch's allocator syntax, from c10/cuda/CUDAAllocatorConfig.cpp.
	{VLLM, Knobs{CUDAAllocConf: "expandable_segments:True"}, true},
	{VLLM, Knobs{CUDAAllocConf: "expandable_segments:False"}, true},
	{VLLM, Knobs{CUDAAllocConf: "max_split_size_mb:512"}, true},
	{TGI, Knobs{CUDAAllocConf: "garbage_collection_threshold:0.6"}, true},
	{TGI, Knobs{CUDAAllocConf: "garbage_collection_threshold:0.6,max_split_size_mb:128"}, true},
	{Triton, Knobs{CUDAAllocConf: "backend:cudaMallocAsync"}, true},
	{VLLM, Knobs{CUDAAllocConf: "roundup_power2_divisions:4"}, true},
	{VLLM, Knobs{CUDAAllocConf: "roundup_power2_divisions:[256:1,512:2,1024:4,>:8]"}, true},
	{VLLM, Knobs{CUDAAllocConf: "expandable_segments:True,roundup_power2_divisions:[>:8],max_split_size_mb:128"}, true},
	{VLLM, Knobs{CUDAAllocConf: "pinned_num_register_threads:8"}, true},
	{VLLM, Knobs{CUDAAllocConf: "expandable_segments"}, false},
	{VLLM, Knobs{CUDAAllocConf: "expandable_segments:True,"}, false},
	{VLLM, Knobs{CUDAAllocConf: "expandable_segments=True"}, false},
	{VLLM, Knobs{CUDAAllocConf: "expandable_segments:True max_split_size_mb:128"}, false},
	{VLLM, Knobs{CUDAAllocConf: "expandable_segments:True;rm -rf /"}, false},
	{VLLM, Knobs{CUDAAllocConf: "Expandable_Segments:True"}, false},
	{VLLM, Knobs{CUDAAllocConf: "roundup_power2_divisions:[256:1"}, false},
	{VLLM, Knobs{CUDAAllocConf: "roundup_power2_divisions:[]"}, false},
	{Ollama, Knobs{CUDAAllocConf: "expandable_segments:True"}, false},

	// CPython's PYTHONMALLOC values (3.13 adds mimalloc).
	{VLLM, Knobs{PythonMalloc: "default"}, true},
	{VLLM, Knobs{PythonMalloc: "pymalloc_debug"}, true},
	{VLLM, Knobs{PythonMalloc: "mimalloc"}, true},
	{VLLM, Knobs{PythonMalloc: "jemalloc"}, false},
	{VLLM, Knobs{PythonMalloc: "Malloc"}, false},
}

func TestRenderValues(t *testing.T) {
	for _, tc := range valueCases {
		r, probs := Render(tc.s, tc.knobs)
		if tc.ok != (len(probs) == 0) {
			t.Errorf("Render(%s, %+v) = %+v, problems %+v; want ok=%v", tc.s, tc.knobs, r, probs, tc.ok)
			continue
		}
		for _, p := range probs {
			if p.Attr == "" || p.Summary == "" || !strings.Contains(p.Detail, p.Attr) {
				t.Errorf("Render(%s, %+v) problem %+v does not name its attribute", tc.s, tc.knobs, p)
			}
		}
	}
}

func TestRenderReportsEveryProblemAndKeepsTheRest(t *testing.T) {
	k := Knobs{GPUMemoryFraction: f64(2), Dtype: "half", MaxBatchSize: i64(0), TensorParallel: i64(2),
		TorchCompileMode: "default", PythonMalloc: "malloc"}
	r, probs := Render(TGI, k)
	var attrs []string
	for _, p := range probs {
		attrs = append(attrs, p.Attr)
	}
	want := []string{AttrGPUMemoryFraction, AttrDtype, AttrMaxBatchSize, AttrTorchCompileMode}
	if !reflect.DeepEqual(attrs, want) {
		t.Errorf("problems for %v, want %v", attrs, want)
	}
	if !reflect.DeepEqual(r.Args, []string{"--num-shard", "2"}) || r.Env["PYTHONMALLOC"] != "malloc" {
		t.Errorf("Render kept %+v", r)
	}
}

func TestRenderOrder(t *testing.T) {
	r, probs := Render(VLLM, allKnobs(VLLM))
	want := []string{"--gpu-memory-utilization", "0.9", "--dtype", "bfloat16", "--quantization", "awq",
		"--max-num-seqs", "128", "--tensor-parallel-size", "2"}
	if len(probs) != 0 || !reflect.DeepEqual(r.Args, want) {
		t.Errorf("Render = %q, %+v; want %q", r.Args, probs, want)
	}
}

// allKnobs sets every knob server s supports, to a valid value.
func allKnobs(s Server) Knobs {
	k := Knobs{AllowTF32: boolp(false), MallocArenaMax: i64(4)}
	switch s {
	case VLLM, TGI, Custom:
		k.GPUMemoryFraction = f64(0.9)
		k.Dtype = "bfloat16"
		k.Quantization = "awq"
		k.MaxBatchSize = i64(128)
		k.TensorParallel = i64(2)
	case Ollama:
		k.MaxBatchSize = i64(4)
	}
	if s == Custom {
		k.TorchCompileMode = "reduce-overhead"
		k.AllowTF32 = boolp(true)
	}
	if s != Ollama {
		k.CUDAAllocConf = "expandable_segments:True,max_split_size_mb:512"
		k.PythonMalloc = "malloc"
	}
	return k
}

// commandCases are user commands for the round trips; none ends in a
// knob's flag, which no reading could tell from the knob's.
var commandCases = [][]string{
	nil,
	{},
	{"--model", "meta-llama/Llama-3.1-8B-Instruct"},
	{"serve", "Qwen/Qwen2.5-7B", "--port", "8000"},
	// The same flags as knobs, where the knob is not set: the user's own,
	// kept in place.
	{"--dtype", "half", "--model", "m"},
	{"--max-num-seqs", "8", "--max-batch-size", "8", "--model", "m"},
	{"--dtype=half", "--quantization=gptq"},
	{"--model", "--dtype"},
}

func TestRenderReadKnobsRoundTrip(t *testing.T) {
	for _, name := range Servers() {
		s := Server(name)
		variants := []Knobs{{}, allKnobs(s), {AllowTF32: boolp(true)}, {GPUMemoryFraction: f64(1), TensorParallel: i64(1)},
			{GPUMemoryFraction: f64(0.1 + 0.2)}, {MaxBatchSize: i64(math.MaxInt64)}}
		if s == Ollama {
			variants[2] = Knobs{AllowTF32: boolp(false)}
		}
		for _, k := range variants {
			r, probs := Render(s, k)
			if len(probs) > 0 {
				k = withoutProblems(k, probs)
				r, _ = Render(s, k)
			}
			for _, cmd := range commandCases {
				args := Spec{Command: cmd}.Cmd(r)
				got, rest := ReadKnobs(s, args, r.Env)
				if !reflect.DeepEqual(got, k) || !slices.Equal(rest, cmd) {
					t.Errorf("ReadKnobs(%s, %q, %v) = %+v, %q; want %+v, %q", s, args, r.Env, show(got), rest, show(k), cmd)
				}
			}
		}
	}
}

// withoutProblems unsets the knobs that problems name.
func withoutProblems(k Knobs, probs []Problem) Knobs {
	for _, p := range probs {
		switch p.Attr {
		case AttrGPUMemoryFraction:
			k.GPUMemoryFraction = nil
		case AttrAllowTF32:
			k.AllowTF32 = nil
		case AttrDtype:
			k.Dtype = ""
		case AttrQuantization:
			k.Quantization = ""
		case AttrMaxBatchSize:
			k.MaxBatchSize = nil
		case AttrTensorParallel:
			k.TensorParallel = nil
		case AttrTorchCompileMode:
			k.TorchCompileMode = ""
		case AttrCUDAAllocConf:
			k.CUDAAllocConf = ""
		case AttrPythonMalloc:
			k.PythonMalloc = ""
		case AttrMallocArenaMax:
			k.MallocArenaMax = nil
		}
	}
	return k
}

// show prints a Knobs with its pointers followed.
func show(k Knobs) string {
	v := reflect.ValueOf(k)
	var parts []string
	for i := range v.NumField() {
		f := v.Field(i)
		if f.IsZero() {
			continue
		}
		if f.Kind() == reflect.Pointer {
			f = f.Elem()
		}
		parts = append(parts, fmt.Sprintf("%s:%v", v.Type().Field(i).Name, f.Interface()))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

var readCases = []struct {
	name string
	s    Server
	args []string
	env  map[string]string
	want Knobs
	rest []string
}{
	{"knob flags in the middle are the command's", VLLM,
		[]string{"--dtype", "half", "--model", "m", "--max-num-seqs", "4"}, nil,
		Knobs{MaxBatchSize: i64(4)}, []string{"--dtype", "half", "--model", "m"}},
	{"a flag twice at the end: the last is the knob's", VLLM,
		[]string{"--dtype", "half", "--dtype", "float16"}, nil,
		Knobs{Dtype: "float16"}, []string{"--dtype", "half"}},
	{"out of Render's order: only the run in order is read", VLLM,
		[]string{"--max-num-seqs", "4", "--dtype", "half"}, nil,
		Knobs{Dtype: "half"}, []string{"--max-num-seqs", "4"}},
	{"a flag without a value", VLLM,
		[]string{"--model", "m", "--dtype"}, nil,
		Knobs{}, []string{"--model", "m", "--dtype"}},
	{"another server's flags are arguments", TGI,
		[]string{"--gpu-memory-utilization", "0.5"}, nil,
		Knobs{}, []string{"--gpu-memory-utilization", "0.5"}},
	{"unparseable values are unset, so they show as drift", TGI,
		[]string{"--cuda-memory-fraction", "most", "--max-batch-size", "many"}, nil,
		Knobs{}, []string{}},
	{"the = form is not Render's", VLLM,
		[]string{"--dtype=half"}, nil, Knobs{}, []string{"--dtype=half"}},
	{"env knobs", Triton, nil,
		map[string]string{"PYTHONMALLOC": "malloc", "MALLOC_ARENA_MAX": "2", "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True", "OLLAMA_NUM_PARALLEL": "4"},
		Knobs{PythonMalloc: "malloc", MallocArenaMax: i64(2), CUDAAllocConf: "expandable_segments:True"}, []string{}},
	{"ollama's batch is OLLAMA_NUM_PARALLEL", Ollama, []string{"serve"},
		map[string]string{"OLLAMA_NUM_PARALLEL": "4", "PYTHONMALLOC": "malloc"},
		Knobs{MaxBatchSize: i64(4)}, []string{"serve"}},
	{"TF32 off", VLLM, nil, map[string]string{"NVIDIA_TF32_OVERRIDE": "0"}, Knobs{AllowTF32: boolp(false)}, []string{}},
	{"TF32 on", TGI, nil, map[string]string{"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}, Knobs{AllowTF32: boolp(true)}, []string{}},
	{"TF32 both: no knob makes that", VLLM, nil,
		map[string]string{"NVIDIA_TF32_OVERRIDE": "0", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}, Knobs{}, []string{}},
	{"TF32 override 1 forces nothing", VLLM, nil, map[string]string{"NVIDIA_TF32_OVERRIDE": "1"}, Knobs{}, []string{}},
	{"custom reads only its contract", Custom, []string{"--dtype", "half"},
		map[string]string{"MCPAI_DTYPE": "fp8", "MCPAI_ALLOW_TF32": "false", "NVIDIA_TF32_OVERRIDE": "1", "MCPAI_MAX_BATCH_SIZE": "x"},
		Knobs{Dtype: "fp8", AllowTF32: boolp(false)}, []string{"--dtype", "half"}},
	{"custom TF32 unreadable", Custom, nil, map[string]string{"MCPAI_ALLOW_TF32": "yes", "NVIDIA_TF32_OVERRIDE": "0"}, Knobs{}, []string{}},
}

func TestReadKnobs(t *testing.T) {
	for _, tc := range readCases {
		got, rest := ReadKnobs(tc.s, tc.args, tc.env)
		if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(rest, tc.rest) {
			t.Errorf("%s: ReadKnobs(%s, %q, %v) = %s, %#v; want %s, %#v", tc.name, tc.s, tc.args, tc.env, show(got), rest, show(tc.want), tc.rest)
		}
	}
}

var conflictCases = []struct {
	name    string
	s       Server
	knobs   Knobs
	command []string
	env     map[string]string
	keys    []string // the problems' keys, in order
}{
	{"none", VLLM, Knobs{Dtype: "half"}, []string{"--model", "m"}, map[string]string{"HF_TOKEN": "x"}, nil},
	{"flag then value", VLLM, Knobs{Dtype: "half"}, []string{"--model", "m", "--dtype", "float16"}, nil, []string{"--dtype"}},
	{"flag=value", VLLM, Knobs{Dtype: "half"}, []string{"--dtype=float16"}, nil, []string{"--dtype=float16"}},
	{"underscores, as vLLM reads them", VLLM, Knobs{GPUMemoryFraction: f64(0.5), MaxBatchSize: i64(2)},
		[]string{"--gpu_memory_utilization=0.6", "--max_num_seqs", "3"}, nil,
		[]string{"--gpu_memory_utilization=0.6", "--max_num_seqs"}},
	{"prefixes and other flags are not the flag", VLLM, Knobs{Dtype: "half"},
		[]string{"--dtypes", "--kv-cache-dtype", "fp8", "-dtype", "dtype", "--dtype-x=1"}, nil, nil},
	{"TGI's own spelling", TGI, Knobs{TensorParallel: i64(2), Quantization: "awq"},
		[]string{"--quantize", "gptq", "--num-shard=4", "--quantization", "awq"}, nil, []string{"--quantize", "--num-shard=4"}},
	{"env keys, sorted", TGI, Knobs{PythonMalloc: "malloc", MallocArenaMax: i64(2), AllowTF32: boolp(false)}, nil,
		map[string]string{"PYTHONMALLOC": "pymalloc", "NVIDIA_TF32_OVERRIDE": "1", "MALLOC_ARENA_MAX": "8", "OTHER": "1"},
		[]string{"MALLOC_ARENA_MAX", "NVIDIA_TF32_OVERRIDE", "PYTHONMALLOC"}},
	{"custom's contract", Custom, Knobs{Dtype: "fp8"}, []string{"--dtype", "fp8"}, map[string]string{"MCPAI_DTYPE": "x"}, []string{"MCPAI_DTYPE"}},
	{"an env key the knob does not set here", Ollama, Knobs{AllowTF32: boolp(false)}, nil,
		map[string]string{"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}, nil},
}

func TestConflicts(t *testing.T) {
	for _, tc := range conflictCases {
		r, probs := Render(tc.s, tc.knobs)
		if len(probs) > 0 {
			t.Fatalf("%s: Render problems %+v", tc.name, probs)
		}
		var keys []string
		for _, p := range Conflicts(r, tc.command, tc.env) {
			keys = append(keys, p.Key)
			wantAttr, summary := "command", "Flag Set Twice"
			if _, ok := tc.env[p.Key]; ok {
				wantAttr, summary = "env", "Variable Set Twice"
			}
			if p.Attr != wantAttr || p.Summary != summary || !strings.Contains(p.Detail, p.Key) {
				t.Errorf("%s: problem %+v", tc.name, p)
			}
		}
		if !slices.Equal(keys, tc.keys) {
			t.Errorf("%s: Conflicts keys %q, want %q", tc.name, keys, tc.keys)
		}
	}
}

func TestKnobEnvKeys(t *testing.T) {
	for s, want := range map[Server][]string{
		VLLM:   {"MALLOC_ARENA_MAX", "NVIDIA_TF32_OVERRIDE", "PYTHONMALLOC", "PYTORCH_CUDA_ALLOC_CONF", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"},
		TGI:    {"MALLOC_ARENA_MAX", "NVIDIA_TF32_OVERRIDE", "PYTHONMALLOC", "PYTORCH_CUDA_ALLOC_CONF", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"},
		Triton: {"MALLOC_ARENA_MAX", "NVIDIA_TF32_OVERRIDE", "PYTHONMALLOC", "PYTORCH_CUDA_ALLOC_CONF", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"},
		Ollama: {"MALLOC_ARENA_MAX", "NVIDIA_TF32_OVERRIDE", "OLLAMA_NUM_PARALLEL"},
		Custom: {"MALLOC_ARENA_MAX", "MCPAI_ALLOW_TF32", "MCPAI_DTYPE", "MCPAI_GPU_MEMORY_FRACTION", "MCPAI_MAX_BATCH_SIZE",
			"MCPAI_QUANTIZATION", "MCPAI_TENSOR_PARALLEL", "MCPAI_TORCH_COMPILE_MODE", "NVIDIA_TF32_OVERRIDE", "PYTHONMALLOC",
			"PYTORCH_CUDA_ALLOC_CONF", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"},
		NoServer: nil,
	} {
		got := KnobEnvKeys(s)
		if !slices.Equal(got, want) {
			t.Errorf("KnobEnvKeys(%s) = %q, want %q", s, got, want)
		}
		// Every key a knob can render is listed.
		for _, k := range []Knobs{allKnobs(s), {AllowTF32: boolp(true)}, {AllowTF32: boolp(false)}} {
			r, _ := Render(s, k)
			for key := range r.Env {
				if !slices.Contains(got, key) {
					t.Errorf("Render(%s) sets %s, not in KnobEnvKeys", s, key)
				}
			}
		}
	}
}

// TestRenderNoServer: a general container renders nothing, and refuses
// every knob (the resource has none to set).
func TestRenderNoServer(t *testing.T) {
	if r, probs := Render(NoServer, Knobs{}); len(r.Args) != 0 || len(r.Env) != 0 || len(probs) != 0 {
		t.Errorf("Render(NoServer, none) = %+v, %+v", r, probs)
	}
	for _, k := range []Knobs{allKnobs(VLLM), {AllowTF32: boolp(false)}, {CUDAAllocConf: "expandable_segments:True"}} {
		r, probs := Render(NoServer, k)
		if len(probs) != 1 || probs[0].Attr != "server" || len(r.Args) != 0 || len(r.Env) != 0 {
			t.Errorf("Render(NoServer, %s) = %+v, %+v; want one problem and nothing rendered", show(k), r, probs)
		}
	}
	if k, rest := ReadKnobs(NoServer, []string{"--dtype", "half"}, map[string]string{"PYTHONMALLOC": "malloc"}); k != (Knobs{}) || !slices.Equal(rest, []string{"--dtype", "half"}) {
		t.Errorf("ReadKnobs(NoServer) = %s, %q; want no knobs and the arguments as they are", show(k), rest)
	}
}

func TestCustomContract(t *testing.T) {
	c := CustomContract()
	names, attrs := map[string]bool{}, map[string]bool{}
	for _, v := range c {
		if v.Name == "" || v.Meaning == "" || names[v.Name] || attrs[v.Attr] {
			t.Errorf("contract entry %+v is empty or repeated", v)
		}
		names[v.Name], attrs[v.Attr] = true, true
	}
	for _, a := range []string{AttrGPUMemoryFraction, AttrAllowTF32, AttrDtype, AttrQuantization, AttrMaxBatchSize,
		AttrTensorParallel, AttrTorchCompileMode, AttrCUDAAllocConf, AttrPythonMalloc, AttrMallocArenaMax} {
		if !attrs[a] {
			t.Errorf("contract has no %s", a)
		}
	}
	// What Render gives a custom image is the contract (and the TF32
	// variables the contract names).
	for _, k := range []Knobs{allKnobs(Custom), {AllowTF32: boolp(false)}} {
		r, probs := Render(Custom, k)
		if len(probs) > 0 || len(r.Args) > 0 {
			t.Fatalf("Render(custom) = %+v, %+v", r, probs)
		}
		for key := range r.Env {
			if !names[key] && key != EnvTF32Override && key != EnvTorchTF32 {
				t.Errorf("Render(custom) sets %s, not in the contract", key)
			}
		}
	}
}
