# The guide's load test, run from the API host against the service behind
# Traefik after every change of the stack: 50 users for two minutes, with
# objectives that fail the apply when missed.
resource "mcpai_load_test" "api" {
  ssh      = { host = "10.0.1.20" }
  target   = "http://127.0.0.1:80"
  users    = 50
  duration = "2m"

  wait_time = { min = "1s", max = "3s" }
  tasks = [
    { path = "/health", weight = 1 },
    { path = "/api/requests", weight = 3 },
    {
      method  = "POST"
      path    = "/api/compute"
      weight  = 2
      body    = jsonencode({ n = 1000 })
      headers = { "Content-Type" = "application/json" }
    },
  ]

  slo = {
    p95_ms            = 500
    p99_ms            = 1000
    max_failure_ratio = 0.01
    min_rps           = 20
  }

  # Run again whenever the API's image changes (for example
  # mcpai_container.api.image_id).
  triggers = { api_image = var.api_image_id }
}

variable "api_image_id" {
  type = string
}

output "api_p95_ms" {
  value = mcpai_load_test.api.results.p95_ms
}
