# The whole MCPAI stack on the two sandbox hosts that `make sandbox` starts
# and the VM host that `make vm` starts (`make demo` applies it): h2 serves the API behind Traefik with PgBouncer
# in front of h1's PostgreSQL, the model runner (app+gpu), Prometheus with
# the exporters, and runs the load test; h1 PostgreSQL and Redis (db+cache).
# The images are built on the hosts by scripts/sandbox.sh, no registry
# needed. Real programs from Debian's packages: the API (a FastAPI app,
# internal/acctest/testdata/fastapi, under uvicorn: rows in h1's PostgreSQL
# at /api/requests, a summary cached in h1's Redis), PgBouncer, Prometheus,
# the exporters and Locust. Stand-ins from this repository's Go code:
# Traefik (it does not build here) and the model runner (no GPU here).
# h1 and h2 are network namespaces of the machine that runs the demo and
# share its kernel, which is not theirs to tune: the kernel-wide settings
# (vm.*, fs.*, transparent huge pages, the governor) go to v1, a Debian VM
# with a kernel of its own, so the demo never changes the machine's kernel,
# however it ends.
terraform {
  required_version = ">= 1.9"
  required_providers {
    mcpai = {
      source = "mcpai/mcpai"
    }
  }
}

variable "tuned" {
  type        = bool
  description = "false: the stack without the guide's host layer and with uvicorn's own defaults (one worker, asyncio, h11, access log): the \"before\" of make demo's load test. PostgreSQL, Redis and Docker are tuned either way."
  default     = true
}

variable "hosts_file" {
  type        = string
  description = "The sandbox's hosts.json (written by scripts/sandbox.sh)."
  default     = "../../.sandbox/hosts.json"
}

variable "vms_file" {
  type        = string
  description = "The sandbox's vms.json (written by scripts/vm.sh): the VM host whose kernel the host layer tunes."
  default     = "../../.sandbox/vms.json"
}

locals {
  sandbox = { for h in jsondecode(file(var.hosts_file)).hosts : h.name => h }
  db      = local.sandbox["h1"]
  app     = local.sandbox["h2"]
  vm      = jsondecode(file(var.vms_file)).vms[0]

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
      # Shares the machine's kernel, like h1.
      shared_kernel = true
    }
    data = {
      address = local.db.address
      roles   = ["db", "cache"]
      ssh     = local.ssh["h1"]
      # The sandbox's hosts are network namespaces of one machine: its
      # kernel-wide settings (vm.*, fs.*, THP, the governor) stay as they are.
      shared_kernel = true
    }
    # A host of its own kernel, reached as a sudo user as most hosts are:
    # the host layer only (no roles), kernel-wide settings included.
    kernel = {
      address = local.vm.address
      ssh = {
        port        = local.vm.port
        user        = local.vm.sudo_user
        sudo        = true
        private_key = file(local.vm.private_key_path)
        host_key    = local.vm.host_key
      }
    }
  }

  host_tuning = {
    enabled = var.tuned
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
    # Untuned: uvicorn's defaults instead of the guide's (null: the module's,
    # i.e. the guide's: workers from the CPUs, uvloop, httptools, no access log).
    workers    = var.tuned ? null : 1
    loop       = var.tuned ? null : "asyncio"
    http       = var.tuned ? null : "h11"
    access_log = var.tuned ? null : true
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
    # Debian's Prometheus on h2 with the module's rules (checked by its
    # promtool) and targets, and the exporters the rules read: node on h2,
    # postgres and redis pointed at h1.
    prometheus = { enabled = true, image = local.app.debian_stack_image, scrape_interval = "5s", evaluation_interval = "5s" }
    exporters  = { enabled = true }
    thresholds = { p95_latency_seconds = 0.3 }
  }

  # PgBouncer (Debian's) on the app host in transaction pooling, in front of
  # h1's PostgreSQL: the API's DATABASE_* point at it, and the pools are
  # checked against what PGTune gives max_connections when planning.
  pgbouncer = {
    enabled          = true
    image            = local.app.debian_stack_image
    client_pool_size = 5 # API_DB_POOL_SIZE per uvicorn worker
  }

  # Locust (Debian's python3-locust in the sandbox's image) on the app host
  # against Traefik, after every layer and again after any change: the guide's
  # task mix, 20 users without pauses for 20 s. On the sandbox the objectives
  # only warn: its two cores run the load, the API and everything else.
  load_test = {
    enabled     = true
    image       = local.app.locust_image
    users       = 20
    duration    = "20s"
    slo         = { p95_ms = 1000, max_failure_ratio = 0.01 }
    on_slo_miss = "warn"
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

output "load_test" {
  description = "Locust's results against the API through Traefik (the sandbox's figures)."
  value       = module.stack.load_test
}
