# host[:port]/container-name over SSH (the ssh block's other settings come
# from the provider block and MCPAI_SSH_*), or docker_host|container-name.
terraform import mcpai_container.api 10.0.1.20/api
terraform import mcpai_container.local 'unix:///var/run/docker.sock|traefik'
