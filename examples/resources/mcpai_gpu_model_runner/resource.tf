# vLLM on two GPUs of a host, tuned as the guide says.
resource "mcpai_gpu_model_runner" "vllm" {
  ssh    = { host = "10.0.2.10" }
  name   = "vllm"
  image  = "vllm/vllm-openai:v0.6.3"
  server = "vllm"

  command = ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--port", "8000"]
  env     = { HF_HOME = "/models/hf" }
  ports   = [{ container_port = 8000, host_port = 8000, host_ip = "127.0.0.1" }]
  volumes = [{ source = "model-cache", target = "/models" }]

  gpus               = ["0", "1"]
  cpuset             = "0-15" # the GPUs' NUMA node
  memory             = "64g"
  memory_reservation = "48g"
  shm_size           = "16g"
  ulimits            = [{ name = "memlock", soft = -1, hard = -1 }, { name = "stack", soft = 67108864, hard = 67108864 }]
  log_opts           = { "max-size" = "100m", "max-file" = "3" }

  gpu_memory_fraction = 0.9
  dtype               = "bfloat16"
  max_batch_size      = 256
  tensor_parallel     = 2
  allow_tf32          = true
  cuda_alloc_conf     = "expandable_segments:True"
  python_malloc       = "malloc"
  malloc_arena_max    = 2

  # A new container is started and must be ready before the old one goes.
  update_strategy = "start_first"
  timeouts        = { create = "45m", update = "45m" }
}

# Text Generation Inference, quantized, on one GPU.
resource "mcpai_gpu_model_runner" "tgi" {
  ssh      = { host = "10.0.2.11" }
  name     = "tgi"
  image    = "ghcr.io/huggingface/text-generation-inference:2.4.0"
  server   = "tgi"
  command  = ["--model-id", "mistralai/Mistral-7B-Instruct-v0.3"]
  ports    = [{ container_port = 80, host_port = 8080 }]
  volumes  = [{ source = "/data/models", target = "/data" }]
  gpus     = 1
  shm_size = "1g"

  gpu_memory_fraction = 0.85
  quantization        = "awq"
  max_batch_size      = 32
  dtype               = "float16"
}

# Triton: batching and precision live in each model's config.pbtxt; the
# resource adds the process-level settings and waits on /v2/health/ready.
resource "mcpai_gpu_model_runner" "triton" {
  ssh      = { host = "10.0.2.12" }
  name     = "triton"
  image    = "nvcr.io/nvidia/tritonserver:24.10-py3"
  server   = "triton"
  command  = ["tritonserver", "--model-repository=/models"]
  volumes  = [{ source = "/srv/triton-models", target = "/models", read_only = true }]
  ports    = [{ container_port = 8000, host_port = 8000 }, { container_port = 8001, host_port = 8001 }]
  gpus     = "all"
  ipc_mode = "host"

  cuda_alloc_conf = "expandable_segments:True"
  allow_tf32      = false
}

# Ollama, with CDI device names (Docker 25+ with nvidia-ctk cdi generate).
resource "mcpai_gpu_model_runner" "ollama" {
  ssh        = { host = "10.0.2.13" }
  name       = "ollama"
  image      = "ollama/ollama:0.4.0"
  server     = "ollama"
  ports      = [{ container_port = 11434, host_port = 11434 }]
  volumes    = [{ source = "ollama", target = "/root/.ollama" }]
  gpus       = ["0"]
  gpu_driver = "cdi"

  max_batch_size   = 4 # OLLAMA_NUM_PARALLEL
  malloc_arena_max = 2
}

# Your own server: the tuning attributes arrive as MCPAI_* variables, and
# readiness is your endpoint.
resource "mcpai_gpu_model_runner" "custom" {
  ssh         = { host = "10.0.2.14" }
  name        = "embedder"
  image       = "registry.example.com/ml/embedder:1.8.2"
  server      = "custom"
  health_path = "/healthz"
  health_port = 9000
  gpus        = 1

  registry_auth = {
    username = "deploy"
    password = var.registry_token
  }

  gpu_memory_fraction = 0.5
  torch_compile_mode  = "max-autotune"
  max_batch_size      = 64
}

variable "registry_token" {
  type      = string
  sensitive = true
}
