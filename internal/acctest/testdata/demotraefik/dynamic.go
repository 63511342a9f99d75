package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// fileConfig is the file provider's dynamic configuration, the subset of
// Traefik's that the stand-in serves: HTTP routers and load-balancer
// services. Keys are Traefik's, in its letter case (the files are case
// sensitive); a key the stand-in does not know is an error, and the file is
// then not applied, as Traefik rejects a file it cannot decode.
type fileConfig struct {
	HTTP *httpConfig `yaml:"http"`
}

type httpConfig struct {
	Routers  map[string]routerConfig  `yaml:"routers"`
	Services map[string]serviceConfig `yaml:"services"`
}

type routerConfig struct {
	EntryPoints []string `yaml:"entryPoints"`
	Rule        string   `yaml:"rule"`
	Service     string   `yaml:"service"`
}

type serviceConfig struct {
	LoadBalancer *loadBalancerConfig `yaml:"loadBalancer"`
}

type loadBalancerConfig struct {
	Servers     []serverConfig     `yaml:"servers"`
	HealthCheck *healthCheckConfig `yaml:"healthCheck"`
}

type serverConfig struct {
	URL string `yaml:"url"`
}

type healthCheckConfig struct {
	Path     string    `yaml:"path"`
	Interval *duration `yaml:"interval"`
	Timeout  *duration `yaml:"timeout"`
}

// duration is a Traefik duration: a Go duration ("10s", "500ms") or a
// number of seconds.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 10s, got a %s", n.Line, kindName(n.Kind))
	}
	if secs, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
		*d = duration(time.Duration(secs) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 10s", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	}
	return "node"
}

// parseFile decodes one dynamic configuration file (YAML, one document; an
// empty file is an empty configuration).
func parseFile(data []byte) (fileConfig, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c fileConfig
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return fileConfig{}, err
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return fileConfig{}, errors.New("more than one YAML document")
	}
	return c, nil
}

// Traefik's health check defaults.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 5 * time.Second
)

// plan is a checked configuration. Like Traefik, a router or service that
// is wrong is left out (with a problem to log) and the rest is served.
type plan struct {
	services map[string]serviceSpec // by qualified name, "<name>@file"
	routes   map[string][]routeSpec // by entry point, highest priority first
	problems []string
}

type serviceSpec struct {
	name    string   // qualified
	servers []string // URLs as written
	health  *healthSpec
}

type healthSpec struct {
	path              string
	interval, timeout time.Duration
}

type routeSpec struct {
	router   string // qualified
	prefix   string
	priority int
	service  string // qualified
}

const providerSuffix = "@file"

// makePlan checks c against the entry points there are.
func makePlan(c fileConfig, entryPoints []string) plan {
	p := plan{services: map[string]serviceSpec{}, routes: map[string][]routeSpec{}}
	if c.HTTP == nil {
		return p
	}
	for _, name := range sortedKeys(c.HTTP.Services) {
		s, err := checkService(name+providerSuffix, c.HTTP.Services[name])
		if err != nil {
			p.problems = append(p.problems, err.Error())
			continue
		}
		p.services[s.name] = s
	}
	for _, name := range sortedKeys(c.HTTP.Routers) {
		r := c.HTTP.Routers[name]
		qualified := name + providerSuffix
		prefix, err := parseRule(r.Rule)
		if err != nil {
			p.problems = append(p.problems, fmt.Sprintf("router %s: %v", qualified, err))
			continue
		}
		service := r.Service
		if !strings.Contains(service, "@") {
			service += providerSuffix
		}
		if _, ok := p.services[service]; !ok {
			p.problems = append(p.problems, fmt.Sprintf("router %s: the service %q does not exist", qualified, service))
			continue
		}
		eps := r.EntryPoints
		if len(eps) == 0 {
			eps = entryPoints
		}
		for _, ep := range eps {
			if !slices.Contains(entryPoints, ep) {
				p.problems = append(p.problems, fmt.Sprintf("router %s: entry point %q does not exist", qualified, ep))
				continue
			}
			p.routes[ep] = append(p.routes[ep], routeSpec{router: qualified, prefix: prefix, priority: len(r.Rule), service: service})
		}
	}
	for _, rs := range p.routes {
		slices.SortStableFunc(rs, func(a, b routeSpec) int { return b.priority - a.priority }) // names sorted already
	}
	return p
}

func checkService(name string, s serviceConfig) (serviceSpec, error) {
	spec := serviceSpec{name: name}
	lb := s.LoadBalancer
	if lb == nil {
		return spec, fmt.Errorf("service %s: the stand-in serves only loadBalancer services", name)
	}
	for i, srv := range lb.Servers {
		u, err := url.Parse(srv.URL)
		if err != nil || u.Scheme != "http" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return spec, fmt.Errorf("service %s: servers[%d].url %q: want http://host:port (the stand-in proxies plain HTTP only)", name, i, srv.URL)
		}
		spec.servers = append(spec.servers, srv.URL)
	}
	if hc := lb.HealthCheck; hc != nil {
		h := healthSpec{path: hc.Path, interval: defaultHealthInterval, timeout: defaultHealthTimeout}
		if hc.Interval != nil {
			h.interval = time.Duration(*hc.Interval)
		}
		if hc.Timeout != nil {
			h.timeout = time.Duration(*hc.Timeout)
		}
		switch {
		case !strings.HasPrefix(h.path, "/"):
			return spec, fmt.Errorf("service %s: healthCheck.path %q must start with /", name, hc.Path)
		case h.interval <= 0 || h.timeout <= 0:
			return spec, fmt.Errorf("service %s: healthCheck interval and timeout must be positive", name)
		}
		spec.health = &h
	}
	return spec, nil
}

// The one matcher the stand-in knows: PathPrefix(`/...`) (or with double
// quotes), alone.
var pathPrefixRule = regexp.MustCompile("^\\s*PathPrefix\\(\\s*(?:`([^`]*)`|\"([^\"]*)\")\\s*\\)\\s*$")

func parseRule(rule string) (string, error) {
	m := pathPrefixRule.FindStringSubmatch(rule)
	if m == nil {
		return "", fmt.Errorf("rule %q: the stand-in supports only PathPrefix(`/...`)", rule)
	}
	prefix := m[1] + m[2]
	if !strings.HasPrefix(prefix, "/") {
		return "", fmt.Errorf("rule %q: the path prefix must start with /", rule)
	}
	return prefix, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
