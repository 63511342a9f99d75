// Package hostfacts gathers a Linux host's facts in a single remote round
// trip and parses the result.
//
// It is pure logic: the transport (SSH, optionally under "sudo -n") runs
// Command() and hands the captured stdout to Parse. Nothing here imports the
// Terraform framework or an SSH library, so the script and the parsers can be
// tested against recorded outputs.
//
// # Output format
//
// The script prints sections, each introduced by a marker line
//
//	@@mcpai:<name>@@
//
// where <name> is [a-z0-9_]+. The first marker is "begin" (its content is the
// format version) and the last is "end", so truncated output is detected.
// Content lines that start with '@' or '\' are prefixed with '\' by the script
// and unescaped by Parse; hence no content line can ever look like a marker,
// whatever a probed file or command prints. An empty section means the fact is
// unavailable on that host.
package hostfacts

// Script is a POSIX sh script that prints all facts. It only reads; nothing
// on the host changes. Every probe is optional (files are tested for
// readability, commands for existence), so one missing fact never makes the
// whole script fail; it always exits 0.
//
// Design notes:
//   - Commands are looked up in the session's PATH (sudo's secure_path under
//     sudo); nothing is appended, so tests can hide tools.
//   - /proc/cpuinfo is filtered with grep only to keep the output small on
//     hosts with hundreds of CPUs; without grep the whole file is printed
//     and Parse counts the same lines.
//   - e() copies stdin with the builtins read/printf only: it needs no cat,
//     terminates a last line that lacks '\n' (a bare cat would glue the next
//     marker onto it) and escapes lines that start with '@' or '\'.
//   - /sys/block values are read with the read builtin instead of cat, so
//     hosts with hundreds of loop devices do not pay two forks per device.
//   - nvidia-smi and docker can hang on a wedged driver or daemon, so they run
//     under "timeout 5" when timeout(1) exists. Their stderr is dropped and
//     their exit status is reported in its own section: the parser trusts
//     their stdout only when they exited 0 (so a timeout, or an old busybox
//     timeout that wants "-t 5", reads as "absent", never as garbage).
//   - LC_ALL=C keeps tool output locale-independent.
const Script = `# mcpai host facts, format 1
export LC_ALL=C
m() { printf '@@mcpai:%s@@\n' "$1"; }
e() {
	while IFS= read -r l || [ -n "$l" ]; do
		case $l in
		[@\\]*) printf '\\%s\n' "$l" ;;
		*) printf '%s\n' "$l" ;;
		esac
	done
}
f() { [ -r "$1" ] && e <"$1" 2>/dev/null; }
t() {
	if command -v timeout >/dev/null 2>&1; then timeout 5 "$@"; else "$@"; fi
}
m begin
echo 1
m cpu_online
f /sys/devices/system/cpu/online
m cpuinfo
grep '^processor' /proc/cpuinfo 2>/dev/null || f /proc/cpuinfo
m meminfo
f /proc/meminfo
m node_online
f /sys/devices/system/node/online
m kernel
uname -r 2>/dev/null | e
m arch
uname -m 2>/dev/null | e
m os_release
if [ -r /etc/os-release ]; then f /etc/os-release; else f /usr/lib/os-release; fi
m disks
for d in /sys/block/*; do
	[ -e "$d" ] || continue
	r=; s=
	[ -r "$d/queue/rotational" ] && read -r r <"$d/queue/rotational"
	[ -r "$d/size" ] && read -r s <"$d/size"
	printf '%s %s %s\n' "${d##*/}" "${r:--}" "${s:--}"
done 2>/dev/null | e
m thp_enabled
f /sys/kernel/mm/transparent_hugepage/enabled
m thp_defrag
f /sys/kernel/mm/transparent_hugepage/defrag
m cpufreq_governors
f /sys/devices/system/cpu/cpu0/cpufreq/scaling_available_governors
m cpufreq_governor
f /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor
m nvidia_smi
rc=
if command -v nvidia-smi >/dev/null 2>&1; then
	o=$(t nvidia-smi --query-gpu=index,name,memory.total,driver_version,uuid --format=csv,noheader,nounits 2>/dev/null)
	rc=$?
	[ -n "$o" ] && printf '%s\n' "$o" | e
fi
m nvidia_smi_rc
[ -n "$rc" ] && echo "$rc"
m docker_info
rc=
if command -v docker >/dev/null 2>&1; then
	o=$(t docker info --format '{{json .}}' 2>/dev/null)
	rc=$?
	[ -n "$o" ] && printf '%s\n' "$o" | e
fi
m docker_info_rc
[ -n "$rc" ] && echo "$rc"
m end
exit 0
`

// Command is the argv the transport runs; Script is passed as one argument so
// that no word splitting happens on the local side.
func Command() []string {
	return []string{"sh", "-c", Script}
}

// Facts describes a host. Slices are never nil, so callers (and Terraform
// list conversions) need not distinguish nil from empty.
type Facts struct {
	CPUCount        int64     // online CPUs
	MemoryBytes     int64     // MemTotal
	NUMANodes       int64     // online NUMA nodes; 1 when the host exposes none
	Kernel          string    // uname -r
	Architecture    string    // uname -m
	OS              OSRelease // /etc/os-release; zero when absent
	Disks           []Disk    // whole block devices, sorted by name
	THPMode         string    // transparent_hugepage/enabled; "" when absent
	THPDefrag       string    // transparent_hugepage/defrag; "" when absent
	CPUGovernors    []string  // cpu0 scaling_available_governors, kernel order
	CurrentGovernor string    // cpu0 scaling_governor; "" when absent
	GPUs            []GPU     // NVIDIA GPUs, sorted by index
	Docker          *Docker   // nil when docker is absent or its daemon does not answer
}

// OSRelease holds the /etc/os-release fields the provider uses.
type OSRelease struct {
	ID         string
	VersionID  string
	PrettyName string
}

// Disk is a whole block device from /sys/block.
type Disk struct {
	Name       string
	Rotational bool  // false when unknown
	SizeBytes  int64 // 0 when unknown
}

// GPU is one line of nvidia-smi --query-gpu output.
type GPU struct {
	Index         int64
	Name          string
	MemoryBytes   int64 // 0 when nvidia-smi reports [N/A]
	DriverVersion string
	UUID          string
}

// Docker holds what "docker info" reports about the daemon.
type Docker struct {
	ServerVersion  string
	Runtimes       []string // sorted
	DefaultRuntime string
}
