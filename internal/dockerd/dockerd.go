// Package dockerd holds the pure logic of the Docker daemon's configuration
// file: parsing and semantic comparison of daemon.json, which changed keys a
// reload (SIGHUP) applies and which need a restart, the keys the daemon
// knows (for engines without `dockerd --validate`), keys the service
// already passes as flags, what the running daemon reports against the file,
// and the daemon's own error lines.
package dockerd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpai/terraform-provider-mcpai/internal/similar"
)

// DefaultPath is where dockerd reads its configuration on Linux.
const DefaultPath = "/etc/docker/daemon.json"

// DefaultPidFile is dockerd's pid file unless "pidfile" says otherwise.
const DefaultPidFile = "/var/run/docker.pid"

// DefaultSocket is the Engine API socket unless "hosts" says otherwise.
const DefaultSocket = "/var/run/docker.sock"

// Document is a parsed daemon.json: each top-level key with its value as
// compact JSON.
type Document map[string]string

// Parse reads a daemon.json. Empty (or blank) content is an empty
// document, as for dockerd. Anything but one JSON object, or a key given
// twice (which dockerd would silently collapse), is an error.
func Parse(data []byte) (Document, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Document{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("daemon.json must be a JSON object ({...})")
	}
	doc := Document{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		key, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("not JSON: value of %q: %w", key, err)
		}
		if _, dup := doc[key]; dup {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		doc[key] = compact(v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("daemon.json must hold one JSON object and nothing after it")
	}
	return doc, nil
}

// compact renders a decoded value with object keys sorted, so equal values
// render equally whatever their spacing and key order.
func compact(v any) string {
	b, _ := json.Marshal(v) // decoded JSON always re-encodes
	return string(b)
}

// Canonical renders data as compact JSON with sorted keys, for semantic
// comparison.
func Canonical(data []byte) (string, error) {
	doc, err := Parse(data)
	if err != nil {
		return "", err
	}
	return doc.String(), nil
}

// String renders the document as compact JSON with sorted keys.
func (d Document) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range d.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		b.Write(key)
		b.WriteByte(':')
		b.WriteString(d[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Keys returns the document's keys, sorted.
func (d Document) Keys() []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Indent renders the document as the file to write: two-space indented,
// keys sorted, with a final newline.
func (d Document) Indent() []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(d.String()), "", "  "); err != nil {
		panic(err) // String always renders valid JSON
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// Changed returns the keys added, removed or given another value, sorted.
func Changed(old, next Document) []string {
	var keys []string
	for k, v := range next {
		if ov, ok := old[k]; !ok || ov != v {
			keys = append(keys, k)
		}
	}
	for k := range old {
		if _, ok := next[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// reloadable are the keys a running dockerd applies on SIGHUP, as its
// reload code lists them. Everything else needs a restart.
var reloadable = map[string]bool{
	"debug":                            true,
	"labels":                           true,
	"live-restore":                     true,
	"max-concurrent-downloads":         true,
	"max-concurrent-uploads":           true,
	"max-download-attempts":            true,
	"shutdown-timeout":                 true,
	"insecure-registries":              true,
	"registry-mirrors":                 true,
	"allow-nondistributable-artifacts": true,
	"runtimes":                         true,
	"default-runtime":                  true,
}

// Reloadable reports whether a SIGHUP applies key.
func Reloadable(key string) bool { return reloadable[key] }

// NeedRestart returns the keys among changed that a reload does not apply.
func NeedRestart(changed []string) []string {
	var out []string
	for _, k := range changed {
		if !reloadable[k] {
			out = append(out, k)
		}
	}
	return out
}

// RestartKeys returns the keys that make moving from old to next (plus the
// extra keys written earlier but not yet in effect) need a restart: those a
// reload does not apply, and every key next no longer sets. A reload only
// changes what the new file sets; a removed key keeps its running value
// until the daemon restarts.
func RestartKeys(old, next Document, extra []string) []string {
	out := NeedRestart(slices.Concat(Changed(old, next), extra))
	for k := range old {
		if _, kept := next[k]; !kept {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// knownKeys are the daemon.json keys of Docker Engine 20.10 and later on
// Linux. Engines without `dockerd --validate` are checked against it: a key
// outside it stops dockerd from starting ("the following directives don't
// match any configuration option").
var knownKeys = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`
allow-nondistributable-artifacts api-cors-header authorization-plugins bip bip6 bridge builder
cdi-spec-dirs cgroup-parent cluster-advertise cluster-store cluster-store-opts containerd
containerd-namespace containerd-plugins-namespace cpu-rt-period cpu-rt-runtime data-root debug
default-address-pools default-cgroupns-mode default-gateway default-gateway-v6 default-ipc-mode
default-network-opts default-runtime default-shm-size default-ulimits dns dns-opts dns-search
exec-opts exec-root experimental features fixed-cidr fixed-cidr-v6 group host-gateway-ip
host-gateway-ips hosts http-proxy https-proxy icc init init-path insecure-registries ip ip-forward
ip-forward-no-drop ip-masq ip6tables iptables ipv6 labels live-restore log-driver log-format
log-level log-opts max-concurrent-downloads max-concurrent-uploads max-download-attempts
metrics-addr min-api-version mtu no-new-privileges no-proxy node-generic-resources
oom-score-adjust pidfile proxies raw-logs registry-mirrors runtimes seccomp-profile
selinux-enabled shutdown-timeout storage-driver storage-opts swarm-default-advertise-addr tls
tlscacert tlscert tlskey tlsverify userland-proxy userland-proxy-path userns-remap`) {
		knownKeys[k] = true
	}
}

// Unknown is a key no Docker engine knows, with the closest known key.
type Unknown struct {
	Key        string
	Suggestion string // "" when nothing is close
}

// UnknownKeys returns the document's keys that are not daemon.json keys.
func UnknownKeys(d Document) []Unknown {
	var out []Unknown
	for _, k := range d.Keys() {
		if !knownKeys[k] {
			out = append(out, Unknown{Key: k, Suggestion: suggest(k)})
		}
	}
	return out
}

// suggest returns the known key closest to key, within a few edits.
func suggest(key string) string {
	keys := make([]string, 0, len(knownKeys))
	for k := range knownKeys {
		keys = append(keys, k)
	}
	return similar.Closest(key, keys)
}

// flagKeys maps dockerd flags whose daemon.json key is not the flag's own
// name: list flags take a plural key, and some flags are short.
var flagKeys = map[string]string{
	"H": "hosts", "host": "hosts",
	"label":                  "labels",
	"exec-opt":               "exec-opts",
	"log-opt":                "log-opts",
	"storage-opt":            "storage-opts",
	"dns-opt":                "dns-opts",
	"default-ulimit":         "default-ulimits",
	"insecure-registry":      "insecure-registries",
	"registry-mirror":        "registry-mirrors",
	"add-runtime":            "runtimes",
	"authorization-plugin":   "authorization-plugins",
	"cluster-store-opt":      "cluster-store-opts",
	"node-generic-resource":  "node-generic-resources",
	"default-address-pool":   "default-address-pools",
	"default-network-opt":    "default-network-opts",
	"feature":                "features",
	"cdi-spec-dir":           "cdi-spec-dirs",
	"g":                      "data-root",
	"graph":                  "data-root",
	"s":                      "storage-driver",
	"D":                      "debug",
	"l":                      "log-level",
	"p":                      "pidfile",
	"G":                      "group",
	"b":                      "bridge",
	"host-gateway-ip":        "host-gateway-ips",
	"allow-nondistributable": "allow-nondistributable-artifacts",
}

// FlagKeys returns, for dockerd's arguments (argv[0] excluded), each
// daemon.json key a flag sets, keyed to the flag as written. dockerd
// refuses to start when a key is set both ways.
func FlagKeys(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		var name string
		var inline bool
		switch {
		case strings.HasPrefix(a, "--"):
			name, _, inline = strings.Cut(a[2:], "=")
		case strings.HasPrefix(a, "-") && len(a) >= 2:
			name, inline = a[1:2], len(a) > 2 // -H, -Hfd://, -D
		default:
			continue
		}
		written := a
		// dockerd takes no positional arguments: a word after a flag
		// is its value.
		if !inline && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			written += " " + args[i]
		}
		key := name
		if k, ok := flagKeys[name]; ok {
			key = k
		}
		if knownKeys[key] {
			out[key] = written
		}
	}
	return out
}

// Conflict is a key the document sets that the service already passes as
// a flag.
type Conflict struct {
	Key  string
	Flag string
}

// Conflicts returns the document's keys that flags (from FlagKeys) set.
func Conflicts(d Document, flags map[string]string) []Conflict {
	var out []Conflict
	for _, k := range d.Keys() {
		if f, ok := flags[k]; ok {
			out = append(out, Conflict{Key: k, Flag: f})
		}
	}
	return out
}

// ParseExecStart reads the argv of `systemctl show -p ExecStart` output:
// "ExecStart={ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd -H fd:// ; ... }".
// systemd prints the words space-separated; quoting inside them is rare
// for dockerd and is not undone.
func ParseExecStart(out string) ([]string, error) {
	for line := range strings.SplitSeq(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart=")
		if !ok {
			continue
		}
		_, argv, ok := strings.Cut(rest, "argv[]=")
		if !ok {
			return nil, nil // no command (an empty ExecStart=)
		}
		argv, _, _ = strings.Cut(argv, " ;")
		return strings.Fields(argv), nil
	}
	return nil, fmt.Errorf("no ExecStart= line in %s", clip(out))
}

// ParseDefaultOpts reads DOCKER_OPTS from /etc/default/docker, the
// arguments the distribution's init script passes to dockerd. Single and
// double quotes around the value are removed; the words inside are split on
// spaces, as the init script's unquoted expansion does.
func ParseDefaultOpts(content string) []string {
	var opts []string
	for line := range strings.SplitSeq(content, "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "export ")
		v, ok := strings.CutPrefix(line, "DOCKER_OPTS=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		opts = strings.Fields(v) // the last assignment wins, as in sh
	}
	return opts
}

// Effective is what the running daemon reports (GET /info).
type Effective struct {
	ServerVersion  string
	StorageDriver  string
	LoggingDriver  string
	CgroupDriver   string
	LiveRestore    bool
	RootDir        string
	DefaultRuntime string
	Runtimes       []string
	// For reloadable keys: whether a reload took (dockerd logs a refused
	// reload and keeps running on the old values).
	Debug           bool
	Labels          []string
	RegistryMirrors []string
}

// Pending returns the document's keys whose value the running daemon does
// not report: written but not yet in effect. Only keys /info reflects are
// compared.
func Pending(d Document, e Effective) []string {
	var out []string
	str := func(key, got string) {
		var want string
		// null or "" leaves dockerd's default, which /info reports.
		if raw, ok := d[key]; ok && json.Unmarshal([]byte(raw), &want) == nil && want != "" {
			if key == "data-root" {
				want = path.Clean(want) // /info reports it absolute and clean
			}
			if want != got {
				out = append(out, key)
			}
		}
	}
	str("storage-driver", e.StorageDriver)
	str("log-driver", e.LoggingDriver)
	str("data-root", e.RootDir)
	str("default-runtime", e.DefaultRuntime)
	if raw, ok := d["live-restore"]; ok {
		var want bool
		if json.Unmarshal([]byte(raw), &want) == nil && want != e.LiveRestore {
			out = append(out, "live-restore")
		}
	}
	if raw, ok := d["debug"]; ok {
		var want bool
		if json.Unmarshal([]byte(raw), &want) == nil && want != e.Debug {
			out = append(out, "debug")
		}
	}
	for key, got := range map[string][]string{"labels": e.Labels, "registry-mirrors": e.RegistryMirrors} {
		var want []string
		if raw, ok := d[key]; ok && json.Unmarshal([]byte(raw), &want) == nil && !sameSet(want, got) {
			out = append(out, key)
		}
	}
	if raw, ok := d["exec-opts"]; ok {
		var opts []string
		if json.Unmarshal([]byte(raw), &opts) == nil {
			for _, o := range opts {
				if v, ok := strings.CutPrefix(o, "native.cgroupdriver="); ok && v != e.CgroupDriver {
					out = append(out, "exec-opts")
				}
			}
		}
	}
	if raw, ok := d["runtimes"]; ok {
		var rts map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &rts) == nil {
			for name := range rts {
				if !slices.Contains(e.Runtimes, name) {
					out = append(out, "runtimes")
					break
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sameSet reports whether a and b hold the same strings, ignoring order
// and a trailing slash (dockerd normalises mirror URLs to end in one).
func sameSet(a, b []string) bool {
	norm := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = strings.TrimSuffix(s, "/")
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// PidFile is the daemon's pid file under this document.
func (d Document) PidFile() string {
	var p string
	if raw, ok := d["pidfile"]; ok && json.Unmarshal([]byte(raw), &p) == nil && strings.HasPrefix(p, "/") {
		return p
	}
	return DefaultPidFile
}

// Socket is the unix socket the daemon serves the Engine API on under this
// document: the first unix:// entry of "hosts", or the default.
func (d Document) Socket() string {
	var hosts []string
	if raw, ok := d["hosts"]; ok && json.Unmarshal([]byte(raw), &hosts) == nil {
		for _, h := range hosts {
			if p, ok := strings.CutPrefix(h, "unix://"); ok && strings.HasPrefix(p, "/") {
				return p
			}
		}
	}
	return DefaultSocket
}

// ErrorLines picks the daemon's own complaints from the end of its log:
// lines at level error or fatal, and the "failed to start daemon" line,
// at most n, oldest first.
func ErrorLines(log string, n int) []string {
	var out []string
	for line := range strings.SplitSeq(log, "\n") {
		l := strings.TrimSpace(line)
		lower := strings.ToLower(l)
		if strings.Contains(lower, "level=error") || strings.Contains(lower, "level=fatal") ||
			strings.Contains(lower, "failed to start daemon") || strings.Contains(lower, "unable to configure the docker daemon") {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-max(n, 0):]
	}
	return out
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	const n = 80
	if len(s) > n {
		return strconv.Quote(s[:n]) + "..."
	}
	return strconv.Quote(s)
}
