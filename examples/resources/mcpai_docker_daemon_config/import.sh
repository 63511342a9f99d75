# host:path, or host:port:path. Credentials come from the provider's ssh
# block or MCPAI_SSH_* variables. Destroying an imported resource leaves the
# file as it was found.
terraform import mcpai_docker_daemon_config.gpu_host 10.0.1.30:/etc/docker/daemon.json
