package engine

import (
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

func TestDigestFor(t *testing.T) {
	img := Image{RepoDigests: []string{
		"127.0.0.1:5140/mcpai/model@sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"127.0.0.1:5141/mcpai/model@sha256:2222222222222222222222222222222222222222222222222222222222222222",
		"vllm/vllm-openai@sha256:3333333333333333333333333333333333333333333333333333333333333333",
	}}
	for _, tt := range []struct{ ref, want string }{
		{"127.0.0.1:5141/mcpai/model:v1", img.RepoDigests[1]},
		{"127.0.0.1:5140/mcpai/model", img.RepoDigests[0]},
		{"docker.io/vllm/vllm-openai:v0.6.3", img.RepoDigests[2]},
		{"vllm/vllm-openai:latest", img.RepoDigests[2]},
		{"mcpai-model:ready", ""},
		{"Not A Reference", ""},
	} {
		if got := img.DigestFor(tt.ref); got != tt.want {
			t.Errorf("DigestFor(%q) = %q, want %q", tt.ref, got, tt.want)
		}
	}
}

func TestPublishedAddr(t *testing.T) {
	port := network.MustParsePort("8000/tcp")
	c := container.InspectResponse{NetworkSettings: &container.NetworkSettings{Ports: network.PortMap{
		port: {{HostPort: ""}, {HostPort: "18000"}},
	}}}
	if got, ok := publishedAddr(c, "gpu1.example", 8000); !ok || got != "gpu1.example:18000" {
		t.Errorf("publishedAddr = %q, %v", got, ok)
	}
	if got, ok := publishedAddr(c, "gpu1.example", 9000); ok {
		t.Errorf("unpublished port gave %q", got)
	}
	if _, ok := publishedAddr(container.InspectResponse{}, "h", 8000); ok {
		t.Error("no network settings gave an address")
	}
	e, err := NewHost("tcp://gpu1.example:2375")
	if err != nil || e.remoteHost != "gpu1.example" {
		t.Fatalf("NewHost: %v %q", err, e.remoteHost)
	}
	if got, _ := e.probeTarget(c, 8000); got != "gpu1.example:18000" {
		t.Errorf("probeTarget over tcp = %q", got)
	}
	e, _ = NewHost("unix:///var/run/docker.sock")
	if e.remoteHost != "" {
		t.Errorf("unix engine has remote host %q", e.remoteHost)
	}
}
