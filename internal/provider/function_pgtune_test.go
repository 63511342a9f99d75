package provider

import (
	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"

	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/mcpai/terraform-provider-mcpai/internal/pgtune"
)

// functionConfig is a configuration that needs no host: functions run
// without the provider being configured.
func functionConfig(body string) string {
	return `terraform {
  required_providers {
    mcpai = { source = "mcpai/mcpai" }
  }
}
` + body
}

// settingsExact is a check for exactly the settings Compute gives for in;
// pgtune's own tests pin Compute against PGTune.
func settingsExact(t *testing.T, in pgtune.Input) knownvalue.Check {
	t.Helper()
	settings, err := pgtune.Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	checks := make(map[string]knownvalue.Check, len(settings))
	for k, v := range settings {
		checks[k] = knownvalue.StringExact(v)
	}
	return knownvalue.MapExact(checks)
}

func TestPgtuneFunction(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: functionConfig(`
output "full" {
  value = provider::mcpai::pgtune({
    db_version     = 18
    os_type        = "linux"
    db_type        = "web"
    total_memory   = "16GB"
    cpu_num        = 8
    connection_num = 200
    hd_type        = "ssd"
    db_size        = "mid_ram"
  })
}

output "defaults" {
  value = provider::mcpai::pgtune({ db_version = 17, total_memory = "16GB" })
}

# Nulls take the defaults, as a module's optional variables pass them.
output "nulls" {
  value = provider::mcpai::pgtune({
    db_version     = 16
    total_memory   = "8GB"
    os_type        = null
    db_type        = "dw"
    cpu_num        = null
    connection_num = null
    hd_type        = "hdd"
    db_size        = null
  })
}

# A map(string), as tomap makes of mixed values, reads the same.
output "map" {
  value = provider::mcpai::pgtune(tomap({ db_version = 15, total_memory = "4GB", cpu_num = "4", os_type = "windows" }))
}

# Unknown until terraform_data is created: Terraform calls the function
# once the input is known.
resource "terraform_data" "memory" {
  input = "64GB"
}

output "unknown" {
  value = provider::mcpai::pgtune({ db_version = 18, total_memory = terraform_data.memory.output, os_type = "mac", cpu_num = 32 })
}
`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("full", knownvalue.MapExact(map[string]knownvalue.Check{
						"max_connections":                  knownvalue.StringExact("200"),
						"shared_buffers":                   knownvalue.StringExact("4GB"),
						"effective_cache_size":             knownvalue.StringExact("12GB"),
						"maintenance_work_mem":             knownvalue.StringExact("1GB"),
						"checkpoint_completion_target":     knownvalue.StringExact("0.9"),
						"wal_buffers":                      knownvalue.StringExact("16MB"),
						"default_statistics_target":        knownvalue.StringExact("100"),
						"random_page_cost":                 knownvalue.StringExact("1.1"),
						"effective_io_concurrency":         knownvalue.StringExact("200"),
						"work_mem":                         knownvalue.StringExact("20164kB"),
						"huge_pages":                       knownvalue.StringExact("try"),
						"jit":                              knownvalue.StringExact("off"),
						"wal_compression":                  knownvalue.StringExact("lz4"),
						"io_method":                        knownvalue.StringExact("io_uring"),
						"min_wal_size":                     knownvalue.StringExact("1GB"),
						"max_wal_size":                     knownvalue.StringExact("4GB"),
						"max_worker_processes":             knownvalue.StringExact("8"),
						"max_parallel_workers_per_gather":  knownvalue.StringExact("4"),
						"max_parallel_workers":             knownvalue.StringExact("8"),
						"max_parallel_maintenance_workers": knownvalue.StringExact("4"),
					})),
					statecheck.ExpectKnownOutputValue("defaults", settingsExact(t, pgtune.Input{
						DBVersion: 17, OSType: "linux", DBType: "web", TotalMemory: "16GB", HDType: "ssd", DBSize: "mid_ram",
					})),
					statecheck.ExpectKnownOutputValue("nulls", settingsExact(t, pgtune.Input{DBVersion: 16, TotalMemory: "8GB", DBType: "dw", HDType: "hdd"})),
					statecheck.ExpectKnownOutputValue("map", settingsExact(t, pgtune.Input{DBVersion: 15, TotalMemory: "4GB", CPUNum: 4, OSType: "windows"})),
					statecheck.ExpectKnownOutputValue("unknown", settingsExact(t, pgtune.Input{DBVersion: 18, TotalMemory: "64GB", OSType: "mac", CPUNum: 32})),
				},
			},
		},
	})
}

func TestPgtuneFunction_invalid(t *testing.T) {
	tests := []struct {
		name, arg, want string
	}{
		{"bad value", `{ db_version = 17, total_memory = "16GB", hd_type = "floppy" }`, `hd_type: must be one of ssd, hdd, san, nvme; got "floppy"`},
		{"only total_memory", `{ total_memory = "16GB" }`, "db_version: required: a PostgreSQL major version from 10 to 18"},
		{"memory without unit", `{ db_version = 17, total_memory = "16" }`, `total_memory: must be a whole number followed by MB, GB or TB`},
		{"memory below the minimum", `{ db_version = 17, total_memory = "256MB" }`, "total_memory: must be at least 512MB"},
		{"too few connections", `{ db_version = 17, total_memory = "16GB", connection_num = 10 }`, "connection_num: must be from 20 to 999999"},
		{"fractional CPUs", `{ db_version = 17, total_memory = "16GB", cpu_num = 2.5 }`, "cpu_num: must be a whole number; got 2.5"},
		{"number for a string", `{ db_version = 17, total_memory = 16 }`, "total_memory: must be a string"},
		{"misspelt attribute", `{ db_version = 17, total_memory = "16GB", cpu_count = 8 }`, "cpu_count: not an attribute of the input; they are connection_num, cpu_num,"},
		{"not an object", `"16GB"`, "input: must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      functionConfig(`output "x" { value = provider::mcpai::pgtune(` + tt.arg + `) }`),
					ExpectError: acctest.ErrorWords(tt.want),
				}},
			})
		})
	}
}
