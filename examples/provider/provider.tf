# Connection defaults for every resource and data source. Each can override
# any of them in its own `ssh` object; MCPAI_SSH_* environment variables are
# the last fallback (e.g. MCPAI_SSH_PRIVATE_KEY in a Terraform Cloud workspace).
provider "mcpai" {
  ssh = {
    user        = "deploy"
    sudo        = true
    private_key = file("~/.ssh/id_ed25519")
    known_hosts = file("~/.ssh/known_hosts")
  }
}
