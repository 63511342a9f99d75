package provider

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func sshObject(t *testing.T, set map[string]attr.Value) types.Object {
	vals := map[string]attr.Value{}
	for name, typ := range sshAttrTypes() {
		vals[name] = nullOf(typ)
	}
	for k, v := range set {
		vals[k] = v
	}
	obj, diags := types.ObjectValue(sshAttrTypes(), vals)
	if diags.HasError() {
		t.Fatal(diags)
	}
	return obj
}

// The resource's own values win, then the provider block, then MCPAI_SSH_*.
func TestSSHPrecedence(t *testing.T) {
	env := map[string]string{
		"MCPAI_SSH_USER":        "env-user",
		"MCPAI_SSH_PORT":        "2202",
		"MCPAI_SSH_PRIVATE_KEY": "env-key",
		"MCPAI_SSH_KNOWN_HOSTS": "env-known-hosts",
		"MCPAI_SSH_SUDO":        "true",
		"MCPAI_SSH_TIMEOUT":     "7s",
	}
	defaults := sshOptionsModel{Bastion: types.ObjectNull(bastionAttrTypes())}
	defaults.endpointModel = endpointModelFrom(map[string]attr.Value{})
	defaults.Sudo, defaults.Timeout = types.BoolNull(), types.StringNull()
	defaults.User = types.StringValue("provider-user")
	if diags := defaults.applyEnv(func(k string) string { return env[k] }); diags.HasError() {
		t.Fatal(diags)
	}
	obj := sshObject(t, map[string]attr.Value{
		"host":        types.StringValue("10.0.0.5"),
		"private_key": types.StringValue("resource-key"),
	})
	cfg, diags := remoteConfig(obj, defaults)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if cfg.Host != "10.0.0.5" || cfg.PrivateKey != "resource-key" || cfg.User != "provider-user" ||
		cfg.Port != 2202 || cfg.KnownHosts != "env-known-hosts" || !cfg.Sudo || cfg.Timeout != 7*time.Second {
		t.Errorf("resolved %+v", cfg)
	}
}

func TestSSHEnvRejectsBadValues(t *testing.T) {
	for k, v := range map[string]string{"MCPAI_SSH_PORT": "0", "MCPAI_SSH_SUDO": "maybe"} {
		d := sshOptionsModel{}
		d.endpointModel = endpointModelFrom(map[string]attr.Value{})
		d.Sudo, d.Timeout = types.BoolNull(), types.StringNull()
		if diags := d.applyEnv(func(name string) string {
			if name == k {
				return v
			}
			return ""
		}); !diags.HasError() {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}

// A bastion's unset credentials come from the target; its pinned key and
// port are its own.
func TestBastionFallsBackToTarget(t *testing.T) {
	bastion := map[string]attr.Value{}
	for name, typ := range bastionAttrTypes() {
		bastion[name] = nullOf(typ)
	}
	bastion["host"] = types.StringValue("jump.example.com")
	obj := sshObject(t, map[string]attr.Value{
		"host":        types.StringValue("10.0.0.5"),
		"port":        types.Int64Value(2222),
		"user":        types.StringValue("deploy"),
		"private_key": types.StringValue("key"),
		"host_key":    types.StringValue("ssh-ed25519 AAAA target"),
		"bastion":     types.ObjectValueMust(bastionAttrTypes(), bastion),
	})
	defaults := sshOptionsModel{Bastion: types.ObjectNull(bastionAttrTypes())}
	defaults.endpointModel = endpointModelFrom(map[string]attr.Value{})
	cfg, diags := remoteConfig(obj, defaults)
	if diags.HasError() {
		t.Fatal(diags)
	}
	b := cfg.Bastion
	if b == nil || b.Host != "jump.example.com" || b.User != "deploy" || b.PrivateKey != "key" || b.HostKey != "" || b.Port != 0 {
		t.Errorf("bastion resolved to %+v", b)
	}
}

// The target's password, from the resource or the provider block, never
// reaches the bastion: a bastion with no credentials of its own is an error,
// and one with a key of its own or the target's uses that alone.
func TestBastionNeverInheritsPassword(t *testing.T) {
	bastionWith := func(own map[string]attr.Value) types.Object {
		b := map[string]attr.Value{}
		for name, typ := range bastionAttrTypes() {
			b[name] = nullOf(typ)
		}
		b["host"] = types.StringValue("jump.example.com")
		maps.Copy(b, own)
		return types.ObjectValueMust(bastionAttrTypes(), b)
	}
	defaults := sshOptionsModel{Bastion: types.ObjectNull(bastionAttrTypes())}
	defaults.endpointModel = endpointModelFrom(map[string]attr.Value{})
	defaults.Password = types.StringValue("provider-password")
	for _, tt := range []struct {
		name         string
		target       map[string]attr.Value
		bastion      map[string]attr.Value
		wantPassword string
		wantKey      string
	}{
		{name: "password only", target: map[string]attr.Value{"password": types.StringValue("target-password")}},
		{name: "provider password only", target: map[string]attr.Value{}},
		{name: "target key and password", target: map[string]attr.Value{"password": types.StringValue("target-password"), "private_key": types.StringValue("key")}, wantKey: "key"},
		{name: "bastion's own password", target: map[string]attr.Value{"password": types.StringValue("target-password")},
			bastion: map[string]attr.Value{"password": types.StringValue("jump-password")}, wantPassword: "jump-password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target := map[string]attr.Value{"host": types.StringValue("10.0.0.5"), "bastion": bastionWith(tt.bastion)}
			maps.Copy(target, tt.target)
			cfg, diags := remoteConfig(sshObject(t, target), defaults)
			if tt.wantKey == "" && tt.wantPassword == "" {
				if !diags.HasError() || !strings.Contains(diags[0].Detail(), "never uses the target's password") || cfg.Bastion != nil {
					t.Fatalf("a bastion without credentials of its own was accepted: %v", diags)
				}
				return
			}
			if diags.HasError() {
				t.Fatal(diags)
			}
			if b := cfg.Bastion; b == nil || b.Password != tt.wantPassword || b.PrivateKey != tt.wantKey {
				t.Errorf("bastion password %q, key %q; want %q, %q", b.Password, b.PrivateKey, tt.wantPassword, tt.wantKey)
			}
		})
	}
}

func TestSplitHostPort(t *testing.T) {
	for in, want := range map[string]struct {
		host string
		port int
		ok   bool
	}{
		"10.0.0.5":      {"10.0.0.5", 0, false},
		"10.0.0.5:2222": {"10.0.0.5", 2222, true},
		"[fe80::1]:22":  {"fe80::1", 22, true},
		"fe80::1":       {"fe80::1", 0, false},
		"host:notaport": {"host:notaport", 0, false},
	} {
		h, p, ok := splitHostPort(in)
		if h != want.host || p != want.port || ok != want.ok {
			t.Errorf("splitHostPort(%q) = %q %d %v", in, h, p, ok)
		}
	}
}
