package provider

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// pullRegistryPorts are the host loopback ports of the test registries, per
// engine: the plain one, and the one with basic auth on the next port.
var pullRegistryPorts = map[string]int{"distribution": 5110, "current": 5120}

// TestAccGPUModelRunner_pull: an image the host lacks is pulled from a
// registry before the container is created. The registry is
// acctest.RegistryImage, run on the host itself and published on its
// loopback, which dockerd reaches over plain HTTP (127.0.0.0/8 is an
// insecure range by default), so no traffic leaves the host. The container
// runs the pulled image, image_digest is the registry's manifest digest
// (what docker push reported), and the pull's progress, layer by layer, is
// in the provider's log. A registry that asks for credentials refuses the
// pull without registry_auth or with a wrong password (nothing is created,
// the image is not there) and serves it with them; the password is in no
// line of the provider's log.
func TestAccGPUModelRunner_pull(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h acctest.Host) {
		port, ok := pullRegistryPorts[h.DockerEngine]
		if !ok {
			port = 5130
		}
		const name = "mcpai-pull"
		plain, private := "mcpai-pull-registry", "mcpai-pull-registry-auth"
		ref := fmt.Sprintf("127.0.0.1:%d/mcpai/model:v1", port)
		privateRef := fmt.Sprintf("127.0.0.1:%d/mcpai/model:v1", port+1)
		user, password := "mcpai-puller", fmt.Sprintf("pw-%d", time.Now().UnixNano())

		cleanup := func() {
			h.RemoveContainers(t, name)
			_, _ = h.DockerOutput("rm", "-f", plain, private, pushWork)
			// Images of their own (pushAway): their base stays as
			// acctest.ModelImageReady.
			_, _ = h.DockerOutput("rmi", ref, privateRef)
		}
		cleanup()
		t.Cleanup(cleanup)

		// The provider runs in the test process: its tflog output goes to
		// the test sink, which TF_LOG (level) and TF_LOG_PATH (file) set;
		// TF_ACC_LOG_PATH and TF_LOG_PATH_MASK would take precedence.
		// TF_LOG_PROVIDER only sets what the Terraform CLI logs of providers
		// it starts itself, which this one is not. The test framework's own
		// log lines (which quote each step's configuration, password and
		// all) are left out, so that the file holds what the provider and
		// its SDKs log.
		logFile := filepath.Join(t.TempDir(), "provider.log")
		t.Setenv("TF_LOG", "TRACE")
		t.Setenv("TF_LOG_PATH", logFile)
		t.Setenv("TF_ACC_LOG_PATH", "")
		t.Setenv("TF_LOG_PATH_MASK", "")
		t.Setenv("TF_LOG_SDK_HELPER_RESOURCE", "OFF")

		startRegistry(t, h, plain, port)
		digest := pushAway(t, h, ref, "")

		config := func(image, auth string) string {
			return runnerConfig(t, h, fmt.Sprintf(`
  name   = %q
  image  = %q
  server = "vllm"
  env    = { MODELSERVER_READY_AFTER = "1s" }
%s`, name, image, auth))
		}
		gone := func(t *testing.T) resource.TestCheckFunc {
			return func(*terraform.State) error {
				if _, ok := h.InspectContainer(t, name); ok {
					return fmt.Errorf("container %s is still there", name)
				}
				return nil
			}
		}

		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			CheckDestroy:             gone(t),
			Steps: []resource.TestStep{{
				Config: config(ref, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
					statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("image"), knownvalue.StringExact(ref)),
				},
				Check: resource.ComposeTestCheckFunc(
					checkPulled(t, h, name, ref, digest),
					func(*terraform.State) error {
						return pullLogged(logFile, ref, digest)
					},
				),
			}},
		})

		// A registry that asks for credentials, with another image.
		startRegistry(t, h, private, port+1, "MCPAI_REGISTRY_USER="+user, "MCPAI_REGISTRY_PASSWORD="+password)
		privateDigest := pushAway(t, h, privateRef, basicAuthConfig(t, port+1, user, password))
		notPulled := func() {
			if _, ok := h.InspectContainer(t, name); ok {
				t.Errorf("a refused pull created container %s", name)
			}
			if out, err := h.DockerOutput("image", "inspect", privateRef); err == nil {
				t.Errorf("a refused pull left image %s: %s", privateRef, out)
			}
		}
		refused := func(auth string) resource.TestStep {
			return resource.TestStep{
				PreConfig: notPulled,
				Config:    config(privateRef, auth),
				ExpectError: errorParts("Image Not Available", privateRef, "pulling it failed",
					"give registry_auth for a private registry", "Nothing was created"),
			}
		}
		withAuth := func(pw string) string {
			return fmt.Sprintf("  registry_auth = { username = %q, password = %q }\n", user, pw)
		}
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			CheckDestroy:             gone(t),
			Steps: []resource.TestStep{
				refused(""),
				refused(withAuth("wrong-" + password)),
				{
					PreConfig: notPulled,
					Config:    config(privateRef, withAuth(password)),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(accRunnerAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
					},
					Check: resource.ComposeTestCheckFunc(
						checkPulled(t, h, name, privateRef, privateDigest),
						func(*terraform.State) error {
							if err := pullLogged(logFile, privateRef, privateDigest); err != nil {
								return err
							}
							raw, err := os.ReadFile(logFile)
							if err != nil {
								return err
							}
							var leaks []string
							for l := range strings.Lines(string(raw)) {
								if strings.Contains(l, password) {
									leaks = append(leaks, strings.ReplaceAll(l, password, "<password>"))
								}
							}
							if len(leaks) > 0 {
								return fmt.Errorf("the registry password is in %d lines of the provider's log:\n%s", len(leaks), strings.Join(leaks, ""))
							}
							return nil
						},
					),
				},
			},
		})
		// Each refused pull met the registry's challenge.
		if logs, _ := h.DockerOutput("logs", private); !strings.Contains(logs, "401 UNAUTHORIZED") {
			t.Errorf("registry %s refused nothing; its log:\n%s", private, logs)
		}
	})
}

// startRegistry runs acctest.RegistryImage as container name on h, published
// on the host's 127.0.0.1:port, with the given environment, and waits until
// it accepts connections.
func startRegistry(t *testing.T, h acctest.Host, name string, port int, env ...string) {
	t.Helper()
	args := []string{"run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:5000", port)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	h.Docker(t, append(args, acctest.RegistryImage)...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs, _ := h.DockerOutput("logs", name)
		if strings.Contains(logs, "registry: listening on") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry %s did not start in 10 s; its log:\n%s", name, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pushWork is the container pushAway makes an image from.
const pushWork = "mcpai-pull-commit"

var pushedDigestRE = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

// pushAway makes an image that only this call has made, ref: a layer with a
// file /mcpai-pull-nonce (unique content) on top of acctest.ModelImageReady,
// so that it runs as that image does. It pushes it (with the docker CLI
// configuration folder dockerConfig, "" for none) and removes it, so that
// the host lacks ref and its top layer, and only the registry has them. It
// returns the manifest digest the push reported.
func pushAway(t *testing.T, h acctest.Host, ref, dockerConfig string) string {
	t.Helper()
	const work = pushWork
	_, _ = h.DockerOutput("rm", "-f", work)
	h.Docker(t, "create", "--name", work, acctest.ModelImageReady)
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	nonce := fmt.Sprintf("%s %d\n", ref, time.Now().UnixNano())
	if err := tw.WriteHeader(&tar.Header{Name: "mcpai-pull-nonce", Mode: 0o644, Size: int64(len(nonce)), ModTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(nonce)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	cp := h.DockerCommand("cp", "-", work+":/")
	cp.Stdin = &layer
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("docker cp into %s: %v: %s", work, err, out)
	}
	h.Docker(t, "commit", work, ref)
	h.Docker(t, "rm", work)

	push := h.DockerCommand("push", ref)
	if dockerConfig != "" {
		push.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	}
	out, err := push.CombinedOutput()
	if err != nil {
		t.Fatalf("docker push %s: %v: %s", ref, err, out)
	}
	m := pushedDigestRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("docker push %s reported no digest: %s", ref, out)
	}
	h.Docker(t, "rmi", ref)
	if out, err := h.DockerOutput("image", "inspect", ref); err == nil {
		t.Fatalf("the host still has %s after docker rmi: %s", ref, out)
	}
	return m[1]
}

// basicAuthConfig is a docker CLI configuration folder with credentials for
// the registry at 127.0.0.1:port.
func basicAuthConfig(t *testing.T, port int, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{
		fmt.Sprintf("127.0.0.1:%d", port): map[string]string{"username": user, "password": password},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkPulled: container name runs the image ref, which the host now has
// with the registry's digest among its repo digests, and the state's
// image_id and image_digest are that image and that digest.
//
// Each pull is of an image of its own (pushAway), which has no other repo
// digest: image_digest is the image's first repo digest
// (engine.InspectImage), whatever its repository, so where one image came
// from two registries it may name the other one.
func checkPulled(t *testing.T, h acctest.Host, name, ref, digest string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[accRunnerAddr]
		if !ok {
			return fmt.Errorf("%s is not in the state", accRunnerAddr)
		}
		var img []struct {
			ID          string `json:"Id"`
			RepoDigests []string
		}
		out, err := h.DockerOutput("image", "inspect", ref)
		if err != nil {
			return fmt.Errorf("the host has no image %s after the apply: %w: %s", ref, err, out)
		}
		if err := json.Unmarshal([]byte(out), &img); err != nil {
			return fmt.Errorf("docker image inspect %s: %w: %s", ref, err, out)
		}
		if len(img) != 1 {
			return fmt.Errorf("docker image inspect %s: %d images: %s", ref, len(img), out)
		}
		repo := ref[:strings.LastIndex(ref, ":")]
		want := repo + "@" + digest
		if !slices.Contains(img[0].RepoDigests, want) {
			return fmt.Errorf("image %s has repo digests %q, not the pushed %s", ref, img[0].RepoDigests, want)
		}
		if got := rs.Primary.Attributes["image_digest"]; got != want {
			return fmt.Errorf("image_digest = %q, want %q (docker inspect: %q)", got, want, img[0].RepoDigests)
		}
		if got := rs.Primary.Attributes["image_id"]; got != img[0].ID {
			return fmt.Errorf("image_id = %q, want %s", got, img[0].ID)
		}
		c := h.Docker(t, "inspect", "--type", "container", "--format", "{{.Config.Image}}|{{.Image}}|{{.State.Running}}", name)
		if c != ref+"|"+img[0].ID+"|true" {
			return fmt.Errorf("container %s is %q (image|image id|running), want %s|%s|true", name, c, ref, img[0].ID)
		}
		return nil
	}
}

// pullLogged: the provider's log has its INFO pull progress lines for ref:
// a layer's "Pull complete" (the host lacked the top layer) and the
// engine's "Digest: <digest>".
func pullLogged(logFile, ref, digest string) error {
	raw, err := os.ReadFile(logFile)
	if err != nil {
		return fmt.Errorf("no provider log: %w", err)
	}
	var lines []string
	for l := range strings.Lines(string(raw)) {
		if strings.Contains(l, "[INFO]") && strings.Contains(l, "pull progress") && strings.Contains(l, "image="+ref) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("no INFO pull progress line for %s in the provider log %s", ref, logFile)
	}
	for _, want := range []string{" Pull complete\"", "\"Digest: " + digest + "\""} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) }) {
			return fmt.Errorf("no pull progress line for %s has %s:\n%s", ref, want, strings.Join(lines, ""))
		}
	}
	return nil
}
