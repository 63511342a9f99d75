package moduledocs

import (
	"slices"
	"strings"
	"testing"
)

const testVariables = `
variable "hosts" {
  description = "Addresses of the hosts."
  type        = set(string)
}

variable "ssh" {
  description = "How to reach the hosts."
  type = object({
    user = optional(string)
    port = optional(number, 22)
    bastion = optional(object({
      host = string
    }))
  })
  default  = {}
  nullable = false
}

variable "password" {
  description = <<-EOT
    The password.

    Kept out of logs | plans.
  EOT
  type        = string
  default     = null
  sensitive   = true
}

variable "limits" {
  description = "Soft and hard limits; see <limits.conf>."
  type        = object({ soft = number, hard = number })
  default     = { soft = 65536, hard = 1048576 }
}

variable "sysctls" {
  description = "Extra sysctls."
  type        = map(string)
  default     = { "net.core.somaxconn" = "4096", vm_swappiness = "10" }
}

variable "ratio" {
  description = "A share."
  type        = number
  default     = 0.5
}

variable "tags" {
  description = "A tuple."
  type        = tuple([string, number])
  default     = ["a", -1]
}
`

const testOutputs = `
output "settings" {
  description = "What was applied."
  value       = var.sysctls
}

output "token" {
  description = "A secret."
  value       = var.password
  sensitive   = true
}
`

func parseTest(t *testing.T) Module {
	t.Helper()
	m, err := Parse("demo", map[string][]byte{
		"outputs.tf":   []byte(testOutputs),
		"variables.tf": []byte(testVariables),
		"main.tf": []byte(`locals { x = 1 }

module "kernel" {
  source = "../host-tuning"
}

module "check_kernel" {
  source = "../host-tuning"
}

module "remote" {
  source  = "mcpai/stack/mcpai//modules/redis"
  version = "~> 0.1"
}

module "nested" {
  source = "../other/modules/x"
}

module "db" {
  source = "../postgres"
}
`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParse(t *testing.T) {
	m := parseTest(t)
	type want struct {
		name, typ, short, def string
		required, sensitive   bool
	}
	wants := []want{
		{"hosts", "set(string)", "set(string)", "", true, false},
		{"ssh", "object({ user = optional(string), port = optional(number, 22), bastion = optional(object({ host = string })) })", "object({...})", "{}", false, false},
		{"password", "string", "string", "null", false, true},
		{"limits", "object({ soft = number, hard = number })", "object({...})", "{ soft = 65536, hard = 1048576 }", false, false},
		{"sysctls", "map(string)", "map(string)", `{ "net.core.somaxconn" = "4096", vm_swappiness = "10" }`, false, false},
		{"ratio", "number", "number", "0.5", false, false},
		{"tags", "tuple([string, number])", "tuple([string, number])", `["a", -1]`, false, false},
	}
	if len(m.Variables) != len(wants) {
		t.Fatalf("got %d variables, want %d", len(m.Variables), len(wants))
	}
	for i, w := range wants {
		v := m.Variables[i]
		if v.Name != w.name || v.Type.flat() != w.typ || v.Type.short() != w.short || v.Required != w.required || v.Sensitive != w.sensitive {
			t.Errorf("variable %d: got %s %q %q required=%v sensitive=%v, want %+v", i, v.Name, v.Type.flat(), v.Type.short(), v.Required, v.Sensitive, w)
		}
		if !w.required && v.Default.flat() != w.def {
			t.Errorf("%s: default %q, want %q", w.name, v.Default.flat(), w.def)
		}
	}
	if got := m.Variables[2].Description; got != "The password.\n\nKept out of logs | plans.\n" {
		t.Errorf("heredoc description: %q", got)
	}
	if want := []string{"host-tuning", "postgres"}; !slices.Equal(m.Calls, want) {
		t.Errorf("calls %v, want %v", m.Calls, want)
	}
	if len(m.Outputs) != 2 || m.Outputs[0].Name != "settings" || m.Outputs[0].Sensitive || m.Outputs[1].Name != "token" || !m.Outputs[1].Sensitive {
		t.Errorf("outputs: %+v", m.Outputs)
	}
}

func TestFormatAttr(t *testing.T) {
	m := parseTest(t)
	want := `type = object({
  user = optional(string)
  port = optional(number, 22)
  bastion = optional(object({
    host = string
  }))
})`
	if got := formatAttr("type", m.Variables[1].Type); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	list := node{open: "[", close: "]", items: []item{{val: m.Variables[3].Default}}}
	want = `default = [
  {
    soft = 65536
    hard = 1048576
  },
]`
	if got := formatAttr("default", list); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"no description": {`variable "a" { type = string }`, `variable "a" has no description`},
		"empty description": {`variable "a" {
  description = ""
  type = string
}`, "description must be a non-empty string"},
		"no type": {`variable "a" { description = "x" }`, `variable "a" has no type`},
		"not a type": {`variable "a" {
  description = "x"
  type = strang
}`, `variable "a": type:`},
		"output no description": {`output "o" { value = 1 }`, `output "o" has no description`},
		"sensitive not bool": {`output "o" {
  description = "x"
  value = 1
  sensitive = "yes"
}`, "sensitive must be true or false"},
		"syntax": {`variable "a" {`, "variables.tf:1"},
		"default not literal": {`variable "a" {
  description = "x"
  type = string
  default = var.b
}`, `variable "a": default:`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("m", map[string][]byte{"variables.tf": []byte(tc.src)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(testVariables)
	f.Add(testOutputs)
	f.Add(`variable "a" { type = list(object({ b = optional(map(string), { x = "y" }) })) }`)
	f.Fuzz(func(t *testing.T, src string) {
		m, err := Parse("m", map[string][]byte{"x.tf": []byte(src)})
		if err != nil {
			return
		}
		// Whatever parses renders, and renders the same twice.
		once, err := UpdateReadme("# m\n", m)
		if err != nil {
			t.Fatal(err)
		}
		if twice, err := UpdateReadme(once, m); err != nil || twice != once {
			t.Fatalf("not idempotent: %v", err)
		}
	})
}
