# The whole MCPAI stack on the two sandbox hosts that `make sandbox` starts
# (`make demo` applies it): h2 serves the API behind Traefik and the model
# runner (app+gpu) and holds Prometheus's rules and targets, h1 PostgreSQL and
# Redis (db+cache). The images are demo workloads that scripts/sandbox.sh
# builds on the hosts, no registry needed: the API is a real FastAPI app
# served by the real uvicorn, from Debian's packages
# (internal/acctest/testdata/fastapi: rows in h1's PostgreSQL at
# /api/requests, a summary cached in h1's Redis); Traefik is a stand-in
# (Traefik itself does not build here) and the model runner an imitation
# inference server, both from this repository's Go code.
terraform {
  required_version = ">= 1.9"
  required_providers {
    mcpai = {
      source = "mcpai/mcpai"
    }
  }
}

variable "hosts_file" {
  type        = string
  description = "The sandbox's hosts.json (written by scripts/sandbox.sh)."
  default     = "../../.sandbox/hosts.json"
}

locals {
  sandbox = { for h in jsondecode(file(var.hosts_file)).hosts : h.name => h }
  db      = local.sandbox["h1"]
  app     = local.sandbox["h2"]

  # One ssh object per host: the sandbox's key, pinned host key.
  ssh = { for name, h in local.sandbox : name => {
    user        = h.user
    private_key = file(h.private_key_path)
    host_key    = h.host_key
  } }
}

# Credentials come from each host's ssh object; the provider block needs none.
provider "mcpai" {}

module "stack" {
  source = "../../modules/mcpai-stack"

  hosts = {
    app = {
      address = local.app.address
      roles   = ["api", "gpu"]
      ssh     = local.ssh["h2"]
    }
    data = {
      address = local.db.address
      roles   = ["db", "cache"]
      ssh     = local.ssh["h1"]
      # The sandbox's hosts are network namespaces of one machine: the
      # kernel-wide settings (vm.*, fs.*, THP, the governor) are tuned once,
      # through the app host.
      shared_kernel = true
    }
  }

  host_tuning = {
    # A network namespace refuses these; a real host takes the guide's values.
    leave_alone = ["net.core.rmem_max", "net.core.wmem_max", "net.core.default_qdisc"]
    # The sandbox machine's hard open-file limit is 20000.
    nofile_limit = 16384
  }

  docker = {
    nofile_limit  = 16384
    cgroup_driver = "cgroupfs" # no systemd in the sandbox
  }

  postgres = {
    db_version         = 15
    user               = local.db.postgres_user
    database           = local.db.postgres_database
    sslmode            = "disable"
    restart            = "allowed"
    pg_stat_statements = { max = 5000 }
    # The slow-query log the monitoring layer's alert complements.
    overrides = { log_min_duration_statement = "500ms" }
  }
  postgres_password = local.db.postgres_password

  redis = {
    maxmemory_fraction = 0.25
    persistence        = "aof"
  }
  redis_password = local.db.redis_password

  api = {
    image         = "mcpai-demo-fastapi:latest"
    app           = "main:app" # /app/main.py in the image
    traefik_image = "mcpai-demo-traefik:latest"
    replicas      = 2
    nofile        = 16384 # the sandbox machine's hard limit is 20000
    # The app's database and cache, on the data host.
    env = {
      DATABASE_HOST    = local.db.address
      DATABASE_PORT    = tostring(local.db.postgres_port)
      DATABASE_USER    = local.db.postgres_user
      DATABASE_NAME    = local.db.postgres_database
      API_DB_POOL_SIZE = "5" # per uvicorn worker
      REDIS_HOST       = split(":", local.db.redis_address)[0]
      REDIS_PORT       = split(":", local.db.redis_address)[1]
    }
  }
  api_sensitive_env = {
    DATABASE_PASSWORD = local.db.postgres_password
    REDIS_PASSWORD    = local.db.redis_password
  }

  monitoring = {
    host = "app"
    # postgres_exporter (not part of the demo) would be scraped here for the
    # slow-query alert: { postgres = { targets = ["10.213.1.2:9187"] } }
    thresholds = { p95_latency_seconds = 0.3 }
  }

  model_runner = {
    image     = "mcpai-demo-model:latest"
    server    = "vllm"
    command   = ["--model", "/models/demo"]
    env       = { MODELSERVER_READY_AFTER = "1s" }
    ports     = [{ container_port = 8000, host_port = 18400, host_ip = "127.0.0.1" }]
    gpu_count = 1
    # memlock within the sandbox machine's hard limit (8 MiB); a GPU host takes the guide's unlimited.
    ulimits  = [{ name = "memlock", soft = 8388608, hard = 8388608 }, { name = "stack", soft = 67108864, hard = 67108864 }]
    dtype    = "bfloat16"
    timeouts = { create = "5m" }
  }
}

output "hosts" {
  description = "Which layers each host got."
  value       = module.stack.hosts
}

output "postgres" {
  description = "What PGTune sized PostgreSQL for, and the live settings."
  value       = module.stack.postgres
}

output "redis" {
  description = "Redis's memory limit and live parameters."
  value       = module.stack.redis
}

output "api" {
  description = "Where the API answers (Traefik on the app host) and its uvicorn workers."
  value       = module.stack.api
}

output "monitoring" {
  description = "The alerts and scrape targets written for Prometheus."
  value       = module.stack.monitoring
}

output "model_runner" {
  description = "The inference server's container."
  value       = module.stack.model_runner
}
