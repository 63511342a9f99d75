package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// BenchmarkLoadTestOverhead: what mcpai_load_test's load generator adds on
// its own. Each op applies a 5-second Locust run (1 user, then 10; no
// pause) against an endpoint that does nothing and destroys it:
//   - path=direct: the Go demo API's /health on the host's loopback, the
//     floor;
//   - path=stack: the real FastAPI app's /health (uvicorn, uvloop,
//     httptools, one worker) behind the Traefik stand-in, as the stack
//     serves it.
//
// The metrics are the means of Locust's own results over the ops: p50-ms
// and p95-ms are what any measured latency includes, rps the most one
// Locust process drives there. ns/op is the whole apply: starting the
// container, the run, copying the statistics out, removing it.
func BenchmarkLoadTestOverhead(b *testing.B) {
	h := benchHost(b)
	if h.DockerSocket == "" || h.LocustImage == "" {
		b.Skip("the bench host has no dockerd or no Locust image")
	}
	const direct, app, proxy = "mcpai-bench-noop", "mcpai-bench-fastapi", "mcpai-bench-traefik"
	const directPort, appPort, proxyPort = 18099, 18097, 18098
	dir := "/tmp/mcpai-bench-traefik" // in the host's mount namespace
	docker := func(args ...string) {
		if out, err := exec.Command("docker", append([]string{"-H", "unix://" + h.DockerSocket}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("docker %v: %v: %s", args, err, out)
		}
	}
	removeAll := func() {
		_ = exec.Command("docker", "-H", "unix://"+h.DockerSocket, "rm", "-f", direct, app, proxy).Run()
	}
	removeAll()
	b.Cleanup(removeAll)
	h.InHost(b, fmt.Sprintf(`set -e; mkdir -p %[1]s; cat > %[1]s/dynamic.yml <<'EOF'
http:
  routers:
    api: {entryPoints: [web], rule: "PathPrefix(`+"`/`"+`)", service: api}
  services:
    api:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:%[2]d"}]
EOF`, dir, appPort))
	docker("run", "-d", "--name", direct, "--network", "host", acctest.DemoAPIImage,
		"uvicorn", "main:app", "--host", "127.0.0.1", "--port", fmt.Sprint(directPort), "--no-access-log")
	docker("run", "-d", "--name", app, "--network", "host", acctest.DemoFastAPIImage, "uvicorn", "main:app",
		"--host", "127.0.0.1", "--port", fmt.Sprint(appPort), "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log")
	docker("run", "-d", "--name", proxy, "--network", "host", "-v", dir+":/etc/traefik:ro", acctest.DemoTraefikImage,
		fmt.Sprintf("--entryPoints.web.address=127.0.0.1:%d", proxyPort), "--providers.file.filename=/etc/traefik/dynamic.yml")
	for _, path := range []struct {
		name string
		port int
	}{{"direct", directPort}, {"stack", proxyPort}} {
		for _, users := range []int{1, 10} {
			b.Run(fmt.Sprintf("path=%s/users=%d", path.name, users), func(b *testing.B) {
				loadTestOps(b, h, path.port, users)
			})
		}
	}
}

func loadTestOps(b *testing.B, h acctest.Host, port, users int) {
	w := acctest.NewWorkspace(b, acctest.ProviderBlock(b)+fmt.Sprintf(`
resource "mcpai_load_test" "bench" {
  ssh      = { host = %q }
  image    = %q
  target   = "http://127.0.0.1:%d"
  users    = %d
  duration = "5s"
  tasks    = [{ path = "/health" }]
}
output "results" { value = mcpai_load_test.bench.results }
`, h.Address, h.LocustImage, port, users))
	var p50, p95, rps float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.Run([]int{0}, "apply", "-auto-approve")
		b.StopTimer()
		state, err := os.ReadFile(filepath.Join(w.Dir, "terraform.tfstate"))
		if err != nil {
			b.Fatal(err)
		}
		var st struct {
			Outputs struct {
				Results struct {
					Value struct {
						P50      float64 `json:"p50_ms"`
						P95      float64 `json:"p95_ms"`
						RPS      float64 `json:"rps"`
						Requests int64   `json:"requests"`
						Failures int64   `json:"failures"`
					} `json:"value"`
				} `json:"results"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal(state, &st); err != nil {
			b.Fatal(err)
		}
		r := st.Outputs.Results.Value
		if r.Requests == 0 || r.Failures != 0 {
			b.Fatalf("results %+v: want requests and no failures", r)
		}
		p50, p95, rps = p50+r.P50, p95+r.P95, rps+r.RPS
		w.Run([]int{0}, "destroy", "-auto-approve")
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(p50/n, "p50-ms")
	b.ReportMetric(p95/n, "p95-ms")
	b.ReportMetric(rps/n, "rps")
}
