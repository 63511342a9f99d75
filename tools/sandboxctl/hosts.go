package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// sandbox is what scripts/sandbox.sh tells of the hosts it made: the
// settings it owns (it sets the hosts up with them), which hosts.json and
// known_hosts describe.
type sandbox struct {
	Dir        string // the sandbox folder, <repo>/.sandbox
	Count      int    // hosts h1..hCount
	NSPrefix   string // host i's network namespace is <NSPrefix><i>
	NetPrefix  string // host i is <NetPrefix>.<i>.2
	SudoUser   string
	NoprivUser string
	Password   string // of both users, PostgreSQL's role and Redis
	Passphrase string // of the encrypted key

	// Hosts that differ from the rest (h2 here).
	CurrentEngine   []int // run the current dockerd (the rest: the distribution's)
	GPUMock         []int // have the mock NVIDIA stack
	EmulatedCPUFreq []int // emulate a cpufreq driver
	THPNever        []int // have transparent_hugepage=never on /proc/cmdline

	HookLogName string // the mock NVIDIA hook's log in a host's /var/log

	PGVersion, PGCluster, PGRole, PGDatabase string
	PGPort                                   int

	RedisPort, RedisTLSPort                  int
	RedisNoconfigUser, RedisNoconfigPassword string
}

// What a host runs: a full host every service, a light one sshd only.
const (
	fullServices  = "sshd docker postgres redis"
	lightServices = "sshd"
)

func (s sandbox) hostDir(i int) string { return filepath.Join(s.Dir, "h"+strconv.Itoa(i)) }
func (s sandbox) address(i int) string { return fmt.Sprintf("%s.%d.2", s.NetPrefix, i) }

// hostKey is host i's ed25519 host key, "ssh-ed25519 AAAA..." without its
// comment.
func (s sandbox) hostKey(i int) (string, error) {
	data, err := os.ReadFile(filepath.Join(s.hostDir(i), "ssh_host_ed25519_key.pub"))
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return "", fmt.Errorf("h%d: its host key file holds %q", i, data)
	}
	return f[0] + " " + f[1], nil
}

// services is what host i runs, from its services file.
func (s sandbox) services(i int) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.hostDir(i), "services"))
	if os.IsNotExist(err) {
		return strings.Fields(fullServices), nil
	}
	return strings.Fields(string(data)), err
}

// knownHosts is known_hosts for the hosts that have a host key (all, after
// they started; before that, those kept from an earlier `up`).
func (s sandbox) knownHosts() ([]byte, error) {
	var b bytes.Buffer
	for i := 1; i <= s.Count; i++ {
		key, err := s.hostKey(i)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s %s\n", s.address(i), key)
	}
	return b.Bytes(), nil
}

// hostEntry is one host in hosts.json, its keys in the order tests have
// always seen (internal/acctest.Host reads them).
type hostEntry struct {
	Name                   string   `json:"name"`
	Address                string   `json:"address"`
	Port                   int      `json:"port"`
	User                   string   `json:"user"`
	PrivateKeyPath         string   `json:"private_key_path"`
	EncryptedKeyPath       string   `json:"encrypted_key_path"`
	EncryptedKeyPassphrase string   `json:"encrypted_key_passphrase"`
	UnauthorizedKeyPath    string   `json:"unauthorized_key_path"`
	KnownHostsPath         string   `json:"known_hosts_path"`
	HostKey                string   `json:"host_key"`
	SudoUser               string   `json:"sudo_user"`
	NoprivUser             string   `json:"nopriv_user"`
	Password               string   `json:"password"`
	SSHDLog                string   `json:"sshd_log"`
	Netns                  string   `json:"netns"`
	SysctlDir              string   `json:"sysctl_dir"`
	EtcDir                 string   `json:"etc_dir"`
	CPUFreq                string   `json:"cpufreq"`
	CmdlineTHP             string   `json:"cmdline_thp"`
	Services               []string `json:"services"`
	Light                  bool     `json:"light"`
	// Only where the host runs Docker, PostgreSQL and Redis.
	*fullHost
}

type fullHost struct {
	DockerEngine          string `json:"docker_engine"`
	DockerSocket          string `json:"docker_socket"`
	DockerLog             string `json:"docker_log"`
	DockerEtc             string `json:"docker_etc"`
	DockerImage           string `json:"docker_image"`
	DemoAPIImage          string `json:"demo_api_image"`
	DemoFastAPIImage      string `json:"demo_fastapi_image"`
	DemoModelImage        string `json:"demo_model_image"`
	DemoTraefikImage      string `json:"demo_traefik_image"`
	DemoTraefik           string `json:"demo_traefik"`
	LocustImage           string `json:"locust_image"`
	DebianStackImage      string `json:"debian_stack_image"`
	GPUMock               bool   `json:"gpu_mock"`
	NVIDIAHookLog         string `json:"nvidia_hook_log"`
	CDIDir                string `json:"cdi_dir"`
	PostgresPort          int    `json:"postgres_port"`
	PostgresUser          string `json:"postgres_user"`
	PostgresPassword      string `json:"postgres_password"`
	PostgresDatabase      string `json:"postgres_database"`
	PostgresLog           string `json:"postgres_log"`
	PostgresConfDir       string `json:"postgres_conf_dir"`
	PostgresDataDir       string `json:"postgres_data_dir"`
	RedisAddress          string `json:"redis_address"`
	RedisTLSAddress       string `json:"redis_tls_address"`
	RedisPassword         string `json:"redis_password"`
	RedisNoconfigUser     string `json:"redis_noconfig_user"`
	RedisNoconfigPassword string `json:"redis_noconfig_password"`
	RedisCACert           string `json:"redis_ca_cert"`
	RedisConf             string `json:"redis_conf"`
	RedisLog              string `json:"redis_log"`
}

// host is host i's entry in hosts.json.
func (s sandbox) host(i int) (hostEntry, error) {
	dir := s.hostDir(i)
	key, err := s.hostKey(i)
	if err != nil {
		return hostEntry{}, err
	}
	services, err := s.services(i)
	if err != nil {
		return hostEntry{}, err
	}
	h := hostEntry{
		Name:                   "h" + strconv.Itoa(i),
		Address:                s.address(i),
		Port:                   22,
		User:                   "root",
		PrivateKeyPath:         filepath.Join(s.Dir, "id_ed25519"),
		EncryptedKeyPath:       filepath.Join(s.Dir, "id_ed25519_enc"),
		EncryptedKeyPassphrase: s.Passphrase,
		UnauthorizedKeyPath:    filepath.Join(s.Dir, "id_ed25519_unauthorized"),
		KnownHostsPath:         filepath.Join(s.Dir, "known_hosts"),
		HostKey:                key,
		SudoUser:               s.SudoUser,
		NoprivUser:             s.NoprivUser,
		Password:               s.Password,
		SSHDLog:                filepath.Join(dir, "sshd.log"),
		Netns:                  s.NSPrefix + strconv.Itoa(i),
		SysctlDir:              filepath.Join(dir, "sysctl.d"),
		EtcDir:                 filepath.Join(dir, "etc"),
		CPUFreq:                "none",
		Services:               services,
		Light:                  strings.Join(services, " ") == lightServices,
	}
	if slices.Contains(s.EmulatedCPUFreq, i) {
		h.CPUFreq = "emulated"
	}
	if slices.Contains(s.THPNever, i) {
		h.CmdlineTHP = "never"
	}
	if h.Light {
		return h, nil
	}
	pgDir := s.PGVersion + "/" + s.PGCluster
	f := &fullHost{
		DockerEngine:          "distribution",
		DockerSocket:          filepath.Join(dir, "run", "docker.sock"),
		DockerLog:             filepath.Join(dir, "log", "docker.log"),
		DockerEtc:             filepath.Join(dir, "etc", "docker"),
		DockerImage:           sleeperImage,
		DemoAPIImage:          demoAPIImage,
		DemoFastAPIImage:      demoFastAPIImage,
		DemoModelImage:        demoModelImage,
		DemoTraefikImage:      demoTraefikImage,
		DemoTraefik:           demoTraefikKind,
		LocustImage:           locustImage,
		DebianStackImage:      debianStackImage,
		PostgresPort:          s.PGPort,
		PostgresUser:          s.PGRole,
		PostgresPassword:      s.Password,
		PostgresDatabase:      s.PGDatabase,
		PostgresLog:           filepath.Join(dir, "log", "postgresql", "postgresql-"+s.PGVersion+"-"+s.PGCluster+".log"),
		PostgresConfDir:       filepath.Join(dir, "etc", "postgresql", pgDir),
		PostgresDataDir:       filepath.Join(dir, "lib", "postgresql", pgDir),
		RedisAddress:          s.address(i) + ":" + strconv.Itoa(s.RedisPort),
		RedisTLSAddress:       s.address(i) + ":" + strconv.Itoa(s.RedisTLSPort),
		RedisPassword:         s.Password,
		RedisNoconfigUser:     s.RedisNoconfigUser,
		RedisNoconfigPassword: s.RedisNoconfigPassword,
		RedisCACert:           filepath.Join(dir, "redis-tls", "ca.crt"),
		RedisConf:             filepath.Join(dir, "etc", "redis", "redis.conf"),
		RedisLog:              filepath.Join(dir, "log", "redis", "redis-server.log"),
	}
	if slices.Contains(s.CurrentEngine, i) {
		f.DockerEngine = "current"
	}
	if slices.Contains(s.GPUMock, i) {
		f.GPUMock = true
		f.NVIDIAHookLog = filepath.Join(dir, "log", s.HookLogName)
		f.CDIDir = filepath.Join(dir, "etc", "cdi")
	}
	h.fullHost = f
	return h, nil
}

// hostsJSON is .sandbox/hosts.json: {"hosts":[...]}, one host a line.
func (s sandbox) hostsJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"hosts":[`)
	for i := 1; i <= s.Count; i++ {
		h, err := s.host(i)
		if err != nil {
			return nil, err
		}
		var line bytes.Buffer
		enc := json.NewEncoder(&line)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(h); err != nil {
			return nil, err
		}
		if i > 1 {
			b.WriteByte(',')
		}
		b.WriteString("\n  ")
		b.Write(bytes.TrimSuffix(line.Bytes(), []byte("\n")))
	}
	b.WriteString("\n]}\n")
	return b.Bytes(), nil
}

// writeAtomic replaces p with data through a temporary file beside it, so
// that a reader never sees half a file.
func writeAtomic(p string, data []byte) error {
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
