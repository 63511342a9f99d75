# The performance guide's CPU, THP and limits advice for a database or Redis
# host, applied live and persisted across reboots.
resource "mcpai_host_kernel" "db" {
  ssh = { host = "10.0.1.20" }

  cpu_governor          = "performance"
  cpu_governor_optional = true # cloud VMs have no cpufreq: warn, don't fail

  transparent_hugepage_enabled = "never"
  transparent_hugepage_defrag  = "never"

  nofile_limit = { soft = 65536, hard = 65536 }
  nproc_limit  = { soft = 65536, hard = 65536 }
}

# The system-wide open-file ceiling is a kernel parameter.
resource "mcpai_host_sysctl" "files" {
  ssh      = { host = "10.0.1.20" }
  file     = "/etc/sysctl.d/90-mcpai-files.conf"
  settings = { "fs.file-max" = "2097152" }
}
