# host[:port]/container-name over SSH (the ssh block's other settings come
# from the provider block and MCPAI_SSH_*), or docker_host|container-name.
terraform import mcpai_gpu_model_runner.vllm 10.0.2.10/vllm
terraform import mcpai_gpu_model_runner.local 'unix:///var/run/docker.sock|vllm'
