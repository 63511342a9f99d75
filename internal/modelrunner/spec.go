package modelrunner

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// Labels the resources put on their containers: every one has
// LabelManagedBy; a model runner's LabelServer (its server kind), a general
// container's LabelKind = KindGeneral.
const (
	LabelManagedBy = "io.mcpai.managed-by"
	LabelServer    = "io.mcpai.server"
	LabelKind      = "io.mcpai.kind"
	KindGeneral    = "container"
	managedBy      = "terraform-provider-mcpai"
)

// Owner is the resource that made a container.
type Owner int

// The owners.
const (
	NotOurs     Owner = iota // made by someone else
	ModelRunner              // a server container, labelled with its kind
	General                  // a general container
)

// OwnerOf says who made a container, from its labels.
func OwnerOf(labels map[string]string) Owner {
	switch {
	case labels[LabelManagedBy] == "":
		return NotOurs
	case labels[LabelKind] == KindGeneral:
		return General
	case labels[LabelServer] != "":
		return ModelRunner
	}
	return NotOurs
}

// Owner is the resource a spec's container belongs to.
func (s Spec) Owner() Owner {
	if s.Server == NoServer {
		return General
	}
	return ModelRunner
}

// ownLabels are the labels the resource puts on the spec's container.
func (s Spec) ownLabels() map[string]string {
	if s.Owner() == General {
		return map[string]string{LabelManagedBy: managedBy, LabelKind: KindGeneral}
	}
	return map[string]string{LabelManagedBy: managedBy, LabelServer: string(s.Server)}
}

// CheckLabels refuses user labels that are the resources' own: set to
// another value, they would be overwritten and read back as drift for
// ever, or would tell another resource the container is its.
func (s Spec) CheckLabels() error {
	own := s.ownLabels()
	for _, key := range []string{LabelManagedBy, LabelServer, LabelKind} {
		have, set := s.Labels[key]
		want, ours := own[key]
		switch {
		case set && !ours:
			return fmt.Errorf("label %s is reserved for the provider's own containers; remove it from labels", key)
		case set && have != want:
			return fmt.Errorf("label %s is the resource's own (%q); remove it from labels", key, want)
		}
	}
	return nil
}

// Port publishes a container port.
type Port struct {
	ContainerPort int
	Protocol      string // tcp or udp
	HostPort      int    // 0: the engine picks one
	HostIP        string // "": all addresses
}

// Volume mounts a host path (absolute source) or a named volume.
type Volume struct {
	Source, Target string
	ReadOnly       bool
}

// Ulimit is one resource limit of the container's processes.
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// Spec is the desired container.
type Spec struct {
	Name, Image string
	// ImageCmd is the image's CMD: the knobs' flags follow it when Command
	// is nil, as `docker run image --flag` would not keep it.
	ImageCmd          []string
	Entrypoint        []string // nil: the image's
	Command           []string // nil: the image's
	Env               map[string]string
	SecretEnv         map[string]string // env whose values are secrets (tokens)
	Ports             []Port
	Volumes           []Volume
	NetworkMode       string   // "": the engine's default (bridge)
	Networks          []string // user-defined networks joined at create
	Labels            map[string]string
	Restart           string
	MaxRetries        int
	LogDriver         string
	LogOpts           map[string]string
	Memory            int64
	MemoryReservation int64
	NanoCPUs          int64
	Cpuset            string
	ShmSize           int64
	IpcMode           string
	Runtime           string
	Ulimits           []Ulimit
	GPUs              GPUs
	Server            Server
	Knobs             Knobs
}

// Cmd is the container's command: the user's (or the image's) followed by
// the rendered knob flags.
func (s Spec) Cmd(r Rendered) []string {
	base := s.Command
	if base == nil {
		base = s.ImageCmd
	}
	if len(r.Args) == 0 {
		return slices.Clone(base)
	}
	return append(slices.Clone(base), r.Args...)
}

// UserEnv is the user's environment: env and the secret variables.
func (s Spec) UserEnv() map[string]string {
	all := make(map[string]string, len(s.Env)+len(s.SecretEnv))
	maps.Copy(all, s.Env)
	maps.Copy(all, s.SecretEnv)
	return all
}

// EnvList is the container's environment: the user's and the knobs'.
func (s Spec) EnvList(r Rendered) []string {
	all := s.UserEnv()
	maps.Copy(all, r.Env)
	out := make([]string, 0, len(all))
	for _, k := range slices.Sorted(maps.Keys(all)) {
		out = append(out, k+"="+all[k])
	}
	return out
}

// Create is the create request for the spec. Render's problems are the
// caller's to have checked; here they are an error.
func (s Spec) Create() (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	r, probs := Render(s.Server, s.Knobs)
	if len(probs) > 0 {
		return nil, nil, nil, fmt.Errorf("%s", probs[0].Detail)
	}
	if err := s.CheckLabels(); err != nil {
		return nil, nil, nil, err
	}
	labels := maps.Clone(s.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, s.ownLabels())
	if !s.GPUs.None() {
		if err := s.GPUs.Validate(); err != nil {
			return nil, nil, nil, err
		}
	}
	cfg := &container.Config{
		Image:        s.Image,
		Entrypoint:   s.Entrypoint,
		Cmd:          s.Cmd(r),
		Env:          s.EnvList(r),
		Labels:       labels,
		ExposedPorts: network.PortSet{},
	}
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(s.NetworkMode),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(s.Restart), MaximumRetryCount: s.MaxRetries},
		LogConfig:     container.LogConfig{Type: s.LogDriver, Config: s.LogOpts},
		PortBindings:  network.PortMap{},
		ShmSize:       s.ShmSize,
		IpcMode:       container.IpcMode(s.IpcMode),
		Runtime:       s.Runtime,
		Resources: container.Resources{
			Memory:            s.Memory,
			MemoryReservation: s.MemoryReservation,
			NanoCPUs:          s.NanoCPUs,
			CpusetCpus:        s.Cpuset,
			DeviceRequests:    s.GPUs.DeviceRequests(),
		},
	}
	for _, p := range s.Ports {
		if p.ContainerPort < 1 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 ||
			!slices.Contains([]string{"tcp", "udp", "sctp"}, p.Protocol) {
			return nil, nil, nil, fmt.Errorf("port %d/%s (host port %d) is not valid: ports are 1 to 65535 (host port 0: the engine picks one), "+
				"protocols tcp, udp or sctp", p.ContainerPort, p.Protocol, p.HostPort)
		}
		port, _ := network.PortFrom(uint16(p.ContainerPort), network.IPProtocol(p.Protocol))
		b := network.PortBinding{}
		if p.HostPort > 0 {
			b.HostPort = strconv.Itoa(p.HostPort)
		}
		if p.HostIP != "" {
			addr, err := netip.ParseAddr(p.HostIP)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("host_ip %q: %w", p.HostIP, err)
			}
			b.HostIP = addr
		}
		cfg.ExposedPorts[port] = struct{}{}
		host.PortBindings[port] = append(host.PortBindings[port], b)
	}
	for _, v := range s.Volumes {
		bind := v.Source + ":" + v.Target
		if v.ReadOnly {
			bind += ":ro"
		}
		host.Binds = append(host.Binds, bind)
	}
	for _, u := range s.Ulimits {
		host.Ulimits = append(host.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	var net *network.NetworkingConfig
	if len(s.Networks) > 0 {
		// The engine joins one network at create; Connect adds the rest.
		net = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.Networks[0]: {}}}
		if s.NetworkMode == "" {
			host.NetworkMode = container.NetworkMode(s.Networks[0])
		}
	}
	return cfg, host, net, nil
}

// Observe reads the container back into a spec, keeping prior's form
// wherever the container matches it (so that an unchanged container reads
// back equal), and the container's own values where it differs (drift).
// Fields the user left to the engine's defaults in prior stay unset.
func Observe(prior Spec, c container.InspectResponse) Spec {
	s := prior
	if c.Config == nil || c.HostConfig == nil {
		return s
	}
	cfg, host := c.Config, c.HostConfig
	s.Image = cfg.Image
	// An unset entrypoint is the image's, which the container's also is.
	if prior.Entrypoint != nil {
		s.Entrypoint = cfg.Entrypoint
	}
	env := envMap(cfg.Env)
	knobsSeen, args := observeKnobs(prior, cfg.Cmd, env)
	s.Knobs = knobsSeen
	if prior.Command != nil || !slices.Equal(args, prior.ImageCmd) {
		s.Command = args
	}
	s.Env = pick(prior.Env, env)
	s.SecretEnv = pick(prior.SecretEnv, env)
	s.Labels = pick(prior.Labels, cfg.Labels)
	if v := cfg.Labels[LabelServer]; v != "" {
		s.Server = Server(v)
	}
	s.Ports = observePorts(prior.Ports, host.PortBindings)
	s.Volumes = observeVolumes(host.Binds)
	if len(prior.Volumes) == 0 && len(s.Volumes) == 0 {
		s.Volumes = prior.Volumes
	}
	s.Networks = observeNetworks(prior.Networks, c)
	// What the engine defaults when unset is read as it is: the resource
	// keeps these attributes from state when the configuration omits them.
	s.NetworkMode = string(host.NetworkMode)
	s.Restart = string(host.RestartPolicy.Name)
	if restartMode(s.Restart) == restartMode(prior.Restart) {
		s.Restart = prior.Restart
	} else if s.Restart == "" {
		s.Restart = "no"
	}
	s.MaxRetries = host.RestartPolicy.MaximumRetryCount
	s.LogDriver = host.LogConfig.Type
	s.LogOpts = pick(prior.LogOpts, host.LogConfig.Config)
	s.Memory = host.Memory
	s.MemoryReservation = host.MemoryReservation
	s.NanoCPUs = host.NanoCPUs
	s.Cpuset = host.CpusetCpus
	s.ShmSize = host.ShmSize
	s.IpcMode = string(host.IpcMode)
	s.Runtime = host.Runtime
	s.Ulimits = observeUlimits(prior.Ulimits, host.Ulimits)
	if g, ok := GPUsFromDeviceRequests(host.DeviceRequests); ok {
		if g.Equal(prior.GPUs) {
			g = prior.GPUs
		}
		s.GPUs = g
	} else {
		s.GPUs = GPUs{Driver: "unknown"}
	}
	return s
}

// observeKnobs reads the knobs back from the container's command and env.
// Where the command starts with prior's (the user's or the image's), only
// what follows is read for flags, so the user's own --dtype stays theirs.
// Only the variables prior's knobs set are read for knobs: the same names
// may be the user's own env or the image's (NGC images set
// TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1), which are not the knobs'.
func observeKnobs(prior Spec, cmd []string, env map[string]string) (Knobs, []string) {
	r, _ := Render(prior.Server, prior.Knobs)
	theirs := map[string]string{}
	for key := range r.Env {
		if v, ok := env[key]; ok {
			theirs[key] = v
		}
	}
	base := prior.Command
	if base == nil {
		base = prior.ImageCmd
	}
	if len(cmd) >= len(base) && slices.Equal(cmd[:len(base)], base) {
		k, rest := ReadKnobs(prior.Server, cmd[len(base):], theirs)
		return k, append(slices.Clone(base), rest...)
	}
	return ReadKnobs(prior.Server, cmd, theirs)
}

// restartMode is the restart policy as the engine applies it: "" is "no".
func restartMode(name string) string {
	if name == "" {
		return string(container.RestartPolicyDisabled)
	}
	return name
}

func envMap(list []string) map[string]string {
	m := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// pick returns have's values for want's keys (nil when want is nil): keys
// the user did not set are not theirs to compare.
func pick(want, have map[string]string) map[string]string {
	if want == nil {
		return nil
	}
	out := make(map[string]string, len(want))
	for k := range want {
		if v, ok := have[k]; ok {
			out[k] = v
		}
	}
	return out
}

func observePorts(prior []Port, pm network.PortMap) []Port {
	var seen []Port
	for port, binds := range pm {
		for _, b := range binds {
			p := Port{ContainerPort: int(port.Num()), Protocol: string(port.Proto())}
			p.HostPort, _ = strconv.Atoi(b.HostPort)
			if b.HostIP.IsValid() {
				p.HostIP = b.HostIP.String()
			}
			seen = append(seen, p)
		}
	}
	slices.SortFunc(seen, func(a, b Port) int {
		return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort), cmp.Compare(a.Protocol, b.Protocol),
			cmp.Compare(a.HostIP, b.HostIP), cmp.Compare(a.HostPort, b.HostPort))
	})
	// In prior's order and spelling where they match; an engine-picked
	// host port (prior 0) matches any.
	out := make([]Port, 0, len(seen))
	used := make([]bool, len(seen))
	for _, want := range prior {
		for i, got := range seen {
			if used[i] || got.ContainerPort != want.ContainerPort || got.Protocol != want.Protocol || !sameHostIP(want.HostIP, got.HostIP) {
				continue
			}
			if want.HostPort == 0 || got.HostPort == want.HostPort {
				used[i] = true
				out = append(out, want)
				break
			}
		}
	}
	for i, got := range seen {
		if !used[i] {
			out = append(out, got)
		}
	}
	if len(out) == 0 {
		return prior[:0:0]
	}
	return out
}

// sameHostIP reports whether the engine's host address is the one asked
// for: the same address however spelt, and "" (all addresses) matching an
// unspecified one should the engine fill it in.
func sameHostIP(want, got string) bool {
	if want == got {
		return true
	}
	g, err := netip.ParseAddr(got)
	if err != nil {
		return false
	}
	if want == "" {
		return g.IsUnspecified()
	}
	w, err := netip.ParseAddr(want)
	return err == nil && w == g
}

func observeVolumes(binds []string) []Volume {
	out := make([]Volume, 0, len(binds))
	for _, b := range binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 {
			continue
		}
		v := Volume{Source: parts[0], Target: parts[1]}
		if len(parts) > 2 {
			v.ReadOnly = slices.Contains(strings.Split(parts[2], ","), "ro")
		}
		out = append(out, v)
	}
	return out
}

func observeNetworks(prior []string, c container.InspectResponse) []string {
	if len(prior) == 0 || c.NetworkSettings == nil {
		return prior
	}
	out := make([]string, 0, len(prior))
	for _, n := range prior {
		if _, ok := c.NetworkSettings.Networks[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// observeUlimits keeps the ulimits prior names, in prior's order: the
// engine adds its default-ulimits to the container's on start, which are
// not the user's to compare.
func observeUlimits(prior []Ulimit, have []*container.Ulimit) []Ulimit {
	out := make([]Ulimit, 0, len(prior))
	for _, p := range prior {
		for _, u := range have {
			if u != nil && u.Name == p.Name {
				out = append(out, Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
				break
			}
		}
	}
	if len(out) == 0 {
		return prior[:0:0]
	}
	return out
}

// Change is how a running container gets from one spec to another.
type Change int

// The kinds of change.
const (
	NoChange Change = iota
	InPlace         // docker update: resources and restart policy
	Replace         // a new container
)

// Plan decides how old becomes new. The fields Docker updates in place are
// the resources and the restart policy; removing a limit (0) cannot be done
// in place, as the engine takes 0 as "unchanged".
func Plan(old, want Spec) (Change, []string) {
	var inPlace, replace []string
	live := func(name string, changed, removed bool) {
		switch {
		case !changed:
		case removed:
			replace = append(replace, name)
		default:
			inPlace = append(inPlace, name)
		}
	}
	live("memory", old.Memory != want.Memory, want.Memory == 0)
	live("memory_reservation", old.MemoryReservation != want.MemoryReservation, want.MemoryReservation == 0)
	live("cpus", old.NanoCPUs != want.NanoCPUs, want.NanoCPUs == 0)
	live("cpuset", old.Cpuset != want.Cpuset, want.Cpuset == "")
	live("restart_policy", restartMode(old.Restart) != restartMode(want.Restart) || old.MaxRetries != want.MaxRetries, false)

	// Everything else is fixed at create.
	a, b := old, want
	for _, s := range []*Spec{&a, &b} {
		s.Memory, s.MemoryReservation, s.NanoCPUs, s.Cpuset, s.Restart, s.MaxRetries = 0, 0, 0, "", "", 0
	}
	replace = append(replace, fixedDiff(a, b)...)
	switch {
	case len(replace) > 0:
		return Replace, append(replace, inPlace...)
	case len(inPlace) > 0:
		return InPlace, inPlace
	}
	return NoChange, nil
}

func fixedDiff(a, b Spec) []string {
	var out []string
	add := func(name string, same bool) {
		if !same {
			out = append(out, name)
		}
	}
	ra, _ := Render(a.Server, a.Knobs)
	rb, _ := Render(b.Server, b.Knobs)
	add("name", a.Name == b.Name)
	add("image", a.Image == b.Image)
	add("entrypoint", slices.Equal(a.Entrypoint, b.Entrypoint))
	// The container's command and environment, named by what the user
	// changed: the command, env, or a tuning attribute.
	if !slices.Equal(a.Cmd(ra), b.Cmd(rb)) || !slices.Equal(a.EnvList(ra), b.EnvList(rb)) {
		n := len(out)
		add("command", slices.Equal(a.Command, b.Command))
		add("env", maps.Equal(a.Env, b.Env))
		add("sensitive_env", maps.Equal(a.SecretEnv, b.SecretEnv))
		out = append(out, knobsDiff(a.Knobs, b.Knobs)...)
		if len(out) == n && a.Server == b.Server {
			out = append(out, "command")
		}
	}
	add("server", a.Server == b.Server)
	add("ports", slices.Equal(a.Ports, b.Ports))
	add("volumes", slices.Equal(a.Volumes, b.Volumes))
	add("network_mode", a.NetworkMode == b.NetworkMode)
	add("networks", slices.Equal(a.Networks, b.Networks))
	add("labels", maps.Equal(a.Labels, b.Labels))
	add("log", a.LogDriver == b.LogDriver && maps.Equal(a.LogOpts, b.LogOpts))
	add("shm_size", a.ShmSize == b.ShmSize)
	add("ipc_mode", a.IpcMode == b.IpcMode)
	add("runtime", a.Runtime == b.Runtime)
	add("ulimits", slices.Equal(a.Ulimits, b.Ulimits))
	add("gpus", a.GPUs.Equal(b.GPUs))
	return out
}

// knobsDiff names the tuning attributes that differ.
func knobsDiff(a, b Knobs) []string {
	var out []string
	for _, kn := range knobs {
		va, sa := kn.value(a)
		vb, sb := kn.value(b)
		if va != vb || sa != sb {
			out = append(out, kn.attr)
		}
	}
	if (a.AllowTF32 == nil) != (b.AllowTF32 == nil) || a.AllowTF32 != nil && *a.AllowTF32 != *b.AllowTF32 {
		out = append(out, AttrAllowTF32)
	}
	return out
}

// Unrestorable lists the limits a failed in-place update cannot put back:
// those old did not have (docker update takes 0 as "unchanged").
func Unrestorable(old, want Spec) []string {
	var out []string
	add := func(name string, had, has bool) {
		if !had && has {
			out = append(out, name)
		}
	}
	add("memory", old.Memory != 0, want.Memory != 0)
	add("memory_reservation", old.MemoryReservation != 0, want.MemoryReservation != 0)
	add("cpus", old.NanoCPUs != 0, want.NanoCPUs != 0)
	add("cpuset", old.Cpuset != "", want.Cpuset != "")
	return out
}

// Update is the docker update request that takes a running container to
// new's resources and restart policy. MemorySwap follows Memory as at
// create (twice the limit), so raising the limit is not refused.
func Update(want Spec) container.UpdateConfig {
	u := container.UpdateConfig{
		Resources: container.Resources{
			Memory:            want.Memory,
			MemoryReservation: want.MemoryReservation,
			NanoCPUs:          want.NanoCPUs,
			CpusetCpus:        want.Cpuset,
		},
		// The engine leaves the policy alone for "": "no" is sent for it,
		// or putting back an unset policy would keep the new one.
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(restartMode(want.Restart)), MaximumRetryCount: want.MaxRetries},
	}
	if want.Memory > 0 {
		u.MemorySwap = 2 * want.Memory
	}
	return u
}

// ImageDefaults are what a container inherits from its image, so that an
// adopted (imported) container's spec holds only what was set on top.
type ImageDefaults struct {
	Entrypoint, Cmd []string
	Env             []string
	Labels          map[string]string
}

// Adopt reads a container the resource did not create (an import) into a
// model runner's spec: values equal to the image's or the engine's
// defaults stay unset.
func Adopt(c container.InspectResponse, img ImageDefaults) Spec {
	return AdoptAs(c, img, ModelRunner)
}

// AdoptAs is Adopt for the resource as: for a general container, no server
// kind, and every variable the image does not set is env.
func AdoptAs(c container.InspectResponse, img ImageDefaults, as Owner) Spec {
	prior := Spec{Name: strings.TrimPrefix(c.Name, "/"), ImageCmd: img.Cmd}
	if c.Config == nil || c.HostConfig == nil {
		return prior
	}
	switch v := c.Config.Labels[LabelServer]; {
	case as == General:
		prior.Server = NoServer
	case v != "":
		prior.Server = Server(v)
	default:
		prior.Server = Custom
	}
	if !slices.Equal(c.Config.Entrypoint, img.Entrypoint) {
		prior.Entrypoint = c.Config.Entrypoint
	}
	imageEnv := envMap(img.Env)
	// What the container sets on top of its image: a knob's variable is the
	// knob's where the knob, read back, renders it again; the rest (a value
	// the knob cannot take, TF32 variables that contradict each other) is
	// env, so that nothing the container has is lost.
	env := envMap(c.Config.Env)
	own := map[string]string{}
	for k, v := range env {
		if iv, ok := imageEnv[k]; !ok || iv != v {
			own[k] = v
		}
	}
	prior.Knobs = adoptKnobs(prior.Server, own, env)
	rendered, _ := Render(prior.Server, prior.Knobs)
	for k, v := range own {
		if rv, ok := rendered.Env[k]; ok && rv == v {
			continue
		}
		if prior.Env == nil {
			prior.Env = map[string]string{}
		}
		prior.Env[k] = v
	}
	for k, v := range c.Config.Labels {
		if iv, ok := img.Labels[k]; (ok && iv == v) || k == LabelManagedBy || k == LabelServer || k == LabelKind {
			continue
		}
		if prior.Labels == nil {
			prior.Labels = map[string]string{}
		}
		prior.Labels[k] = v
	}
	if c.HostConfig.LogConfig.Config != nil {
		prior.LogOpts = map[string]string{}
		for k := range c.HostConfig.LogConfig.Config {
			prior.LogOpts[k] = ""
		}
	}
	for _, u := range c.HostConfig.Ulimits {
		prior.Ulimits = append(prior.Ulimits, Ulimit{Name: u.Name})
	}
	if c.NetworkSettings != nil && c.HostConfig.NetworkMode.IsUserDefined() {
		// The network mode's network first, as Create makes it of the
		// first of networks; the engine's map has no order for the rest.
		mode := string(c.HostConfig.NetworkMode)
		for n := range c.NetworkSettings.Networks {
			if n != mode {
				prior.Networks = append(prior.Networks, n)
			}
		}
		slices.Sort(prior.Networks)
		if _, ok := c.NetworkSettings.Networks[mode]; ok {
			prior.Networks = slices.Insert(prior.Networks, 0, mode)
		}
	}
	s := Observe(prior, c)
	if len(s.LogOpts) == 0 {
		s.LogOpts = nil
	}
	// "" is the engine's "no": the attribute takes the name.
	s.Restart = restartMode(s.Restart)
	// Flags read as knobs must give the container's command back; where
	// they do not (a value a knob cannot take, or cannot parse), the
	// command is taken as it is.
	r, probs := Render(s.Server, s.Knobs)
	if len(c.Config.Cmd) > 0 && (len(probs) > 0 || !slices.Equal(s.Cmd(r), c.Config.Cmd)) {
		s.Knobs = prior.Knobs
		s.Command = slices.Clone(c.Config.Cmd)
		if slices.Equal(s.Command, img.Cmd) {
			s.Command = nil
		}
	}
	return s
}

// adoptKnobs reads the knobs from a container's own environment (own: the
// variables the image does not set so). A knob is left unset where the
// server kind refuses its value, or where the container lacks something
// the knob sets (custom's MCPAI_ALLOW_TF32=true without PyTorch's TF32
// variable): made again from the spec, the container would differ.
func adoptKnobs(s Server, own, env map[string]string) Knobs {
	k, _ := ReadKnobs(s, nil, own)
	_, probs := Render(s, k)
	for _, p := range probs {
		if p.Attr == "server" {
			return Knobs{}
		}
		unsetKnob(&k, p.Attr)
	}
	inContainer := func(one Knobs) bool {
		r, _ := Render(s, one)
		for key, v := range r.Env {
			if have, ok := env[key]; !ok || have != v {
				return false
			}
		}
		return true
	}
	for _, kn := range knobs {
		if v, set := kn.value(k); set {
			var one Knobs
			setKnob(&one, kn.attr, v)
			if !inContainer(one) {
				unsetKnob(&k, kn.attr)
			}
		}
	}
	if k.AllowTF32 != nil && !inContainer(Knobs{AllowTF32: k.AllowTF32}) {
		k.AllowTF32 = nil
	}
	return k
}
