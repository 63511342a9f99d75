#!/usr/bin/env bash
# Debian 12 virtual machines with systemd as sandbox hosts, for the tests that
# need a real init system, reboots and power cuts (the namespace hosts of
# scripts/sandbox.sh have none). Software emulation only: /dev/kvm here is
# kvm_pvm, on which a stock kernel hangs.
#
#   scripts/vm.sh build      image, first boot and a saved booted state, cached
#                            in $MCPAI_VM_CACHE (/var/cache/mcpai-vm) per recipe
#   scripts/vm.sh up [N]     VMs v1..vN from the saved state (about 3 s each);
#                            writes .sandbox/vms.json
#   scripts/vm.sh boot vI    cold boot of vI from its own disk (after a power cut)
#   scripts/vm.sh pause      stops the VMs' CPUs (make test; tests resume them)
#   scripts/vm.sh resume     continues them and sets their clocks
#   scripts/vm.sh down       stops every VM, removes .sandbox/vm (not the cache)
#   scripts/vm.sh status
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/scripts/vm.sh"
STATE="$ROOT/.sandbox/vm"
VMS_JSON="$ROOT/.sandbox/vms.json"
CACHE_ROOT=${MCPAI_VM_CACHE:-/var/cache/mcpai-vm}
SSH_PORT_BASE=${MCPAI_VM_SSH_PORT_BASE:-10020}

log() { echo "vm: $*" >&2; }
die() { log "$*"; exit 1; }

# recipe:begin — everything up to recipe:end (the image, its first boot and
# the qemu command line) is hashed into the cache's name: change it and
# `build` makes a new image.
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
PACKAGES=systemd,systemd-sysv,dbus,openssh-server,sudo,linux-image-amd64,docker.io,apparmor,postgresql-15,redis-server,iproute2,procps,ca-certificates,kmod,util-linux,coreutils
DISK_SIZE=6G

# qemu_args DIR PORT: the one qemu command line, in QEMU (a restore needs the
# devices the state was saved with). The guest reaches nothing outside:
# user-mode networking with restrict=on, only sshd forwarded from loopback.
qemu_args() {
	local dir=$1 port=$2
	QEMU=(qemu-system-x86_64 -name "mcpai-vm-${dir##*/}" -machine pc -accel tcg,thread=multi,tb-size=256
		-cpu max -smp 2 -m 2048 -nodefaults -display none -monitor none -serial "file:$dir/serial.log"
		-kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.img" -append 'root=/dev/vda rw console=ttyS0 net.ifnames=0'
		-drive "file=$dir/disk.qcow2,if=virtio,format=qcow2"
		-netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=net0
		-qmp "unix:$dir/qmp.sock,server=on,wait=off" -pidfile "$dir/qemu.pid" -daemonize)
}

# customize ROOTFS KEYDIR: logins, host key, network and services.
customize() {
	local r=$1 k=$2
	echo mcpai-vm >"$r/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 mcpai-vm\n' >"$r/etc/hosts"
	echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$r/etc/fstab"
	tr -d - </proc/sys/kernel/random/uuid >"$r/etc/machine-id" # no first-boot prompts
	# Static address on the user-mode network and no gateway: no route out.
	printf '[Match]\nName=eth0\n\n[Network]\nAddress=10.0.2.15/24\n' >"$r/etc/systemd/network/10-eth0.network"
	# One fixed host key, pinned by known_hosts; keys only.
	rm -f "$r"/etc/ssh/ssh_host_*
	install -m 600 "$k/ssh_host_ed25519_key" "$r/etc/ssh/"
	install -m 644 "$k/ssh_host_ed25519_key.pub" "$r/etc/ssh/"
	printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nUseDNS no\n' >"$r/etc/ssh/sshd_config.d/mcpai.conf"
	chroot "$r" useradd -m -s /bin/bash mcpai
	echo 'mcpai ALL=(ALL) NOPASSWD:ALL' >"$r/etc/sudoers.d/mcpai"
	chmod 440 "$r/etc/sudoers.d/mcpai"
	local home
	for home in /root /home/mcpai; do
		install -d -m 700 "$r$home/.ssh"
		install -m 600 "$k/id_ed25519.pub" "$r$home/.ssh/authorized_keys"
	done
	chroot "$r" chown -R mcpai:mcpai /home/mcpai/.ssh
	systemctl --root="$r" enable systemd-networkd ssh docker containerd postgresql redis-server
	# Nothing that waits for a network it cannot have, asks on the console or
	# wakes up to do maintenance in the middle of a test.
	systemctl --root="$r" mask systemd-networkd-wait-online.service systemd-firstboot.service \
		apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer
}

build_image() {
	local tmp=$1
	ssh-keygen -q -t ed25519 -N '' -C mcpai-vm -f "$tmp/id_ed25519"
	ssh-keygen -q -t ed25519 -N '' -C mcpai-vm-host -f "$tmp/ssh_host_ed25519_key"
	mmdebstrap --mode=root --variant=apt --aptopt='APT::Install-Recommends "false"' \
		--include="$PACKAGES" "$SUITE" "$tmp/root" "$MIRROR"
	customize "$tmp/root" "$tmp"
	cp -L "$tmp/root/vmlinuz" "$tmp/vmlinuz"
	cp -L "$tmp/root/initrd.img" "$tmp/initrd.img"
	mkfs.ext4 -q -F -L root -d "$tmp/root" "$tmp/base.raw" "$DISK_SIZE"
	chmod 444 "$tmp/base.raw"
	rm -rf "$tmp/root"
}
# qmp SOCKET COMMAND-JSON: one QMP command; prints the answer line. (The Go
# tests speak QMP themselves; here socat is enough.)
qmp() {
	{ echo '{"execute":"qmp_capabilities"}'; echo "$2"; sleep 0.2; } |
		socat -t 1 - "UNIX-CONNECT:$1" | grep -E '"(return|error)"' | tail -n 1
}
qmp_status() { qmp "$1" '{"execute":"query-status"}' | sed -n 's/.*"status": *"\([a-z-]*\)".*/\1/p'; }

# alive DIR: qemu runs (a killed one may linger as a zombie of the machine's init).
alive() {
	local pid s
	pid=$(cat "$1/qemu.pid" 2>/dev/null) && s=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) && [[ -n $s && $s != Z ]]
}

# ssh_ok DIR: a full SSH handshake and a command as root (user-mode networking
# accepts TCP before the guest listens).
ssh_ok() {
	local dir=$1
	shift
	timeout "${SSH_TIMEOUT:-15}" ssh -i "$IMAGE/id_ed25519" -o BatchMode=yes -o ConnectTimeout=10 \
		-o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes \
		-p "$(cat "$dir/port")" root@127.0.0.1 "$@"
}

wait_ssh() {
	local dir=$1 deadline=$((SECONDS + $2))
	until ssh_ok "$dir" true 2>/dev/null; do
		alive "$dir" || die "$(basename "$dir"): qemu exited; see $dir/serial.log"
		((SECONDS < deadline)) || die "$(basename "$dir"): no sshd after $2 s; see $dir/serial.log"
		sleep 1
	done
}

# start DIR [qemu args...]: qemu on DIR's disk and port.
start() {
	local dir=$1
	shift
	rm -f "$dir/qmp.sock" "$dir/qemu.pid"
	qemu_args "$dir" "$(cat "$dir/port")"
	"${QEMU[@]}" "$@"
}

vm_dir() { # NAME PORT: a fresh VM folder
	mkdir -p "$1"
	echo "$2" >"$1/port"
	echo "[127.0.0.1]:$2 $(cut -d' ' -f1,2 "$IMAGE/ssh_host_ed25519_key.pub")" >"$1/known_hosts"
}

cmd_build() {
	local want=(qemu-system-x86_64 qemu-img mmdebstrap socat mkfs.ext4 ssh)
	local missing=0 c
	for c in "${want[@]}"; do command -v "$c" >/dev/null || missing=1; done
	if ((missing)); then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 qemu-utils mmdebstrap socat e2fsprogs openssh-client >/dev/null
	fi
	if [[ -f "$IMAGE/ready" ]]; then
		log "image $IMAGE is up to date"
		return
	fi
	mkdir -p "$CACHE_ROOT"
	exec 9>"$CACHE_ROOT/.lock"
	flock 9 # one build at a time
	[[ -f "$IMAGE/ready" ]] && return
	local t0=$SECONDS tmp="$IMAGE.tmp"
	if [[ ! -f "$tmp/image.done" ]]; then # else an interrupted build resumes at the first boot
		rm -rf "$tmp" && mkdir -p "$tmp"
		log "building $IMAGE (Debian $SUITE with mmdebstrap)"
		build_image "$tmp"
		touch "$tmp/image.done"
		log "image built in $((SECONDS - t0)) s; first boot"
	fi
	# First boot on the overlay that every VM copies, then save it paused.
	local saved=$IMAGE
	IMAGE=$tmp
	local dir="$tmp/first"
	rm -rf "$dir"
	vm_dir "$dir" "$SSH_PORT_BASE"
	qemu-img create -q -f qcow2 -F raw -b "$IMAGE/base.raw" "$dir/disk.qcow2"
	start "$dir"
	trap 'alive "$dir" && kill "$(cat "$dir/qemu.pid")"' EXIT # no qemu left behind a failure
	wait_ssh "$dir" 300
	log "sshd up after $((SECONDS - t0)) s; waiting for systemd and the services"
	local state
	state=$(SSH_TIMEOUT=600 ssh_ok "$dir" 'echo $(systemctl is-system-running --wait) $(systemctl is-active ssh docker postgresql@15-main redis-server | sort -u)' || true)
	case $state in
	"running active" | "degraded active") ;;
	*) ssh_ok "$dir" 'systemctl --failed --no-legend' >&2 || true
	   die "first boot: systemd and services answered: $state" ;;
	esac
	[[ $state == degraded* ]] && { log "systemd is degraded:"; ssh_ok "$dir" 'systemctl --failed --no-legend' >&2; }
	ssh_ok "$dir" sync
	local sock="$dir/qmp.sock"
	qmp "$sock" '{"execute":"stop"}' >/dev/null
	qmp "$sock" '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":17179869184}}' >/dev/null
	qmp "$sock" "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat > $tmp/state\"}}" >/dev/null
	until qmp "$sock" '{"execute":"query-migrate"}' | grep -q '"completed"'; do
		qmp "$sock" '{"execute":"query-migrate"}' | grep -q '"failed"' && die "saving the state failed"
		sleep 1
	done
	qmp "$sock" '{"execute":"quit"}' >/dev/null || true
	while alive "$dir"; do sleep 0.2; done
	trap - EXIT
	mv "$dir/disk.qcow2" "$tmp/disk.qcow2"
	rm -rf "$dir" "$tmp/image.done"
	IMAGE=$saved
	# The overlay names its backing file by path: point it at the final place.
	qemu-img rebase -u -f qcow2 -F raw -b "$IMAGE/base.raw" "$tmp/disk.qcow2"
	touch "$tmp/ready"
	find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d ! -name "$RECIPE*" -exec rm -rf {} + # older recipes
	mv "$tmp" "$IMAGE"
	log "built $IMAGE in $((SECONDS - t0)) s"
}
# recipe:end

RECIPE=$(sed -n '/^# recipe:begin/,/^# recipe:end/p' "$SELF" | sha256sum | cut -c1-16)
IMAGE="$CACHE_ROOT/$RECIPE"

cmd_up() {
	local n=${1:-1} i
	[[ -f "$IMAGE/ready" ]] || die "no image for this recipe: run scripts/vm.sh build"
	cmd_down
	mkdir -p "$STATE"
	local t0=$SECONDS
	for ((i = 1; i <= n; i++)); do
		local dir="$STATE/v$i"
		vm_dir "$dir" $((SSH_PORT_BASE + i))
		cp --sparse=always "$IMAGE/disk.qcow2" "$dir/disk.qcow2"
		start "$dir" -incoming "exec:cat $IMAGE/state"
	done
	for ((i = 1; i <= n; i++)); do
		local dir="$STATE/v$i"
		until [[ $(qmp_status "$dir/qmp.sock") == paused ]]; do
			alive "$dir" || die "v$i: qemu exited while restoring; see $dir/serial.log"
			sleep 0.2
		done
		qmp "$dir/qmp.sock" '{"execute":"cont"}' >/dev/null
	done
	for ((i = 1; i <= n; i++)); do
		local dir="$STATE/v$i"
		wait_ssh "$dir" 60
		# The restored clock is the build's: set it to the machine's.
		ssh_ok "$dir" "date -s @$(date +%s.%N) >/dev/null"
	done
	write_json "$n"
	log "$n VM(s) up in $((SECONDS - t0)) s: $VMS_JSON"
}

# write_json N: .sandbox/vms.json, read by internal/acctest (VMs).
write_json() {
	local n=$1 i sep=
	cat "$STATE"/v*/known_hosts >"$STATE/known_hosts"
	{
		echo '{"vms": ['
		for ((i = 1; i <= n; i++)); do
			local dir="$STATE/v$i"
			printf '%s{"name": "v%d", "address": "127.0.0.1", "port": %d, "user": "root", "sudo_user": "mcpai",\n' "$sep" "$i" "$(cat "$dir/port")"
			printf '  "private_key_path": "%s", "known_hosts_path": "%s",\n' "$IMAGE/id_ed25519" "$STATE/known_hosts"
			printf '  "host_key": "%s",\n' "$(cut -d' ' -f1,2 "$IMAGE/ssh_host_ed25519_key.pub")"
			printf '  "qmp_socket": "%s", "netdev": "net0", "pid": %d, "pid_file": "%s",\n' "$dir/qmp.sock" "$(cat "$dir/qemu.pid")" "$dir/qemu.pid"
			printf '  "serial_log": "%s", "overlay": "%s", "boot_command": ["%s", "boot", "v%d"]}\n' "$dir/serial.log" "$dir/disk.qcow2" "$SELF" "$i"
			sep=,
		done
		echo ']}'
	} >"$VMS_JSON.tmp"
	mv "$VMS_JSON.tmp" "$VMS_JSON"
}

cmd_boot() {
	local dir="$STATE/${1:?usage: vm.sh boot vN}"
	[[ -f "$dir/disk.qcow2" ]] || die "$1: no such VM (scripts/vm.sh up first)"
	alive "$dir" && die "$1 is running: power it off first"
	start "$dir"
	wait_ssh "$dir" 300
	write_json "$(find "$STATE" -mindepth 1 -maxdepth 1 -name 'v*' -type d | wc -l)"
}

cmd_down() {
	local dir
	for dir in "$STATE"/v*; do
		[[ -d $dir ]] || continue
		if alive "$dir"; then
			local pid
			pid=$(cat "$dir/qemu.pid")
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 50); do alive "$dir" || break; sleep 0.1; done
			alive "$dir" && kill -9 "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$STATE" "$VMS_JSON"
}

# cmd_pause: stops every running VM's CPUs (QMP stop). An idle guest under
# software emulation keeps most of one core busy; `make test` pauses the VMs
# and the tests that use them resume them (internal/acctest, VMs), setting
# the guest's clock. `vm.sh resume` continues them by hand.
cmd_pause() {
	local dir
	for dir in "$STATE"/v*; do
		[[ -d $dir ]] && alive "$dir" || continue
		qmp "$dir/qmp.sock" "{\"execute\":\"${1:-stop}\"}" >/dev/null
		log "$(basename "$dir"): $(qmp_status "$dir/qmp.sock")"
	done
}

cmd_resume() {
	cmd_pause cont
	local dir
	for dir in "$STATE"/v*; do
		[[ -d $dir ]] && alive "$dir" || continue
		ssh_ok "$dir" "date -s @$(date +%s.%N) >/dev/null"
	done
}

cmd_status() {
	echo "image: $IMAGE $([[ -f $IMAGE/ready ]] && echo ready || echo 'not built')"
	local dir
	for dir in "$STATE"/v*; do
		[[ -d $dir ]] || continue
		if alive "$dir"; then
			echo "$(basename "$dir"): ssh 127.0.0.1:$(cat "$dir/port") pid $(cat "$dir/qemu.pid") $(qmp_status "$dir/qmp.sock")"
		else
			echo "$(basename "$dir"): off"
		fi
	done
}

case ${1:-} in
build) cmd_build ;;
up) cmd_up "${2:-1}" ;;
boot) cmd_boot "${2:-}" ;;
down) cmd_down ;;
status) cmd_status ;;
pause) cmd_pause ;;
resume) cmd_resume ;;
*) die "usage: scripts/vm.sh build | up [N] | boot vN | pause | resume | down | status" ;;
esac
