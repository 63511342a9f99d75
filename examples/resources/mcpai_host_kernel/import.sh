# host, or host:port. Credentials come from the provider's ssh block or
# MCPAI_SSH_* variables. The settings are read from the files the resource
# writes.
terraform import mcpai_host_kernel.db 10.0.1.20
