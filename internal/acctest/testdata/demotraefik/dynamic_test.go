package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// A configuration as the api-service module writes it.
const moduleFile = `http:
  routers:
    api:
      entryPoints: [web]
      rule: PathPrefix(` + "`/`" + `)
      service: api
  services:
    api:
      loadBalancer:
        servers:
          - url: http://10.213.1.2:8001
          - url: http://10.213.1.2:8002/
        healthCheck:
          path: /health
          interval: 2s
          timeout: 1
`

func TestParseFile(t *testing.T) {
	c, err := parseFile([]byte(moduleFile))
	if err != nil {
		t.Fatal(err)
	}
	one, two := duration(2*time.Second), duration(time.Second)
	want := fileConfig{HTTP: &httpConfig{
		Routers: map[string]routerConfig{"api": {EntryPoints: []string{"web"}, Rule: "PathPrefix(`/`)", Service: "api"}},
		Services: map[string]serviceConfig{"api": {LoadBalancer: &loadBalancerConfig{
			Servers:     []serverConfig{{URL: "http://10.213.1.2:8001"}, {URL: "http://10.213.1.2:8002/"}},
			HealthCheck: &healthCheckConfig{Path: "/health", Interval: &one, Timeout: &two},
		}}},
	}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v", c.HTTP)
	}

	for _, empty := range []string{"", "# nothing yet\n", "http: {}\n"} {
		if _, err := parseFile([]byte(empty)); err != nil {
			t.Errorf("%q: %v", empty, err)
		}
	}
}

func TestParseFileRefuses(t *testing.T) {
	tests := []struct {
		name, file, err string
	}{
		{"unknown top-level key", "tcp:\n  routers: {}\n", "field tcp not found"},
		{"key in the wrong case", "http:\n  services:\n    a:\n      loadbalancer:\n        servers: []\n", "field loadbalancer not found"},
		{"unknown router key", "http:\n  routers:\n    a:\n      rule: PathPrefix(`/`)\n      service: a\n      priority: 10\n", "field priority not found"},
		{"unknown server key", "http:\n  services:\n    a:\n      loadBalancer:\n        servers:\n          - url: http://x:1\n            weight: 2\n", "field weight not found"},
		{"middlewares", "http:\n  middlewares:\n    strip: {}\n", "field middlewares not found"},
		{"bad duration", "http:\n  services:\n    a:\n      loadBalancer:\n        healthCheck:\n          path: /\n          interval: soon\n", `"soon" is not a duration`},
		{"duration as a list", "http:\n  services:\n    a:\n      loadBalancer:\n        healthCheck:\n          timeout: [1]\n", "want a duration such as 10s, got a sequence"},
		{"servers not a list", "http:\n  services:\n    a:\n      loadBalancer:\n        servers: http://x:1\n", "cannot unmarshal"},
		{"duplicate key", "http:\n  routers: {}\n  routers: {}\n", "already defined"},
		{"two documents", "http: {}\n---\nhttp: {}\n", "more than one YAML document"},
		{"not YAML", "http: [\n", "yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFile([]byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want one with %q", err, tt.err)
			}
		})
	}
}

func TestMakePlan(t *testing.T) {
	c, err := parseFile([]byte(`http:
  routers:
    all:
      rule: PathPrefix(` + "`/`" + `)
      service: api@file
    v2:
      entryPoints: [web]
      rule: 'PathPrefix("/v2")'
      service: v2
    a-v2:
      entryPoints: [web]
      rule: PathPrefix(` + "`/v2`" + `)
      service: v2
    host:
      rule: Host(` + "`example.com`" + `)
      service: api
    nolead:
      rule: PathPrefix(` + "`v3`" + `)
      service: api
    ghost:
      rule: PathPrefix(` + "`/g`" + `)
      service: missing
    docker:
      rule: PathPrefix(` + "`/d`" + `)
      service: api@docker
    elsewhere:
      entryPoints: [web, admin]
      rule: PathPrefix(` + "`/e`" + `)
      service: api
    broken:
      rule: PathPrefix(` + "`/b`" + `)
      service: https
  services:
    api:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:1
        healthCheck:
          path: /health
    v2:
      loadBalancer:
        servers: []
    https:
      loadBalancer:
        servers:
          - url: https://127.0.0.1:2
    badpath:
      loadBalancer:
        healthCheck:
          path: health
    empty: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := makePlan(c, []string{"metrics", "web"})

	if got := sortedKeys(p.services); !reflect.DeepEqual(got, []string{"api@file", "v2@file"}) {
		t.Errorf("services %v", got)
	}
	if h := p.services["api@file"].health; h == nil || *h != (healthSpec{"/health", 30 * time.Second, 5 * time.Second}) {
		t.Errorf("api@file health %+v, want Traefik's defaults", h)
	}
	routes := map[string][]string{}
	for ep, rs := range p.routes {
		for _, r := range rs {
			routes[ep] = append(routes[ep], r.router+" "+r.prefix+" "+r.service)
		}
	}
	want := map[string][]string{
		// Longer rules first; equal lengths by router name.
		"web": {"a-v2@file /v2 v2@file", "v2@file /v2 v2@file", "elsewhere@file /e api@file", "all@file / api@file"},
		// No entryPoints: every entry point.
		"metrics": {"all@file / api@file"},
	}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes %v\nwant   %v", routes, want)
	}
	problems := strings.Join(p.problems, "\n")
	for _, want := range []string{
		"service badpath@file: healthCheck.path \"health\" must start with /",
		"service empty@file: the stand-in serves only loadBalancer services",
		`service https@file: servers[0].url "https://127.0.0.1:2": want http://host:port`,
		"router host@file: rule \"Host(`example.com`)\": the stand-in supports only PathPrefix(`/...`)",
		"router nolead@file: rule \"PathPrefix(`v3`)\": the path prefix must start with /",
		`router ghost@file: the service "missing@file" does not exist`,
		`router docker@file: the service "api@docker" does not exist`,
		`router broken@file: the service "https@file" does not exist`,
		`router elsewhere@file: entry point "admin" does not exist`,
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	if len(p.problems) != 9 {
		t.Errorf("%d problems, want 9:\n%s", len(p.problems), problems)
	}
}

func TestParseRule(t *testing.T) {
	for rule, want := range map[string]string{
		"PathPrefix(`/`)":         "/",
		"PathPrefix(`/api/v1`)":   "/api/v1",
		` PathPrefix( "/x" ) `:    "/x",
		"PathPrefix(`/`) && Host": "",
		"Path(`/x`)":              "",
		"pathprefix(`/x`)":        "",
		"PathPrefix(/x)":          "",
		"":                        "",
	} {
		got, err := parseRule(rule)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("parseRule(%q) = %q, %v; want %q", rule, got, err, want)
		}
	}
}
