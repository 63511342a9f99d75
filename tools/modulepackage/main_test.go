package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testLayers = []string{"docker-host", "host-tuning", "redis"}

func TestRewriteSources(t *testing.T) {
	for name, tc := range map[string]struct {
		in, prefix, want, err string
	}{
		"sibling layers, formatting kept": {
			in: `# A comment that stays.
module "kernel" {
  source   = "../host-tuning" # trailing comment
  for_each = var.hosts

  hosts = [each.value.address]
}

module "check_redis" {
  source = "../redis"
}
`,
			prefix: "./modules/",
			want: `# A comment that stays.
module "kernel" {
  source   = "./modules/host-tuning" # trailing comment
  for_each = var.hosts

  hosts = [each.value.address]
}

module "check_redis" {
  source = "./modules/redis"
}
`,
		},
		"a layer calling a sibling keeps its path": {
			in:     "module \"d\" {\n  source = \"../docker-host\"\n}\n",
			prefix: "../",
			want:   "module \"d\" {\n  source = \"../docker-host\"\n}\n",
		},
		"registry and git sources left alone": {
			in:     "module \"r\" {\n  source  = \"mcpai/stack/mcpai//modules/redis\"\n  version = \"~> 0.1\"\n}\n\nmodule \"g\" {\n  source = \"git::https://example.com/x.git//m?ref=v1\"\n}\n",
			prefix: "./modules/",
			want:   "module \"r\" {\n  source  = \"mcpai/stack/mcpai//modules/redis\"\n  version = \"~> 0.1\"\n}\n\nmodule \"g\" {\n  source = \"git::https://example.com/x.git//m?ref=v1\"\n}\n",
		},
		"resources and other blocks untouched": {
			in:     "resource \"x\" \"y\" {\n  source = \"../redis\"\n}\n",
			prefix: "./modules/",
			want:   "resource \"x\" \"y\" {\n  source = \"../redis\"\n}\n",
		},
		"a module not in the package": {
			in:     "module \"x\" {\n  source = \"../elsewhere\"\n}\n",
			prefix: "./modules/",
			err:    `module "x" calls "../elsewhere": the package holds only the layers docker-host, host-tuning, redis`,
		},
		"a path out of the modules": {
			in:     "module \"x\" {\n  source = \"../../examples/stack\"\n}\n",
			prefix: "./modules/",
			err:    `calls "../../examples/stack"`,
		},
		"a path inside the module": {
			in:     "module \"x\" {\n  source = \"./sub\"\n}\n",
			prefix: "./modules/",
			err:    `calls "./sub"`,
		},
		"no source": {
			in:     "module \"x\" {\n}\n",
			prefix: "./modules/",
			err:    `module "x" has no source`,
		},
		"not a constant": {
			in:     "module \"x\" {\n  source = \"../${var.layer}\"\n}\n",
			prefix: "./modules/",
			err:    "not a constant string",
		},
		"not HCL": {
			in:     "module \"x\" {\n",
			prefix: "./modules/",
			err:    "main.tf:",
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := rewriteSources("main.tf", []byte(tc.in), tc.prefix, testLayers)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	for in, want := range map[string]string{
		"# redis\n\nApplies the settings to one server with `x`:\n\n- a\n": "Applies the settings to one server with `x`.",
		"# a\n\nFirst line\ngoes on. Second sentence.\n":                   "First line goes on.",
		"# a\n\nOne | two\n\n## Inputs\n":                                  `One \| two`,
		"# a\n":                                                            "",
	} {
		if got := summary([]byte(in)); got != want {
			t.Errorf("summary(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMinorConstraint(t *testing.T) {
	for in, want := range map[string]string{"0.1.0": "~> 0.1", "1.12.3": "~> 1.12", "2.0.0-rc.1": "~> 2.0"} {
		if got := minorConstraint(in); got != want {
			t.Errorf("minorConstraint(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testRepo lays out a repository with a stack calling two layers.
func testRepo(t *testing.T) options {
	t.Helper()
	root := t.TempDir()
	modules := filepath.Join(root, "modules")
	writeFile(t, filepath.Join(modules, "mcpai-stack", "main.tf"), "module \"redis\" {\n  source = \"../redis\"\n}\n\nmodule \"kernel\" {\n  source = \"../host-tuning\"\n}\n")
	writeFile(t, filepath.Join(modules, "mcpai-stack", "README.md"), "# mcpai-stack\n\nThe whole stack. More.\n")
	writeFile(t, filepath.Join(modules, "mcpai-stack", "tests", "plan.tftest.hcl"), "run \"plan\" {}\n")
	writeFile(t, filepath.Join(modules, "redis", "main.tf"), "resource \"mcpai_redis_config\" \"this\" {}\n")
	writeFile(t, filepath.Join(modules, "redis", "README.md"), "# redis\n\nRedis settings.\n")
	writeFile(t, filepath.Join(modules, "redis", "tests", "redis.tftest.hcl"), "run \"plan\" {}\n")
	writeFile(t, filepath.Join(modules, "redis", "templates", "redis.conf.tftpl"), "maxmemory ${bytes}\n")
	writeFile(t, filepath.Join(modules, "redis", ".terraform.lock.hcl"), "left by a local run\n")
	writeFile(t, filepath.Join(modules, "redis", ".terraform", "modules", "modules.json"), "{}\n")
	writeFile(t, filepath.Join(modules, "redis", "terraform.tfstate"), "{}\n")
	writeFile(t, filepath.Join(modules, "host-tuning", "main.tf"), "module \"net\" {\n  source = \"../redis\"\n}\n")
	writeFile(t, filepath.Join(modules, "host-tuning", "README.md"), "# host-tuning\n\nKernel settings: sysctls.\n")
	writeFile(t, filepath.Join(modules, "no-module", "notes.txt"), "no .tf here\n")
	writeFile(t, filepath.Join(root, "LICENSE"), "the license\n")
	writeFile(t, filepath.Join(root, "CHANGELOG.md"), "# Changelog\n\n## 0.1.0\n")
	return options{
		modules:   modules,
		license:   filepath.Join(root, "LICENSE"),
		changelog: filepath.Join(root, "CHANGELOG.md"),
		version:   "0.1.0",
		out:       filepath.Join(root, "out"),
	}
}

func TestRun(t *testing.T) {
	o := testRepo(t)
	if err := o.run(); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := filepath.WalkDir(o.out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(o.out, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CHANGELOG.md", "LICENSE", "README.md", "VERSION", "main.tf",
		"modules/host-tuning/README.md", "modules/host-tuning/main.tf", "modules/redis/README.md", "modules/redis/main.tf",
		"modules/redis/templates/redis.conf.tftpl"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("package files:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if main := readFile(t, filepath.Join(o.out, "main.tf")); main != "module \"redis\" {\n  source = \"./modules/redis\"\n}\n\nmodule \"kernel\" {\n  source = \"./modules/host-tuning\"\n}\n" {
		t.Errorf("root main.tf:\n%s", main)
	}
	if layer := readFile(t, filepath.Join(o.out, "modules", "host-tuning", "main.tf")); layer != "module \"net\" {\n  source = \"../redis\"\n}\n" {
		t.Errorf("a layer's call of a sibling changed:\n%s", layer)
	}
	if v := readFile(t, filepath.Join(o.out, "VERSION")); v != "0.1.0\n" {
		t.Errorf("VERSION %q", v)
	}
	if c := readFile(t, filepath.Join(o.out, "CHANGELOG.md")); c != "# Changelog\n\n## 0.1.0\n" {
		t.Errorf("CHANGELOG.md %q", c)
	}
	readme := readFile(t, filepath.Join(o.out, "README.md"))
	for _, want := range []string{
		"source  = \"mcpai/stack/mcpai\"\n  version = \"~> 0.1\"\n",
		"| the stack (root) | `mcpai/stack/mcpai` | The whole stack. |\n",
		"| host-tuning | `mcpai/stack/mcpai//modules/host-tuning` | Kernel settings: sysctls. |\n",
		"| redis | `mcpai/stack/mcpai//modules/redis` | Redis settings. |\n",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README lacks %q:\n%s", want, readme)
		}
	}
	if strings.Contains(readme, "](http") {
		t.Errorf("README links outside the package:\n%s", readme)
	}

	// A second release into the same directory is refused.
	if err := o.run(); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("second run into the same directory: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(t *testing.T, o *options)
		want   string
	}{
		"no version": {func(_ *testing.T, o *options) { o.version = "" }, "want a semantic version"},
		"a v prefix": {func(_ *testing.T, o *options) { o.version = "v0.1.0" }, "without the v"},
		"no out":     {func(_ *testing.T, o *options) { o.out = "" }, "-out"},
		"no stack": {func(t *testing.T, o *options) {
			if err := os.RemoveAll(filepath.Join(o.modules, "mcpai-stack")); err != nil {
				t.Fatal(err)
			}
		}, "no mcpai-stack module"},
		"a call out of the package": {func(t *testing.T, o *options) {
			writeFile(t, filepath.Join(o.modules, "mcpai-stack", "extra.tf"), "module \"x\" {\n  source = \"../../examples/x\"\n}\n")
		}, `extra.tf: module "x" calls "../../examples/x"`},
		"a layer's call out of the package": {func(t *testing.T, o *options) {
			writeFile(t, filepath.Join(o.modules, "redis", "extra.tf"), "module \"x\" {\n  source = \"../../x\"\n}\n")
		}, `redis/extra.tf: module "x" calls "../../x"`},
		"no license": {func(t *testing.T, o *options) { o.license = filepath.Join(t.TempDir(), "LICENSE") }, "LICENSE"},
	} {
		t.Run(name, func(t *testing.T) {
			o := testRepo(t)
			tc.change(t, &o)
			err := o.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if _, err := os.Stat(o.out); o.out != "" && !os.IsNotExist(err) {
				t.Errorf("a failed run wrote %s (%v)", o.out, err)
			}
		})
	}
}
