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
// its own. Each op applies a 5-second Locust run (1 user, then 10 users; no
// pause)
// against an endpoint that does nothing, the demo API's /health on the
// host's loopback, and destroys it; the metrics are the means of Locust's
// own results over the ops: p50-ms and p95-ms are the floor any measured
// latency includes, rps the most one Locust process on that host drives.
// ns/op is the whole apply: pulling nothing, starting the container,
// the run, copying the statistics out, removing it.
func BenchmarkLoadTestOverhead(b *testing.B) {
	h := benchHost(b)
	if h.DockerSocket == "" || h.LocustImage == "" {
		b.Skip("the bench host has no dockerd or no Locust image")
	}
	const target, port = "mcpai-bench-noop", "18099"
	docker := func(args ...string) {
		if out, err := exec.Command("docker", append([]string{"-H", "unix://" + h.DockerSocket}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("docker %v: %v: %s", args, err, out)
		}
	}
	_ = exec.Command("docker", "-H", "unix://"+h.DockerSocket, "rm", "-f", target).Run()
	docker("run", "-d", "--name", target, "--network", "host", acctest.DemoAPIImage,
		"uvicorn", "main:app", "--host", "127.0.0.1", "--port", port, "--no-access-log")
	b.Cleanup(func() { _ = exec.Command("docker", "-H", "unix://"+h.DockerSocket, "rm", "-f", target).Run() })
	for _, users := range []int{1, 10} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			w := acctest.NewWorkspace(b, acctest.ProviderBlock(b)+fmt.Sprintf(`
resource "mcpai_load_test" "bench" {
  ssh      = { host = %q }
  image    = %q
  target   = "http://127.0.0.1:%s"
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
		})
	}
}
