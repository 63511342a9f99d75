package remote

import (
	"fmt"
	"strings"
	"testing"
)

// No formatting verb prints a credential, whichever part of the
// configuration a message or log line formats.
func TestConfigFormattingHidesSecrets(t *testing.T) {
	secrets := Endpoint{User: "deploy", Host: "10.0.0.5", Password: "pw-target", PrivateKey: "KEY-target", PrivateKeyPassphrase: "pass-target"}
	bastion := Endpoint{Host: "jump", Password: "pw-jump", PrivateKey: "KEY-jump"}
	cfg := Config{Endpoint: secrets, Bastion: &bastion}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{cfg, &cfg, cfg.Endpoint, cfg.Bastion, *cfg.Bastion, []*Endpoint{cfg.Bastion}} {
			out := fmt.Sprintf(verb, v)
			for _, s := range []string{"pw-", "KEY-", "pass-target"} {
				if strings.Contains(out, s) {
					t.Errorf("fmt %s of %T shows a secret: %s", verb, v, out)
				}
			}
		}
	}
	if got, want := fmt.Sprint(cfg), "deploy@10.0.0.5:22 via root@jump:22"; got != want {
		t.Errorf("Config prints as %q, want %q", got, want)
	}
}
