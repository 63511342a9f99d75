# host:file, or host:port:file. Credentials come from the provider's ssh block
# or MCPAI_SSH_* variables. The settings are read from the file.
terraform import mcpai_host_sysctl.network 10.0.1.20:/etc/sysctl.d/90-mcpai.conf
