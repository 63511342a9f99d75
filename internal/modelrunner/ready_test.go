package modelrunner

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var judgeCases = []struct {
	o    Observation
	want Verdict
	why  string // substring of the reason
}{
	{Observation{Status: "created"}, Waiting, "not started"},
	{Observation{Status: "exited", ExitCode: 1}, Failed, "exited with code 1"},
	{Observation{Status: "exited", ExitCode: 0}, Failed, "exited with code 0"},
	{Observation{Status: "exited", ExitCode: 137, OOMKilled: true}, Failed, "killed for memory"},
	{Observation{Status: "dead", ExitCode: 128, Error: "nvidia-container-cli: initialization error"}, Failed, ": nvidia-container-cli: initialization error"},
	{Observation{Status: "exited", Probed: true, HTTPStatus: 200}, Failed, "exited"},
	{Observation{Status: "restarting", ExitCode: 2}, Failed, "code 2 and is being restarted"},
	{Observation{Status: "paused"}, Failed, "paused"},
	{Observation{Status: "removing"}, Failed, "being removed"},
	{Observation{Status: "unheard-of"}, Waiting, `"unheard-of"`},
	{Observation{Status: ""}, Waiting, "status"},

	{Observation{Status: "running", Restarts: 2, Probed: true, HTTPStatus: 200}, Failed, "restarted 2 time(s)"},
	{Observation{Status: "running", Health: "unhealthy"}, Failed, "unhealthy"},
	{Observation{Status: "running", Health: "unhealthy", Probed: true, HTTPStatus: 200}, Failed, "unhealthy"},

	{Observation{Status: "running", Probed: true, HTTPStatus: 200}, Ready, "answered 200"},
	{Observation{Status: "running", Probed: true, HTTPStatus: 204}, Ready, "answered 204"},
	{Observation{Status: "running", Probed: true, HTTPStatus: 299, Health: "starting"}, Ready, "answered 299"},
	{Observation{Status: "running", Probed: true}, Waiting, "does not answer yet"},
	{Observation{Status: "running", Probed: true, HTTPStatus: 503}, Waiting, "answers 503"},
	{Observation{Status: "running", Probed: true, HTTPStatus: 404, Health: "healthy"}, Waiting, "answers 404"},
	{Observation{Status: "running", Probed: true, HTTPStatus: 199}, Waiting, "answers 199"},
	{Observation{Status: "running", Probed: true, HTTPStatus: 300}, Waiting, "answers 300"},

	{Observation{Status: "running", Health: "healthy"}, Ready, "HEALTHCHECK reports healthy"},
	{Observation{Status: "running", Health: "starting"}, Waiting, "HEALTHCHECK is starting"},
	{Observation{Status: "running"}, Ready, "no readiness endpoint or HEALTHCHECK"},

	// A general container: running for the settle period.
	{Observation{Status: "running", Settle: 3 * time.Second}, Waiting, "keeps running for 3s"},
	{Observation{Status: "running", Settle: 3 * time.Second, Watched: 2999 * time.Millisecond}, Waiting, "keeps running for 3s"},
	{Observation{Status: "running", Settle: 3 * time.Second, Watched: 3 * time.Second}, Ready, "still running after 3s"},
	{Observation{Status: "exited", ExitCode: 1, Settle: 3 * time.Second, Watched: time.Second}, Failed, "exited with code 1"},
	{Observation{Status: "running", Restarts: 1, Settle: 3 * time.Second, Watched: 5 * time.Second}, Failed, "restarted 1 time(s)"},
	// The settle period is for neither endpoint nor HEALTHCHECK.
	{Observation{Status: "running", Health: "healthy", Settle: 3 * time.Second}, Ready, "HEALTHCHECK reports healthy"},
	{Observation{Status: "running", Probed: true, HTTPStatus: 200, Settle: 3 * time.Second}, Ready, "answered 200"},
}

func TestJudge(t *testing.T) {
	for _, tc := range judgeCases {
		got, why := Judge(tc.o)
		if got != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("Judge(%+v) = %v, %q; want %v, %q", tc.o, got, why, tc.want, tc.why)
		}
	}
}

var lastLinesCases = []struct {
	log  string
	n    int
	want []string
}{
	{"", 5, []string{}},
	{"\n\n \n", 5, []string{}},
	{"a\nb\nc\n", 2, []string{"b", "c"}},
	{"a\nb\nc", 5, []string{"a", "b", "c"}},
	{"a\n\n  \nb\n\n", 5, []string{"a", "b"}},
	{"a\r\nb\r\n", 5, []string{"a", "b"}},
	{"a\r\n\r\n", 5, []string{"a"}},
	{"  indented\ttab  \n", 1, []string{"  indented\ttab  "}},
	{"x\ny\n", 0, []string{}},
	{"x\ny\n", -1, []string{}},
	{"torch.OutOfMemoryError: CUDA out of memory.\n", 1, []string{"torch.OutOfMemoryError: CUDA out of memory."}},
}

func TestLastLines(t *testing.T) {
	for _, tc := range lastLinesCases {
		got := LastLines(tc.log, tc.n)
		if got == nil || !slices.Equal(got, tc.want) {
			t.Errorf("LastLines(%q, %d) = %#v, want %q", tc.log, tc.n, got, tc.want)
		}
	}
}
