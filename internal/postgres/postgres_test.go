package postgres

import (
	"reflect"
	"strings"
	"testing"
)

// The tables below also seed the fuzz targets in fuzz_test.go.

// pg15 is pg_settings as PostgreSQL 15 reports it on Debian (name, setting,
// unit, vartype, context, min_val, max_val, enumvals), at its defaults.
var pg15 = map[string]Setting{
	"shared_buffers":             {Name: "shared_buffers", Setting: "16384", Unit: "8kB", VarType: "integer", Context: "postmaster", MinVal: "16", MaxVal: "1073741823"},
	"work_mem":                   {Name: "work_mem", Setting: "4096", Unit: "kB", VarType: "integer", Context: "user", MinVal: "64", MaxVal: "2147483647"},
	"maintenance_work_mem":       {Name: "maintenance_work_mem", Setting: "65536", Unit: "kB", VarType: "integer", Context: "user", MinVal: "1024", MaxVal: "2147483647"},
	"effective_cache_size":       {Name: "effective_cache_size", Setting: "524288", Unit: "8kB", VarType: "integer", Context: "user", MinVal: "1", MaxVal: "2147483647"},
	"wal_buffers":                {Name: "wal_buffers", Setting: "512", Unit: "8kB", VarType: "integer", Context: "postmaster", MinVal: "-1", MaxVal: "262143"},
	"checkpoint_timeout":         {Name: "checkpoint_timeout", Setting: "300", Unit: "s", VarType: "integer", Context: "sighup", MinVal: "30", MaxVal: "86400"},
	"log_min_duration_statement": {Name: "log_min_duration_statement", Setting: "-1", Unit: "ms", VarType: "integer", Context: "superuser", MinVal: "-1", MaxVal: "2147483647"},
	"random_page_cost":           {Name: "random_page_cost", Setting: "4", VarType: "real", Context: "user", MinVal: "0", MaxVal: "1.79769e+308"},
	"effective_io_concurrency":   {Name: "effective_io_concurrency", Setting: "1", VarType: "integer", Context: "user", MinVal: "0", MaxVal: "1000"},
	"huge_pages":                 {Name: "huge_pages", Setting: "try", VarType: "enum", Context: "postmaster", EnumVals: []string{"off", "on", "try"}},
	"synchronous_commit":         {Name: "synchronous_commit", Setting: "on", VarType: "enum", Context: "user", EnumVals: []string{"local", "remote_write", "remote_apply", "on", "off"}},
	"jit":                        {Name: "jit", Setting: "on", VarType: "bool", Context: "user"},
	"max_connections":            {Name: "max_connections", Setting: "100", VarType: "integer", Context: "postmaster", MinVal: "1", MaxVal: "262143"},
	"shared_preload_libraries":   {Name: "shared_preload_libraries", Setting: "", VarType: "string", Context: "postmaster"},
	"default_statistics_target":  {Name: "default_statistics_target", Setting: "100", VarType: "integer", Context: "user", MinVal: "1", MaxVal: "10000"},
	"max_wal_size":               {Name: "max_wal_size", Setting: "1024", Unit: "MB", VarType: "integer", Context: "sighup", MinVal: "2", MaxVal: "2147483647"},
	"min_wal_size":               {Name: "min_wal_size", Setting: "80", Unit: "MB", VarType: "integer", Context: "sighup", MinVal: "2", MaxVal: "2147483647"},
	"autovacuum_naptime":         {Name: "autovacuum_naptime", Setting: "60", Unit: "s", VarType: "integer", Context: "sighup", MinVal: "1", MaxVal: "2147483"},
}

type canonicalCase struct {
	setting, in string
	want        string // canonical form: bytes or ms for units, on/off, lower-case choices
	err         string // substring of the error; "" means no error
}

var canonicalCases = []canonicalCase{
	// shared_buffers counts 8kB pages: a bare number is pages.
	{setting: "shared_buffers", in: "4096MB", want: "4.294967296e+09"},
	{setting: "shared_buffers", in: "4GB", want: "4.294967296e+09"},
	{setting: "shared_buffers", in: "4194304kB", want: "4.294967296e+09"},
	{setting: "shared_buffers", in: "524288", want: "4.294967296e+09"},
	{setting: "shared_buffers", in: "4294967296B", want: "4.294967296e+09"},
	{setting: "shared_buffers", in: " 4 GB\t", want: "4.294967296e+09"},
	{setting: "shared_buffers", in: "16384", want: "1.34217728e+08"},
	{setting: "shared_buffers", in: "128MB", want: "1.34217728e+08"},
	{setting: "shared_buffers", in: "128kB", want: "131072"},                                    // 16 pages, the least
	{setting: "shared_buffers", in: "132kB", want: "131072"},                                    // 16.5 pages: rint, half to even
	{setting: "shared_buffers", in: "140kB", want: "147456"},                                    // 17.5 pages: 18
	{setting: "shared_buffers", in: "1TB", want: "1.099511627776e+12"},                          // 134217728 pages
	{setting: "shared_buffers", in: "64kB", err: "between 16 and 1073741823 (in units of 8kB)"}, // 8 pages
	{setting: "shared_buffers", in: "15", err: "out of range"},
	{setting: "shared_buffers", in: "9TB", err: "out of range"},
	{setting: "shared_buffers", in: "4gb", err: `"gb" is not a unit for it; use B, kB, MB, GB, TB`},
	{setting: "shared_buffers", in: "4KB", err: "use B, kB, MB, GB, TB"}, // units are case-sensitive
	{setting: "shared_buffers", in: "8kB8", err: "takes a number with an optional unit (B, kB, MB, GB, TB)"},
	{setting: "shared_buffers", in: "", err: "takes a number"},

	// work_mem counts kB.
	{setting: "work_mem", in: "1GB", want: "1.073741824e+09"},
	{setting: "work_mem", in: "1024MB", want: "1.073741824e+09"},
	{setting: "work_mem", in: "1048576", want: "1.073741824e+09"},
	{setting: "work_mem", in: "65536", want: "6.7108864e+07"},
	{setting: "work_mem", in: "64MB", want: "6.7108864e+07"},
	{setting: "work_mem", in: "4MB", want: "4.194304e+06"},
	{setting: "work_mem", in: "1.5MB", want: "1.572864e+06"}, // 1536kB
	{setting: "work_mem", in: "1e3", want: "1.024e+06"},      // 1000kB
	{setting: "work_mem", in: "+64", want: "65536"},
	{setting: "work_mem", in: "65600B", want: "65536"},          // 64.06kB: 64kB
	{setting: "work_mem", in: "64.5kB", want: "65536"},          // half to even: 64kB
	{setting: "work_mem", in: "65.5kB", want: "67584"},          // half to even: 66kB
	{setting: "work_mem", in: "1.0001MB", want: "1.048576e+06"}, // 1024.1024kB: 1024kB
	{setting: "work_mem", in: "5min", err: `"min" is not a unit for it; use B, kB, MB, GB, TB`},
	{setting: "work_mem", in: "32kB", err: "between 64 and 2147483647 (in units of kB)"},
	{setting: "work_mem", in: "-1", err: "out of range"},
	{setting: "work_mem", in: "2TB", err: "out of range"},
	{setting: "work_mem", in: "4 M B", err: "takes a number with an optional unit"},
	{setting: "work_mem", in: "0x100", err: "takes a number"},
	{setting: "work_mem", in: "four", err: "takes a number"},

	{setting: "maintenance_work_mem", in: "1GB", want: "1.073741824e+09"},
	{setting: "maintenance_work_mem", in: "1048576", want: "1.073741824e+09"},
	{setting: "maintenance_work_mem", in: "512kB", err: "between 1024 and 2147483647"},
	{setting: "effective_cache_size", in: "4GB", want: "4.294967296e+09"},
	{setting: "effective_cache_size", in: "524288", want: "4.294967296e+09"},
	{setting: "effective_cache_size", in: "8kB", want: "8192"},
	{setting: "effective_cache_size", in: "0", err: "between 1 and 2147483647 (in units of 8kB)"},

	// wal_buffers: -1 asks for a share of shared_buffers.
	{setting: "wal_buffers", in: "-1", want: "-8192"},
	{setting: "wal_buffers", in: "16MB", want: "1.6777216e+07"},
	{setting: "wal_buffers", in: "2048", want: "1.6777216e+07"},
	{setting: "wal_buffers", in: "0", want: "0"},
	{setting: "wal_buffers", in: "-1kB", want: "0"}, // -1/8 page rounds to 0, not -0
	{setting: "wal_buffers", in: "-0", want: "0"},
	{setting: "wal_buffers", in: "-2", err: "between -1 and 262143 (in units of 8kB)"},
	{setting: "wal_buffers", in: "3GB", err: "out of range"},

	// checkpoint_timeout counts seconds.
	{setting: "checkpoint_timeout", in: "5min", want: "300000"},
	{setting: "checkpoint_timeout", in: "300s", want: "300000"},
	{setting: "checkpoint_timeout", in: "300", want: "300000"},
	{setting: "checkpoint_timeout", in: "300000ms", want: "300000"},
	{setting: "checkpoint_timeout", in: "1.5min", want: "90000"},
	{setting: "checkpoint_timeout", in: "30500ms", want: "30000"}, // 30.5s: 30s
	{setting: "checkpoint_timeout", in: "1d", want: "8.64e+07"},
	{setting: "checkpoint_timeout", in: "24h", want: "8.64e+07"},
	{setting: "checkpoint_timeout", in: "86400", want: "8.64e+07"},
	{setting: "checkpoint_timeout", in: "2d", err: "between 30 and 86400 (in units of s)"},
	{setting: "checkpoint_timeout", in: "29s", err: "out of range"},
	{setting: "checkpoint_timeout", in: "4GB", err: `"GB" is not a unit for it; use us, ms, s, min, h, d`},
	{setting: "checkpoint_timeout", in: "5 mins", err: "use us, ms, s, min, h, d"},
	{setting: "checkpoint_timeout", in: "5m", err: "use us, ms, s, min, h, d"},
	{setting: "checkpoint_timeout", in: "five minutes", err: "takes a number with an optional unit (us, ms, s, min, h, d)"},

	// log_min_duration_statement counts ms; -1 turns it off.
	{setting: "log_min_duration_statement", in: "1s", want: "1000"},
	{setting: "log_min_duration_statement", in: "1000", want: "1000"},
	{setting: "log_min_duration_statement", in: "1000ms", want: "1000"},
	{setting: "log_min_duration_statement", in: "-1", want: "-1"},
	{setting: "log_min_duration_statement", in: "0", want: "0"},
	{setting: "log_min_duration_statement", in: "-0", want: "0"},
	{setting: "log_min_duration_statement", in: "-0.4", want: "0"},
	{setting: "log_min_duration_statement", in: "250ms", want: "250"},
	{setting: "log_min_duration_statement", in: "1500us", want: "2"}, // 1.5ms: 2ms
	{setting: "log_min_duration_statement", in: "2500us", want: "2"}, // 2.5ms: 2ms
	{setting: "log_min_duration_statement", in: "-2", err: "between -1 and 2147483647 (in units of ms)"},
	{setting: "log_min_duration_statement", in: "30d", err: "out of range"},
	{setting: "log_min_duration_statement", in: "1kB", err: "use us, ms, s, min, h, d"},

	// random_page_cost is a plain real.
	{setting: "random_page_cost", in: "1.1", want: "1.1"},
	{setting: "random_page_cost", in: "1.10", want: "1.1"},
	{setting: "random_page_cost", in: "4", want: "4"},
	{setting: "random_page_cost", in: "4.0", want: "4"},
	{setting: "random_page_cost", in: ".5", want: "0.5"},
	{setting: "random_page_cost", in: "1.5e0", want: "1.5"},
	{setting: "random_page_cost", in: "0", want: "0"},
	{setting: "random_page_cost", in: "1e308", want: "1e+308"},
	{setting: "random_page_cost", in: "1.1kB", err: `random_page_cost takes a plain number, not "1.1kB"`},
	{setting: "random_page_cost", in: "1.1 x", err: "takes a plain number"},
	{setting: "random_page_cost", in: "-1", err: "between 0 and 1.79769e+308"},
	{setting: "random_page_cost", in: "2e308", err: "takes a number"},
	{setting: "random_page_cost", in: "NaN", err: "takes a number"},
	{setting: "random_page_cost", in: "Inf", err: `random_page_cost takes a number, not "Inf"`},
	{setting: "random_page_cost", in: "1,1", err: `random_page_cost takes a number, not "1,1"`},

	// Plain integers.
	{setting: "effective_io_concurrency", in: "200", want: "200"},
	{setting: "effective_io_concurrency", in: "0", want: "0"},
	{setting: "effective_io_concurrency", in: "1000", want: "1000"},
	{setting: "effective_io_concurrency", in: "1001", err: "between 0 and 1000"},
	{setting: "effective_io_concurrency", in: "200kB", err: "takes a plain number"},
	{setting: "max_connections", in: "100", want: "100"},
	{setting: "max_connections", in: "+100", want: "100"},
	{setting: "max_connections", in: "1e2", want: "100"},
	{setting: "max_connections", in: "100.0", want: "100"},
	{setting: "max_connections", in: "262143", want: "262143"},
	{setting: "max_connections", in: "1.5", err: `max_connections takes a whole number, not "1.5"`},
	{setting: "max_connections", in: "0", err: "between 1 and 262143"},
	{setting: "max_connections", in: "262144", err: "out of range"},
	{setting: "max_connections", in: "100 connections", err: "takes a plain number"},
	{setting: "default_statistics_target", in: "100", want: "100"},
	{setting: "default_statistics_target", in: "10001", err: "between 1 and 10000"},

	// WAL sizes count MB.
	{setting: "max_wal_size", in: "1GB", want: "1.073741824e+09"},
	{setting: "max_wal_size", in: "1024", want: "1.073741824e+09"},
	{setting: "max_wal_size", in: "1536kB", want: "2.097152e+06"}, // 1.5MB: 2MB
	{setting: "max_wal_size", in: "1MB", err: "between 2 and 2147483647 (in units of MB)"},
	{setting: "min_wal_size", in: "80MB", want: "8.388608e+07"},
	{setting: "min_wal_size", in: "80", want: "8.388608e+07"},
	{setting: "autovacuum_naptime", in: "1min", want: "60000"},
	{setting: "autovacuum_naptime", in: "60", want: "60000"},
	{setting: "autovacuum_naptime", in: "500ms", err: "between 1 and 2147483 (in units of s)"}, // rounds to 0s

	// Enums: any case, one of the choices.
	{setting: "huge_pages", in: "on", want: "on"},
	{setting: "huge_pages", in: "ON", want: "on"},
	{setting: "huge_pages", in: " Try\n", want: "try"},
	{setting: "huge_pages", in: "maybe", err: `huge_pages must be one of off, on, try, not "maybe"`},
	{setting: "huge_pages", in: "", err: "must be one of off, on, try"},
	{setting: "synchronous_commit", in: "Remote_Apply", want: "remote_apply"},
	{setting: "synchronous_commit", in: "local", want: "local"},
	{setting: "synchronous_commit", in: "remote", err: "must be one of local, remote_write, remote_apply, on, off"},

	// Booleans, as the server spells them, and unique prefixes.
	{setting: "jit", in: "on", want: "on"},
	{setting: "jit", in: "off", want: "off"},
	{setting: "jit", in: "true", want: "on"},
	{setting: "jit", in: "false", want: "off"},
	{setting: "jit", in: "yes", want: "on"},
	{setting: "jit", in: "no", want: "off"},
	{setting: "jit", in: "1", want: "on"},
	{setting: "jit", in: "0", want: "off"},
	{setting: "jit", in: "TRUE", want: "on"},
	{setting: "jit", in: " Off ", want: "off"},
	{setting: "jit", in: "t", want: "on"},
	{setting: "jit", in: "tr", want: "on"},
	{setting: "jit", in: "tru", want: "on"},
	{setting: "jit", in: "y", want: "on"},
	{setting: "jit", in: "ye", want: "on"},
	{setting: "jit", in: "f", want: "off"},
	{setting: "jit", in: "fa", want: "off"},
	{setting: "jit", in: "fal", want: "off"},
	{setting: "jit", in: "fals", want: "off"},
	{setting: "jit", in: "n", want: "off"},
	{setting: "jit", in: "of", want: "off"},
	{setting: "jit", in: "o", err: `jit is a boolean: use on or off, not "o"`}, // on or off?
	{setting: "jit", in: "2", err: "is a boolean"},
	{setting: "jit", in: "enabled", err: "is a boolean"},
	{setting: "jit", in: "", err: "is a boolean"},

	// Strings are taken as written.
	{setting: "shared_preload_libraries", in: "pg_stat_statements", want: "pg_stat_statements"},
	{setting: "shared_preload_libraries", in: "pg_stat_statements, auto_explain", want: "pg_stat_statements, auto_explain"},
	{setting: "shared_preload_libraries", in: " x ", want: "x"}, // a list: elements trimmed
	{setting: "shared_preload_libraries", in: `pg_stat_statements,"auto_explain",,`, want: "pg_stat_statements, auto_explain"},
	{setting: "shared_preload_libraries", in: "", want: ""},
}

func TestCanonical(t *testing.T) {
	for _, tc := range canonicalCases {
		t.Run(tc.setting+"="+tc.in, func(t *testing.T) {
			s, ok := pg15[tc.setting]
			if !ok {
				t.Fatalf("no setting %q", tc.setting)
			}
			got, err := Canonical(s, tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Canonical(%s, %q) = %q, %v; want error with %q", tc.setting, tc.in, got, err, tc.err)
				}
				if got != "" {
					t.Errorf("error with value %q", got)
				}
				if !strings.HasPrefix(err.Error(), tc.setting) {
					t.Errorf("error %q does not name %s", err, tc.setting)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Canonical(%s, %q) = %q, %v; want %q", tc.setting, tc.in, got, err, tc.want)
			}
		})
	}
}

// TestCanonicalSettings checks that every default the server reports is a
// valid value of its own setting.
func TestCanonicalSettings(t *testing.T) {
	for name, s := range pg15 {
		if _, err := Canonical(s, s.Setting); err != nil {
			t.Errorf("%s: default %q: %v", name, s.Setting, err)
		}
		if !Equal(s, s.Setting, s.Setting) {
			t.Errorf("%s: default %q not equal to itself", name, s.Setting)
		}
	}
}

type equalCase struct {
	setting, a, b string
	want          bool
}

var equalCases = []equalCase{
	{"shared_buffers", "4096MB", "4GB", true},
	{"shared_buffers", "4GB", "4194304kB", true},
	{"shared_buffers", "4194304kB", "524288", true},
	{"shared_buffers", "16384", "128MB", true}, // the default, as pg_settings shows it
	{"shared_buffers", "128MB", "129MB", false},
	{"shared_buffers", "524288", "524288kB", false}, // pages, not kB
	{"shared_buffers", "132kB", "128kB", true},
	{"work_mem", "1GB", "1024MB", true},
	{"work_mem", "65536", "64MB", true},
	{"work_mem", "4096", "4MB", true},
	{"work_mem", "4MB", "4096kB", true},
	{"work_mem", "4MB", "4097kB", false},
	{"work_mem", "1.5MB", "1536kB", true},
	{"work_mem", "64.5kB", "64kB", true},
	{"work_mem", "65.5kB", "66kB", true},
	{"maintenance_work_mem", "65536", "64MB", true},
	{"effective_cache_size", "524288", "4GB", true},
	{"wal_buffers", "-1", "-1", true},
	{"wal_buffers", "-1", "-8kB", true},
	{"wal_buffers", "-1", "0", false},
	{"wal_buffers", "-0", "0", true},
	{"wal_buffers", "-1kB", "0", true},
	{"wal_buffers", "512", "4MB", true},
	{"checkpoint_timeout", "5min", "300s", true},
	{"checkpoint_timeout", "300s", "300", true},
	{"checkpoint_timeout", "5min", "300", true},
	{"checkpoint_timeout", "1h", "3600", true},
	{"checkpoint_timeout", "5min", "301s", false},
	{"log_min_duration_statement", "1s", "1000", true},
	{"log_min_duration_statement", "1s", "1000ms", true},
	{"log_min_duration_statement", "-1", "-1", true},
	{"log_min_duration_statement", "-1", "-1ms", true},
	{"log_min_duration_statement", "0", "-0", true},
	{"log_min_duration_statement", "-1", "1", false},
	{"log_min_duration_statement", "1s", "1", false},
	{"random_page_cost", "1.1", "1.10", true},
	{"random_page_cost", "4", "4.0", true},
	{"random_page_cost", "1.1", "1.2", false},
	{"max_connections", "100", "1e2", true},
	{"max_connections", "100", "101", false},
	{"max_wal_size", "1GB", "1024", true},
	{"min_wal_size", "80MB", "80", true},
	{"autovacuum_naptime", "1min", "60", true},
	{"autovacuum_naptime", "1min", "60s", true},
	{"huge_pages", "try", "TRY", true},
	{"huge_pages", "on", "try", false},
	{"synchronous_commit", "remote_apply", "Remote_Apply", true},
	{"synchronous_commit", "on", "off", false},
	{"jit", "on", "true", true},
	{"jit", "yes", "1", true},
	{"jit", "off", "false", true},
	{"jit", "no", "0", true},
	{"jit", "on", "off", false},
	{"jit", "t", "f", false},
	{"shared_preload_libraries", "pg_stat_statements", "pg_stat_statements", true},
	{"shared_preload_libraries", "pg_stat_statements,auto_explain", "pg_stat_statements, auto_explain", true}, // lists compare by element
	{"shared_preload_libraries", "pg_stat_statements", "PG_STAT_STATEMENTS", false},
	{"shared_preload_libraries", "x", " x", true},
	{"shared_preload_libraries", "a,b", "b,a", false}, // order matters: libraries load in it

	// Values that do not parse compare as written, less the spaces around.
	{"work_mem", "lots", "lots", true},
	{"work_mem", "lots", " lots\n", true},
	{"work_mem", "lots", "more", false},
	{"work_mem", "5min", "5min", true},
	{"work_mem", "5min", "300s", false},
	{"shared_buffers", "64kB", "64kB", true}, // below the least, still the same text
	{"shared_buffers", "64kB", "8", false},
	{"shared_buffers", "4GB", "4gb", false}, // one parses, one does not
	{"random_page_cost", "1.1kB", "1.1", false},
	{"max_connections", "1.5", "1.5", true},
	{"max_connections", "1.5", "1.50", false},
	{"huge_pages", "maybe", "Maybe", false},
	{"jit", "o", "o", true},
}

func TestEqual(t *testing.T) {
	for _, tc := range equalCases {
		t.Run(tc.setting+"="+tc.a+"|"+tc.b, func(t *testing.T) {
			s := pg15[tc.setting]
			if got := Equal(s, tc.a, tc.b); got != tc.want {
				t.Fatalf("Equal(%s, %q, %q) = %v; want %v", tc.setting, tc.a, tc.b, got, tc.want)
			}
			if got := Equal(s, tc.b, tc.a); got != tc.want {
				t.Fatalf("Equal(%s, %q, %q) = %v; want %v", tc.setting, tc.b, tc.a, got, tc.want)
			}
		})
	}
}

// A setting pg_settings has no row for, or one of a kind this package does
// not know, takes any value as written.
func TestCanonicalUnknownSetting(t *testing.T) {
	for _, s := range []Setting{
		{Name: "pg_stat_statements.max"},
		{Name: "x", VarType: "multirange"},
	} {
		if got, err := Canonical(s, " 5000 "); err != nil || got != " 5000 " {
			t.Errorf("Canonical(%+v, %q) = %q, %v", s, " 5000 ", got, err)
		}
		if Equal(s, "5000", "5e3") {
			t.Errorf("Equal(%+v) compared as numbers", s)
		}
	}
}

// A numeric setting without a range (or with one that does not parse) is
// not bounded; an integer or real one with an odd unit counts plainly.
func TestCanonicalNoRange(t *testing.T) {
	for _, tc := range []struct {
		s        Setting
		in, want string
		err      string
	}{
		{s: Setting{Name: "n", VarType: "integer"}, in: "-5", want: "-5"},
		{s: Setting{Name: "n", VarType: "integer", MinVal: "1"}, in: "-5", want: "-5"},
		{s: Setting{Name: "n", VarType: "integer", MinVal: "1", MaxVal: "many"}, in: "-5", want: "-5"},
		{s: Setting{Name: "n", VarType: "integer", Unit: "kB"}, in: "1TB", want: "1.099511627776e+12"},
		{s: Setting{Name: "n", VarType: "integer", Unit: "kB"}, in: "1e308TB", err: `n = "1e308TB" is out of range`}, // no finite number of bytes
		{s: Setting{Name: "n", VarType: "real", Unit: "8kB"}, in: "-1e305", err: "out of range"},
		{s: Setting{Name: "n", VarType: "integer", Unit: "widgets", MinVal: "0", MaxVal: "10"}, in: "7", want: "7"},
		{s: Setting{Name: "n", VarType: "integer", Unit: "widgets", MinVal: "0", MaxVal: "10"}, in: "7kB", err: "takes a plain number"},
		{s: Setting{Name: "n", VarType: "integer", Unit: "widgets", MinVal: "0", MaxVal: "10"}, in: "11", err: "between 0 and 10 (in units of widgets)"},
		// vacuum_cost_delay is a real counted in ms: fractions stay.
		{s: Setting{Name: "vacuum_cost_delay", VarType: "real", Unit: "ms", MinVal: "0", MaxVal: "100"}, in: "0.5ms", want: "0.5"},
		{s: Setting{Name: "vacuum_cost_delay", VarType: "real", Unit: "ms", MinVal: "0", MaxVal: "100"}, in: "1500us", want: "1.5"},
		{s: Setting{Name: "vacuum_cost_delay", VarType: "real", Unit: "ms", MinVal: "0", MaxVal: "100"}, in: "2", want: "2"},
		{s: Setting{Name: "vacuum_cost_delay", VarType: "real", Unit: "ms", MinVal: "0", MaxVal: "100"}, in: "1s", err: "between 0 and 100 (in units of ms)"},
	} {
		got, err := Canonical(tc.s, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Canonical(%+v, %q) = %q, %v; want error with %q", tc.s, tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Canonical(%+v, %q) = %q, %v; want %q", tc.s, tc.in, got, err, tc.want)
		}
	}
}

func TestNeedsRestart(t *testing.T) {
	for name, want := range map[string]bool{
		"shared_buffers":           true,
		"wal_buffers":              true,
		"max_connections":          true,
		"huge_pages":               true,
		"shared_preload_libraries": true,
		"work_mem":                 false,
		"checkpoint_timeout":       false,
		"jit":                      false,
	} {
		if got := pg15[name].NeedsRestart(); got != want {
			t.Errorf("%s: NeedsRestart() = %v; want %v", name, got, want)
		}
	}
}

var nameCases = []struct {
	name string
	ok   bool
}{
	{"shared_buffers", true},
	{"work_mem", true},
	{"pg_stat_statements.max", true},
	{"auto_explain.log_min_duration", true},
	{"_x", true},
	{"x1", true},
	{"a", true},
	{strings.Repeat("a", 63), true},
	{"Shared_Buffers", true}, // names are case-insensitive (DateStyle)
	{"SHARED_BUFFERS", true},
	{"a;drop", false},
	{"work_mem;drop table x", false},
	{"a.b.c", false},
	{"", false},
	{strings.Repeat("a", 64), false},
	{"pg_stat_statements." + strings.Repeat("m", 45), false}, // 64 bytes
	{`"x"`, false},
	{"x'", false},
	{"a b", false},
	{"1abc", false},
	{"a.", false},
	{".a", false},
	{"a.1b", false},
	{"a..b", false},
	{"a-b", false},
	{"shared_buffers\n", false},
	{"\tshared_buffers", false},
	{"ß", false},
	{"work_mem=4MB", false},
}

func TestValidateName(t *testing.T) {
	for _, tc := range nameCases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidateName(%q) = %v", tc.name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "is not a setting name") {
				t.Fatalf("ValidateName(%q) = %v; want an error", tc.name, err)
			}
		})
	}
}

func TestIsCustom(t *testing.T) {
	for name, want := range map[string]bool{
		"pg_stat_statements.max":        true,
		"auto_explain.log_min_duration": true,
		"shared_buffers":                false,
		"":                              false,
	} {
		if got := IsCustom(name); got != want {
			t.Errorf("IsCustom(%q) = %v; want %v", name, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := make([]string, 0, len(pg15))
	for name := range pg15 {
		known = append(known, name)
	}
	for _, tc := range []struct{ in, want string }{
		{"shared_bufers", "shared_buffers"},
		{"shared_buffer", "shared_buffers"},
		{"shraed_buffers", "shared_buffers"},
		{"work_mme", "work_mem"},
		{"workmem", "work_mem"},
		{"max_connection", "max_connections"},
		{"jti", "jit"},
		{"min_wal_siz", "min_wal_size"},
		{"max_wal_siz", "max_wal_size"},
		{"shared_buffers", "shared_buffers"},
		{"effective_cache", ""},
		{"zzzzzzzz", ""},
		{"", "jit"}, // three edits away
		{"pg_stat_statements.max", ""},
	} {
		if got := Suggest(tc.in, known); got != tc.want {
			t.Errorf("Suggest(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
	if got := Suggest("shared_bufers", nil); got != "" {
		t.Errorf("Suggest with no names = %q", got)
	}
}

func TestSortedNames(t *testing.T) {
	got := SortedNames(map[string]string{"work_mem": "64MB", "shared_buffers": "4GB", "jit": "off", "pg_stat_statements.max": "10000"})
	want := []string{"jit", "pg_stat_statements.max", "shared_buffers", "work_mem"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SortedNames = %q; want %q", got, want)
	}
	if got := SortedNames(nil); len(got) != 0 {
		t.Fatalf("SortedNames(nil) = %q", got)
	}
}

// postgresLog is /var/log/postgresql/postgresql-15-main.log across a
// restart with shared_buffers set too large, and a typo before it.
const postgresLog = `2026-11-26 04:50:12.345 UTC [987] postgres@postgres ERROR:  unrecognized configuration parameter "shared_bufers"
2026-11-26 04:50:12.345 UTC [987] postgres@postgres STATEMENT:  ALTER SYSTEM SET shared_bufers = '64GB'
2026-11-26 04:50:30.001 UTC [987] postgres@postgres LOG:  duration: 1.204 ms  statement: ALTER SYSTEM SET shared_buffers = '64GB'
2026-11-26 04:54:58.001 UTC [1230] LOG:  received fast shutdown request
2026-11-26 04:54:58.002 UTC [1230] LOG:  aborting any active transactions
2026-11-26 04:54:58.003 UTC [1241] postgres@app FATAL:  terminating connection due to administrator command
2026-11-26 04:54:58.010 UTC [1230] LOG:  background worker "logical replication launcher" (PID 1240) exited with exit code 1
2026-11-26 04:54:58.020 UTC [1235] LOG:  shutting down
2026-11-26 04:54:58.050 UTC [1230] LOG:  database system is shut down
2026-11-26 04:55:01.100 UTC [1234] LOG:  starting PostgreSQL 15.8 (Debian 15.8-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit
2026-11-26 04:55:01.101 UTC [1234] LOG:  listening on IPv4 address "127.0.0.1", port 5432
2026-11-26 04:55:01.123 UTC [1234] FATAL:  could not map anonymous shared memory: Cannot allocate memory
2026-11-26 04:55:01.123 UTC [1234] HINT:  This error usually means that PostgreSQL's request for a shared memory segment exceeded available memory, swap space, or huge pages. To reduce the request size (currently 69231484928 bytes), reduce PostgreSQL's shared memory usage, perhaps by reducing shared_buffers or max_connections.
2026-11-26 04:55:01.124 UTC [1234] LOG:  database system is shut down
pg_ctl: could not start server
Examine the log output.
`

func TestLogErrors(t *testing.T) {
	all := []string{
		`2026-11-26 04:50:12.345 UTC [987] postgres@postgres ERROR:  unrecognized configuration parameter "shared_bufers"`,
		`2026-11-26 04:54:58.003 UTC [1241] postgres@app FATAL:  terminating connection due to administrator command`,
		`2026-11-26 04:55:01.123 UTC [1234] FATAL:  could not map anonymous shared memory: Cannot allocate memory`,
	}
	for _, tc := range []struct {
		log  string
		n    int
		want []string
	}{
		{postgresLog, 1, all[2:]},
		{postgresLog, 2, all[1:]},
		{postgresLog, 3, all},
		{postgresLog, 6, all},
		{postgresLog, 0, nil},
		{postgresLog, -1, nil},
		{strings.ReplaceAll(postgresLog, "\n", "\r\n"), 6, all},
		{"", 6, nil},
		{"2026-11-26 04:55:01.100 UTC [1234] LOG:  database system is ready to accept connections\n", 6, nil},
		{
			"  2026-11-26 05:00:00.000 UTC [1] PANIC:  could not write to file \"pg_wal/xlogtemp.1\": No space left on device  \n" +
				"2026-11-26 05:00:00.001 UTC [2] LOG:  server process (PID 1) was terminated by signal 6: Aborted\n" +
				"an error: not the server's\nERROR without a colon\nFATAL : spaced\nfatal: lower-case\n" +
				"2026-11-26 05:00:00.002 UTC [3] ERROR:  relation \"x\" does not exist at character 15",
			6,
			[]string{
				"2026-11-26 05:00:00.000 UTC [1] PANIC:  could not write to file \"pg_wal/xlogtemp.1\": No space left on device",
				"2026-11-26 05:00:00.002 UTC [3] ERROR:  relation \"x\" does not exist at character 15",
			},
		},
	} {
		got := LogErrors(tc.log, tc.n)
		if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("LogErrors(n=%d) = %q; want %q", tc.n, got, tc.want)
		}
	}
}
