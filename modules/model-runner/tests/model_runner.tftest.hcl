# Plans against a mocked provider: no Docker host is reached. What depends
# on the server kind (a knob the kind has no flag for, such as dtype with
# triton) is the resource's own check, which expect_failures cannot catch;
# internal/moduletest keeps that case.
mock_provider "mcpai" {}

variables {
  host   = "10.0.0.1"
  name   = "model"
  image  = "vllm/vllm-openai:v0.6.0"
  server = "vllm"
}

run "guide_defaults" {
  command = plan

  variables {
    gpus                = ["0", "1"]
    gpu_memory_fraction = 0.9
    ports               = [{ container_port = 8000, host_port = 8000 }]
  }

  assert {
    condition     = mcpai_gpu_model_runner.this[0].ssh.host == "10.0.0.1" && mcpai_gpu_model_runner.this[0].server == "vllm" && mcpai_gpu_model_runner.this[0].name == "model"
    error_message = "the runner is not planned on host as name with server."
  }
  assert {
    condition     = mcpai_gpu_model_runner.this[0].shm_size == "16g" && mcpai_gpu_model_runner.this[0].restart_policy == "unless-stopped" && mcpai_gpu_model_runner.this[0].update_strategy == "recreate"
    error_message = "the guide's shared memory, restart policy and update strategy."
  }
  assert {
    condition     = length(mcpai_gpu_model_runner.this[0].ulimits) == 2 && mcpai_gpu_model_runner.this[0].ulimits[0].name == "memlock" && mcpai_gpu_model_runner.this[0].ulimits[0].soft == -1
    error_message = "the guide's ulimits: memlock unlimited and a 64 MiB stack."
  }
  assert {
    condition     = mcpai_gpu_model_runner.this[0].log_opts["max-size"] == "100m" && mcpai_gpu_model_runner.this[0].gpu_memory_fraction == 0.9
    error_message = "log rotation and the knobs are passed on."
  }
  assert {
    condition     = mcpai_gpu_model_runner.this[0].command == null && mcpai_gpu_model_runner.this[0].env == null
    error_message = "an empty command or env is left to the server kind's defaults (null)."
  }
}

run "validate_only" {
  command = plan
  variables {
    validate_only = true
  }
  assert {
    condition     = length(mcpai_gpu_model_runner.this) == 0
    error_message = "validate_only must manage nothing."
  }
}

run "host" {
  command = plan
  variables {
    host = "gpu; reboot"
  }
  expect_failures = [var.host]
}

run "name" {
  command = plan
  variables {
    name = "-model"
  }
  expect_failures = [var.name]
}

run "image" {
  command = plan
  variables {
    image = ""
  }
  expect_failures = [var.image]
}

run "server" {
  command = plan
  variables {
    server = "sglang"
  }
  expect_failures = [var.server]
}

run "ports" {
  command = plan
  variables {
    ports = [{ container_port = 70000 }]
  }
  expect_failures = [var.ports]
}

run "ports_protocol" {
  command = plan
  variables {
    ports = [{ container_port = 8000, protocol = "sctp" }]
  }
  expect_failures = [var.ports]
}

run "volumes" {
  command = plan
  variables {
    volumes = [{ source = "models", target = "relative" }]
  }
  expect_failures = [var.volumes]
}

run "gpus" {
  command = plan
  variables {
    gpus = "some"
  }
  expect_failures = [var.gpus]
}

run "gpu_count" {
  command = plan
  variables {
    gpus = 0
  }
  expect_failures = [var.gpus]
}

run "gpu_ids_empty" {
  command = plan
  variables {
    gpus = []
  }
  expect_failures = [var.gpus]
}

run "gpu_driver" {
  command = plan
  variables {
    gpu_driver = "amd"
  }
  expect_failures = [var.gpu_driver]
}

run "health_path" {
  command = plan
  variables {
    health_path = "health"
  }
  expect_failures = [var.health_path]
}

run "health_port" {
  command = plan
  variables {
    health_port = 0
  }
  expect_failures = [var.health_port]
}

run "shm_size" {
  command = plan
  variables {
    shm_size = "lots"
  }
  expect_failures = [var.shm_size]
}

run "ulimits" {
  command = plan
  variables {
    ulimits = [{ name = "openfiles", soft = 1, hard = 1 }]
  }
  expect_failures = [var.ulimits]
}

run "restart_policy" {
  command = plan
  variables {
    restart_policy = "sometimes"
  }
  expect_failures = [var.restart_policy]
}

run "memory" {
  command = plan
  variables {
    memory = "0"
  }
  expect_failures = [var.memory]
}

run "cpuset" {
  command = plan
  variables {
    cpuset = "all"
  }
  expect_failures = [var.cpuset]
}

run "gpu_memory_fraction" {
  command = plan
  variables {
    gpu_memory_fraction = 1.5
  }
  expect_failures = [var.gpu_memory_fraction]
}

run "quantization" {
  command = plan
  variables {
    quantization = "AWQ"
  }
  expect_failures = [var.quantization]
}

run "max_batch_size" {
  command = plan
  variables {
    max_batch_size = 0
  }
  expect_failures = [var.max_batch_size]
}

run "tensor_parallel" {
  command = plan
  variables {
    tensor_parallel = 1.5
  }
  expect_failures = [var.tensor_parallel]
}

run "python_malloc" {
  command = plan
  variables {
    python_malloc = "jemalloc"
  }
  expect_failures = [var.python_malloc]
}

run "malloc_arena_max" {
  command = plan
  variables {
    malloc_arena_max = 0
  }
  expect_failures = [var.malloc_arena_max]
}

run "torch_compile_mode" {
  command = plan
  variables {
    torch_compile_mode = "fast"
  }
  expect_failures = [var.torch_compile_mode]
}

run "update_strategy" {
  command = plan
  variables {
    update_strategy = "rolling"
  }
  expect_failures = [var.update_strategy]
}

run "timeouts" {
  command = plan
  variables {
    timeouts = { create = "ten minutes" }
  }
  expect_failures = [var.timeouts]
}
