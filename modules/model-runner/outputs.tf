output "container_id" {
  description = "The container's id; it changes when the container is replaced."
  value       = one(mcpai_gpu_model_runner.this[*].id)
}

output "state" {
  description = "The container's state as the engine reports it (running once ready)."
  value       = one(mcpai_gpu_model_runner.this[*].state)
}

output "gpu_ids" {
  description = "The GPUs the engine hands the container: the ids given, all, or for a count indexes 0 to count-1."
  value       = one(mcpai_gpu_model_runner.this[*].gpu_ids)
}

output "image_digest" {
  description = "The repository digest of the image (repo@sha256:...); empty when the engine has none for it (an image built on the host)."
  value       = one(mcpai_gpu_model_runner.this[*].image_digest)
}

output "validated" {
  description = "Always true; known once every input has passed validation. A caller that composes modules (as mcpai-stack does) makes the others wait on it (depends_on), so that no host is read while an input of this module is refused."
  value       = true
  depends_on  = [local.inputs]
}
