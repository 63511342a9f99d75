variable "hosts" {
  description = "Addresses (IP or DNS name) of the hosts to tune. Connection settings come from `ssh`, then the mcpai provider's ssh block."
  type        = set(string)

  validation {
    condition     = length(var.hosts) > 0 && alltrue([for h in var.hosts : can(regex("^[A-Za-z0-9.:_-]+$", h))])
    error_message = "hosts must hold at least one address, each an IP address or DNS name."
  }
}

variable "ssh" {
  description = "How to reach the host(s) over SSH: the provider's `ssh` attributes except `host` (`user`, `port`, `private_key`, `private_key_passphrase`, `password`, `agent`, `known_hosts`, `host_key`, `insecure_ignore_host_key`, `sudo`, `timeout`, `bastion`). Unset attributes fall back to the provider block's `ssh`. Secrets in it are sensitive in the resources' plans."
  type = object({
    port                     = optional(number)
    user                     = optional(string)
    private_key              = optional(string)
    private_key_passphrase   = optional(string)
    password                 = optional(string)
    agent                    = optional(bool)
    known_hosts              = optional(string)
    host_key                 = optional(string)
    insecure_ignore_host_key = optional(bool)
    sudo                     = optional(bool)
    timeout                  = optional(string)
    bastion = optional(object({
      host                     = string
      port                     = optional(number)
      user                     = optional(string)
      private_key              = optional(string)
      private_key_passphrase   = optional(string)
      password                 = optional(string)
      agent                    = optional(bool)
      known_hosts              = optional(string)
      host_key                 = optional(string)
      insecure_ignore_host_key = optional(bool)
    }))
  })
  default  = {}
  nullable = false
}

variable "somaxconn" {
  description = "Accept queue length (net.core.somaxconn); the guide uses 65535 for the API tier behind Traefik."
  type        = number
  default     = 65535

  validation {
    condition     = var.somaxconn >= 128 && var.somaxconn <= 4194304 && floor(var.somaxconn) == var.somaxconn
    error_message = "somaxconn must be a whole number between 128 and 4194304."
  }
}

variable "local_port_range" {
  description = "Ephemeral port range for outbound connections (net.ipv4.ip_local_port_range) as [first, last]."
  type        = list(number)
  default     = [1024, 65535]

  validation {
    condition     = length(var.local_port_range) == 2 && var.local_port_range[0] >= 1024 && var.local_port_range[0] < var.local_port_range[1] && var.local_port_range[1] <= 65535
    error_message = "local_port_range must be [first, last] with 1024 <= first < last <= 65535."
  }
}

variable "extra_settings" {
  description = "More sysctls to set on every host, key to value; they override the guide's values."
  type        = map(string)
  default     = {}
}

variable "file" {
  description = "The sysctl.d file the settings are persisted in."
  type        = string
  default     = "/etc/sysctl.d/90-mcpai-network.conf"

  validation {
    condition     = can(regex("^(/etc/sysctl\\.conf|(/etc|/run|/usr/local/lib|/usr/lib|/lib)/sysctl\\.d/[A-Za-z0-9_.@+-]+\\.conf)$", var.file)) && !strcontains(var.file, "..")
    error_message = "file must be a .conf file in a sysctl.d folder (e.g. /etc/sysctl.d/90-mcpai-network.conf) or /etc/sysctl.conf."
  }
}
