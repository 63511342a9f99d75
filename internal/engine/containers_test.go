package engine

import "testing"

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
