package main

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// staticConfig is the part of Traefik's static configuration the stand-in
// takes, from the command line.
type staticConfig struct {
	EntryPoints          map[string]string // name (as written) -> listen address
	File                 string            // providers.file.filename; "" for none
	Watch                bool
	Ping                 bool
	PingEntryPoint       string
	Prometheus           bool
	PrometheusEntryPoint string
	LogLevel             string // upper case
	AccessLog            bool
}

// The entry point that ping and metrics use unless told otherwise, made at
// :8080 when the command line does not define it (as Traefik does).
const (
	defaultInternalEntryPoint = "traefik"
	defaultInternalAddress    = ":8080"
)

var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "PANIC"}

// flagError is a command line the stand-in refuses.
type flagError struct{ msg string }

func (e flagError) Error() string { return e.msg }

func flagErrorf(format string, a ...any) error { return flagError{fmt.Sprintf(format, a...)} }

// knownFlags lists what parseFlags takes, for its error messages.
const knownFlags = "--entryPoints.<name>.address, --providers.file.filename, --providers.file.watch, --ping, " +
	"--ping.entryPoint, --metrics.prometheus, --metrics.prometheus.entryPoint, --log.level, --accessLog"

// parseFlags reads Traefik v3 flags: "--key=value" (a boolean also as
// "--key"), keys in any letter case. Setting ping.entryPoint or
// metrics.prometheus.entryPoint enables that section, as in Traefik, unless
// the section itself is set to false. Without any entry point there is one,
// "http", on :80.
func parseFlags(args []string) (staticConfig, error) {
	c := staticConfig{EntryPoints: map[string]string{}, LogLevel: "ERROR"}
	var ping, prometheus *bool
	for _, a := range args {
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			return c, flagErrorf("unexpected argument %q: the stand-in takes only flags (%s)", a, knownFlags)
		}
		key, value, hasValue := strings.Cut(a[2:], "=")
		lower := strings.ToLower(key)
		boolean := func(dst *bool) error {
			if !hasValue {
				*dst = true
				return nil
			}
			b, err := strconv.ParseBool(value)
			if err != nil {
				return flagErrorf("--%s: %q is not a boolean", key, value)
			}
			*dst = b
			return nil
		}
		str := func(dst *string) error {
			if !hasValue || value == "" {
				return flagErrorf("--%s needs a value (--%s=<value>)", key, key)
			}
			*dst = value
			return nil
		}
		var err error
		switch lower {
		case "providers.file.filename":
			err = str(&c.File)
		case "providers.file.watch":
			err = boolean(&c.Watch)
		case "ping":
			ping = new(bool)
			err = boolean(ping)
		case "ping.entrypoint":
			err = str(&c.PingEntryPoint)
		case "metrics.prometheus":
			prometheus = new(bool)
			err = boolean(prometheus)
		case "metrics.prometheus.entrypoint":
			err = str(&c.PrometheusEntryPoint)
		case "log.level":
			if err = str(&c.LogLevel); err == nil {
				c.LogLevel = strings.ToUpper(c.LogLevel)
				if !slices.Contains(logLevels, c.LogLevel) {
					err = flagErrorf("--%s: %q is not one of %s", key, value, strings.Join(logLevels, ", "))
				}
			}
		case "accesslog":
			err = boolean(&c.AccessLog)
		default:
			name, ok := entryPointName(key)
			if !ok {
				return c, flagErrorf("unknown flag --%s: the stand-in takes only %s", key, knownFlags)
			}
			var addr string
			if err = str(&addr); err == nil {
				c.EntryPoints[name], err = checkAddress(key, addr)
			}
		}
		if err != nil {
			return c, err
		}
	}
	c.Ping = enabled(ping, c.PingEntryPoint)
	c.Prometheus = enabled(prometheus, c.PrometheusEntryPoint)
	if len(c.EntryPoints) == 0 {
		c.EntryPoints["http"] = ":80"
	}
	for _, ep := range []*string{&c.PingEntryPoint, &c.PrometheusEntryPoint} {
		if *ep == "" {
			*ep = defaultInternalEntryPoint
		}
	}
	for _, s := range []struct {
		on    bool
		flag  string
		entry *string
	}{{c.Ping, "ping.entryPoint", &c.PingEntryPoint}, {c.Prometheus, "metrics.prometheus.entryPoint", &c.PrometheusEntryPoint}} {
		if !s.on {
			continue
		}
		if _, ok := c.EntryPoints[*s.entry]; ok {
			continue
		}
		if *s.entry != defaultInternalEntryPoint {
			return c, flagErrorf("--%s=%s: no such entry point (define it with --entryPoints.%s.address)", s.flag, *s.entry, *s.entry)
		}
		c.EntryPoints[defaultInternalEntryPoint] = defaultInternalAddress
	}
	if c.Watch && c.File == "" {
		return c, flagErrorf("--providers.file.watch needs --providers.file.filename")
	}
	return c, nil
}

// entryPointName is <name> of a key entryPoints.<name>.address (any case).
func entryPointName(key string) (string, bool) {
	lower := strings.ToLower(key)
	if !strings.HasPrefix(lower, "entrypoints.") || !strings.HasSuffix(lower, ".address") {
		return "", false
	}
	name := key[len("entrypoints.") : len(key)-len(".address")]
	return name, name != "" && !strings.Contains(name, ".")
}

// checkAddress takes [host]:port with an optional "/tcp", as Traefik's
// entry point addresses, and returns what to listen on.
func checkAddress(key, addr string) (string, error) {
	hostPort, proto, hasProto := strings.Cut(addr, "/")
	if hasProto && !strings.EqualFold(proto, "tcp") {
		return "", flagErrorf("--%s=%s: the stand-in listens on TCP only", key, addr)
	}
	_, port, err := net.SplitHostPort(hostPort)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return "", flagErrorf("--%s=%s: want [host]:port, e.g. :8000", key, addr)
	}
	return hostPort, nil
}

// enabled: a section set explicitly wins; otherwise setting its entry point
// enables it.
func enabled(explicit *bool, entryPoint string) bool {
	if explicit != nil {
		return *explicit
	}
	return entryPoint != ""
}
