// Package redisconf holds the pure logic of Redis configuration managed
// through CONFIG SET, CONFIG GET and CONFIG REWRITE: parameter names, value
// comparison in the form CONFIG GET answers (8gb equals 8589934592), which
// parameters are immutable or protected at runtime, INFO and CONFIG GET
// replies, the server's error messages, and single lines of redis.conf for
// the parameters only a restart applies.
//
// The lists follow the configs[] table of Redis 7.0's config.c; later
// releases add parameters, and the server's own reply stays the authority.
package redisconf

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Error kinds ClassifyError returns.
const (
	KindAuth             = "auth"              // NOAUTH, WRONGPASS: credentials missing or wrong
	KindNoPerm           = "noperm"            // the ACL user may not run the command (detail: "config get", ...)
	KindNoConfigCommand  = "no-config-command" // CONFIG is renamed or disabled (rename-command)
	KindUnknownCommand   = "unknown-command"   // another command is renamed or disabled (detail: its name)
	KindImmutable        = "immutable"         // CONFIG SET refused: needs redis.conf and a restart (detail: parameter)
	KindProtected        = "protected"         // CONFIG SET refused: needs enable-protected-configs (detail: parameter)
	KindUnknownParameter = "unknown-parameter" // no such parameter; Redis 6 also says so of immutable ones (detail: parameter)
	KindInvalid          = "invalid"           // the value was rejected (detail: parameter, when named)
	KindRewrite          = "rewrite"           // CONFIG REWRITE failed (detail: why, e.g. "Read-only file system")
	KindLoading          = "loading"           // the server is still loading its dataset
	KindOther            = "other"
)

// ProtectedNote explains a protected parameter, for diagnostics.
const ProtectedNote = "Redis 7 refuses CONFIG SET of protected parameters (dir, dbfilename) unless the server " +
	"was started with enable-protected-configs set to yes (or to local, for connections from localhost); " +
	"that setting is itself immutable, so it needs redis.conf and a restart."

// TerraformComment heads a line SetInConfigFile appends to redis.conf.
const TerraformComment = "# Set by Terraform (mcpai_redis_config)"

// namePattern is a parameter name as CONFIG GET returns it: lower case
// words joined by '-' (a few, like server_cpulist, use '_').
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ValidateName reports why name cannot be a parameter name, or nil. Redis
// ignores case, but CONFIG GET answers in lower case, so only that form is
// accepted: a map keyed by "MaxMemory" would never match the server's.
func ValidateName(name string) error {
	if len(name) <= 64 && namePattern.MatchString(name) {
		return nil
	}
	if lower := strings.ToLower(name); lower != name && ValidateName(lower) == nil {
		return fmt.Errorf("%q is not a parameter name as Redis reports it: write it in lower case, %q", name, lower)
	}
	return fmt.Errorf("%q is not a parameter name: use lower case letters, digits and '-', e.g. maxmemory-policy", name)
}

// aliases maps Redis 7's legacy names to their current ones; the server
// accepts both, in CONFIG SET and in redis.conf.
var aliases = map[string]string{
	"cluster-slave-no-failover":     "cluster-replica-no-failover",
	"cluster-slave-validity-factor": "cluster-replica-validity-factor",
	"hash-max-ziplist-entries":      "hash-max-listpack-entries",
	"hash-max-ziplist-value":        "hash-max-listpack-value",
	"list-max-ziplist-size":         "list-max-listpack-size",
	"lua-time-limit":                "busy-reply-threshold",
	"min-slaves-max-lag":            "min-replicas-max-lag",
	"min-slaves-to-write":           "min-replicas-to-write",
	"repl-ping-slave-period":        "repl-ping-replica-period",
	"slave-announce-ip":             "replica-announce-ip",
	"slave-announce-port":           "replica-announce-port",
	"slave-ignore-maxmemory":        "replica-ignore-maxmemory",
	"slave-lazy-flush":              "replica-lazy-flush",
	"slave-priority":                "replica-priority",
	"slave-read-only":               "replica-read-only",
	"slave-serve-stale-data":        "replica-serve-stale-data",
	"slaveof":                       "replicaof",
	"zset-max-ziplist-entries":      "zset-max-listpack-entries",
	"zset-max-ziplist-value":        "zset-max-listpack-value",
}

// canonical returns param's current name, in lower case.
func canonical(param string) string {
	p := strings.ToLower(strings.TrimSpace(param))
	if c, ok := aliases[p]; ok {
		return c
	}
	return p
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var (
	// immutable: IMMUTABLE_CONFIG in Redis 7.0's config.c (unixsocketgroup
	// came in 7.4). Redis 6 had more (bind and port were not always
	// settable at runtime); the server's refusal, "can't set immutable
	// config" (7) or "Unsupported CONFIG parameter" (6), is what counts.
	// replicaof is set with the REPLICAOF command, not CONFIG SET.
	immutable = set(
		"aclfile", "always-show-logo", "aof_rewrite_cpulist", "appenddirname", "appendfilename",
		"bgsave_cpulist", "bio_cpulist", "cluster-config-file", "cluster-enabled", "cluster-port",
		"daemonize", "databases", "enable-debug-command", "enable-module-command",
		"enable-protected-configs", "io-threads", "io-threads-do-reads", "logfile", "pidfile",
		"rdbchecksum", "replicaof", "server_cpulist", "set-proc-title", "supervised", "syslog-enabled",
		"syslog-facility", "syslog-ident", "tcp-backlog", "unixsocket", "unixsocketgroup", "unixsocketperm",
	)

	// protected: PROTECTED_CONFIG in Redis 7.0.
	protected = set("dir", "dbfilename")

	// sensitive: SENSITIVE_CONFIG in Redis 7.0 (redacted from the slow log
	// and MONITOR), and the TLS key passphrases, which are secrets too.
	sensitive = set("masterauth", "masteruser", "requirepass", "tls-client-key-file-pass", "tls-key-file-pass")

	// memory: MEMORY_CONFIG, read with memtoull (maxmemory-clients also
	// takes a percentage). Counts such as hash-max-listpack-entries are
	// not here; the -value ones are byte lengths.
	memory = set(
		"active-defrag-ignore-bytes", "auto-aof-rewrite-min-size", "client-query-buffer-limit",
		"cluster-link-sendbuf-limit", "hash-max-listpack-value", "hll-sparse-max-bytes", "maxmemory",
		"maxmemory-clients", "proto-max-bulk-len", "repl-backlog-size", "set-max-listpack-value",
		"stream-node-max-bytes", "zset-max-listpack-value",
	)

	booleans = set(
		"activedefrag", "activerehashing", "always-show-logo", "aof-disable-auto-gc", "aof-load-truncated",
		"aof-rewrite-incremental-fsync", "aof-timestamp-enabled", "aof-use-rdb-preamble", "appendonly",
		"cluster-allow-pubsubshard-when-down", "cluster-allow-reads-when-down",
		"cluster-allow-replica-migration", "cluster-enabled", "cluster-replica-no-failover",
		"cluster-require-full-coverage", "crash-log-enabled", "crash-memcheck-enabled", "daemonize",
		"disable-thp", "dynamic-hz", "io-threads-do-reads", "jemalloc-bg-thread", "latency-tracking",
		"lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
		"lazyfree-lazy-user-del", "lazyfree-lazy-user-flush", "no-appendfsync-on-rewrite",
		"protected-mode", "rdb-del-sync-files", "rdb-save-incremental-fsync", "rdbchecksum",
		"rdbcompression", "repl-disable-tcp-nodelay", "repl-diskless-sync", "replica-announced",
		"replica-ignore-disk-write-errors", "replica-ignore-maxmemory", "replica-lazy-flush",
		"replica-read-only", "replica-serve-stale-data", "set-proc-title", "stop-writes-on-bgsave-error",
		"syslog-enabled", "tls-cluster", "tls-prefer-server-ciphers", "tls-replication",
		"tls-session-caching", "use-exit-on-panic",
	)

	// enums: matched case-insensitively, answered in lower case. Their
	// values differ between versions, so the server judges them.
	enums = set(
		"acl-pubsub-default", "appendfsync", "cluster-preferred-endpoint-type", "enable-debug-command",
		"enable-module-command", "enable-protected-configs", "loglevel", "maxmemory-policy",
		"oom-score-adj", "propagation-error-behavior", "repl-diskless-load", "sanitize-dump-payload",
		"supervised", "syslog-facility", "tls-auth-clients",
	)

	// flagLists: several enum words in one value.
	flagLists = set("shutdown-on-sigint", "shutdown-on-sigterm")

	// multiArg: MULTI_ARG_CONFIG with free words, one space between them
	// in CONFIG GET's answer.
	multiArg = set("bind", "replicaof")
)

// Immutable reports whether param cannot be changed with CONFIG SET: it
// takes redis.conf and a restart.
func Immutable(param string) bool { return immutable[canonical(param)] }

// Protected reports whether CONFIG SET of param needs enable-protected-configs
// (see ProtectedNote).
func Protected(param string) bool { return protected[canonical(param)] }

// Sensitive reports whether param's value is a secret, to keep out of logs,
// diagnostics and plans.
func Sensitive(param string) bool { return sensitive[canonical(param)] }

// Normalize returns value in the form CONFIG GET answers for param, so that
// a configured value and the server's compare equal, or why Redis would
// reject it. Parameters it does not know keep their text, trimmed.
func Normalize(param, value string) (string, error) {
	p, v := canonical(param), strings.TrimSpace(value)
	switch {
	case memory[p]:
		return normalizeMemory(v, p == "maxmemory-clients")
	case p == "save":
		return normalizeSave(v)
	case p == "client-output-buffer-limit":
		limits, err := parseOutputLimits(v)
		if err != nil {
			return "", err
		}
		return limits.String(), nil
	case p == "notify-keyspace-events":
		return normalizeKeyspaceEvents(v)
	case p == "unixsocketperm":
		n, err := strconv.ParseUint(v, 8, 32)
		if err != nil || n > 0o777 {
			return "", fmt.Errorf("%q is not a file mode: use octal digits, e.g. 700", v)
		}
		return strconv.FormatUint(n, 8), nil
	case p == "oom-score-adj-values":
		return normalizeWords(v, func(w string) (string, error) {
			n, err := strconv.ParseInt(w, 10, 32)
			if err != nil {
				return "", fmt.Errorf("%q is not an integer", w)
			}
			return strconv.FormatInt(n, 10), nil
		})
	case p == "latency-tracking-info-percentiles":
		return normalizeWords(v, normalizePercentile)
	case booleans[p]:
		if b := strings.ToLower(v); b == "yes" || b == "no" {
			return b, nil
		}
		return "", fmt.Errorf("%q is not a boolean: use yes or no", v)
	case p == "oom-score-adj":
		// "relative" and "yes" are one value; CONFIG GET names it yes.
		if strings.EqualFold(v, "relative") {
			return "yes", nil
		}
		return strings.ToLower(v), nil
	case enums[p]:
		return strings.ToLower(v), nil
	case flagLists[p]:
		// Redis prints the flags in its own order: compare them as a set.
		flags := strings.Fields(strings.ToLower(v))
		slices.Sort(flags)
		return strings.Join(slices.Compact(flags), " "), nil
	case multiArg[p]:
		return strings.Join(strings.Fields(v), " "), nil
	}
	return v, nil
}

// Equal reports whether a and b are the same value of param. Values that
// Normalize rejects compare as trimmed text. A client-output-buffer-limit
// naming only some classes (CONFIG SET leaves the others alone) equals one
// that agrees on every class both name.
func Equal(param, a, b string) bool {
	if canonical(param) == "client-output-buffer-limit" {
		la, errA := parseOutputLimits(strings.TrimSpace(a))
		lb, errB := parseOutputLimits(strings.TrimSpace(b))
		if errA == nil && errB == nil {
			return la.agree(lb)
		}
	}
	na, errA := Normalize(param, a)
	nb, errB := Normalize(param, b)
	if errA != nil || errB != nil {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return na == nb
}

// memoryUnits are memtoull's suffixes, matched case-insensitively.
var memoryUnits = map[string]uint64{
	"": 1, "b": 1,
	"k": 1000, "kb": 1 << 10,
	"m": 1000 * 1000, "mb": 1 << 20,
	"g": 1000 * 1000 * 1000, "gb": 1 << 30,
}

// parseMemory reads a byte count as memtoull does: digits, then a unit.
func parseMemory(v string) (uint64, error) {
	i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(v)
	}
	mul, ok := memoryUnits[strings.ToLower(v[i:])]
	if i == 0 || !ok {
		return 0, fmt.Errorf("%q is not a memory size: use bytes or a number with k, kb, m, mb, g or gb, e.g. 8gb", v)
	}
	n, err := strconv.ParseUint(v[:i], 10, 64)
	hi, product := bits.Mul64(n, mul)
	if err != nil || hi != 0 {
		return 0, fmt.Errorf("%q is too large a memory size", v)
	}
	return product, nil
}

func normalizeMemory(v string, percentAllowed bool) (string, error) {
	if pct, ok := strings.CutSuffix(v, "%"); ok && percentAllowed {
		n, err := strconv.ParseUint(pct, 10, 8)
		if err != nil || n > 100 {
			return "", fmt.Errorf("%q is not a percentage of maxmemory: use 0%% to 100%%", v)
		}
		if n == 0 {
			return "0", nil // stored as 0 bytes: no limit
		}
		return strconv.FormatUint(n, 10) + "%", nil
	}
	n, err := parseMemory(v)
	if err != nil {
		return "", err
	}
	return strconv.FormatUint(n, 10), nil
}

// normalizeSave reads "seconds changes" pairs as Redis does (seconds at
// least 1); "" turns snapshots off.
func normalizeSave(v string) (string, error) {
	words := strings.Fields(v)
	if len(words) == 1 && (words[0] == `""` || words[0] == `''`) {
		words = nil
	}
	if len(words)%2 != 0 {
		return "", fmt.Errorf("save %q: use pairs of seconds and changes, e.g. \"3600 1 300 100\", or \"\" to disable snapshots", v)
	}
	for i, w := range words {
		n, err := strconv.ParseInt(w, 10, 64)
		if err != nil || n < int64(1-i%2) {
			return "", fmt.Errorf("save %q: %q is not a number of seconds (1 or more) or changes (0 or more)", v, w)
		}
		words[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(words, " "), nil
}

// normalizeWords normalizes each space-separated word of v.
func normalizeWords(v string, norm func(string) (string, error)) (string, error) {
	words := strings.Fields(v)
	for i, w := range words {
		n, err := norm(w)
		if err != nil {
			return "", err
		}
		words[i] = n
	}
	return strings.Join(words, " "), nil
}

// normalizePercentile renders a percentile as Redis does: %f, then
// trailing zeros trimmed.
func normalizePercentile(w string) (string, error) {
	f, err := strconv.ParseFloat(w, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
		return "", fmt.Errorf("%q is not a percentile between 0 and 100", w)
	}
	s := strconv.FormatFloat(f, 'f', 6, 64)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), "."), nil
}

// outputClasses are client-output-buffer-limit's classes in CONFIG GET's
// order; Redis 7 still answers "slave" for replicas.
var outputClasses = []string{"normal", "slave", "pubsub"}

// outputLimit is one class's hard limit, soft limit and soft seconds.
type outputLimit struct {
	set                 bool
	hard, soft, seconds uint64
}

type outputLimits [3]outputLimit

func parseOutputLimits(v string) (outputLimits, error) {
	var l outputLimits
	words := strings.Fields(v)
	if len(words) == 0 || len(words)%4 != 0 {
		return l, fmt.Errorf("client-output-buffer-limit %q: use <class> <hard> <soft> <seconds> for each of normal, replica and pubsub", v)
	}
	for i := 0; i < len(words); i += 4 {
		class := strings.ToLower(words[i])
		if class == "replica" {
			class = "slave"
		}
		c := 0
		for c < len(outputClasses) && outputClasses[c] != class {
			c++
		}
		if c == len(outputClasses) {
			return l, fmt.Errorf("client-output-buffer-limit: %q is not a client class: use normal, replica or pubsub", words[i])
		}
		hard, err := parseMemory(words[i+1])
		if err != nil {
			return l, fmt.Errorf("client-output-buffer-limit %s hard limit: %w", class, err)
		}
		soft, err := parseMemory(words[i+2])
		if err != nil {
			return l, fmt.Errorf("client-output-buffer-limit %s soft limit: %w", class, err)
		}
		secs, err := strconv.ParseUint(words[i+3], 10, 31)
		if err != nil {
			return l, fmt.Errorf("client-output-buffer-limit %s: %q is not a number of seconds", class, words[i+3])
		}
		l[c] = outputLimit{set: true, hard: hard, soft: soft, seconds: secs} // a later class wins, as in Redis
	}
	return l, nil
}

func (l outputLimits) String() string {
	var words []string
	for c, o := range l {
		if o.set {
			words = append(words, outputClasses[c], strconv.FormatUint(o.hard, 10),
				strconv.FormatUint(o.soft, 10), strconv.FormatUint(o.seconds, 10))
		}
	}
	return strings.Join(words, " ")
}

// agree reports whether l and m share a class and match on every class
// both set.
func (l outputLimits) agree(m outputLimits) bool {
	shared := false
	for c := range l {
		if l[c].set && m[c].set {
			if l[c] != m[c] {
				return false
			}
			shared = true
		}
	}
	return shared
}

// keyspaceEvents are notify-keyspace-events' class letters in the order
// Redis writes them; 'A' stands for allEvents.
const (
	keyspaceEvents = "g$lshzxetd"
	keyspaceModes  = "KEmn"
)

func normalizeKeyspaceEvents(v string) (string, error) {
	seen := map[rune]bool{}
	for _, r := range v {
		if r == 'A' {
			for _, e := range keyspaceEvents {
				seen[e] = true
			}
			continue
		}
		if !strings.ContainsRune(keyspaceEvents+keyspaceModes, r) {
			return "", fmt.Errorf("notify-keyspace-events %q: %q is not an event class: use K, E, A, g, $, l, s, h, z, x, e, t, d, m, n", v, r)
		}
		seen[r] = true
	}
	var b strings.Builder
	all := true
	for _, e := range keyspaceEvents {
		all = all && seen[e]
	}
	if all {
		b.WriteByte('A')
	}
	for _, e := range keyspaceEvents + keyspaceModes {
		if seen[e] && (!all || strings.ContainsRune(keyspaceModes, e)) {
			b.WriteRune(e)
		}
	}
	return b.String(), nil
}

// ParseInfo reads INFO's "key:value" lines (redis_version, config_file, ...),
// skipping "# Section" headers and blank lines.
func ParseInfo(info string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(info) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// ParseConfigGet reads CONFIG GET's flat name, value, name, value... reply
// into a map keyed by lower-cased name. A name without a value is dropped.
func ParseConfigGet(pairs []string) map[string]string {
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[strings.ToLower(pairs[i])] = pairs[i+1]
	}
	return m
}

var (
	// quoted finds the first word between ' ' or ` `, as Redis quotes
	// commands and parameters in its errors.
	quoted       = regexp.MustCompile("['`]([^'`]*)['`]")
	setFailed    = regexp.MustCompile(`(?i)CONFIG SET failed \(possibly related to argument '([^']*)'\) - (.*)`)
	invalidArg   = regexp.MustCompile(`(?i)Invalid argument '.*' for CONFIG SET '([^']*)'`)
	unsupported  = regexp.MustCompile(`(?i)Unsupported CONFIG parameter: (\S+)`)
	unknownParam = regexp.MustCompile(`(?i)Unknown option or number of arguments for CONFIG SET - '([^']*)'`)
	rewriteFail  = regexp.MustCompile(`(?i)(?:Rewriting config file|CONFIG REWRITE failed): (.*)`)
	// reason is an OS error's text, the only free text ClassifyError passes on.
	reason = regexp.MustCompile(`^[A-Za-z][A-Za-z ,-]*$`)
)

// ClassifyError sorts a Redis error reply into a kind (the Kind constants)
// and a detail: the parameter, command or OS reason involved, and only
// those, checked to be names or plain words, never the value a message may
// quote.
func ClassifyError(msg string) (kind, detail string) {
	msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg), "-"))
	code, rest, _ := strings.Cut(msg, " ")
	lower := strings.ToLower(msg)
	switch code {
	case "NOAUTH", "WRONGPASS":
		return KindAuth, ""
	case "NOPERM":
		if m := quoted.FindStringSubmatch(rest); m != nil {
			return KindNoPerm, commandName(m[1])
		}
		return KindNoPerm, ""
	case "LOADING":
		return KindLoading, ""
	}
	switch {
	case strings.Contains(lower, "invalid password"), strings.Contains(lower, "without any password configured"),
		strings.Contains(lower, "no password is set"), strings.Contains(lower, "invalid username-password"):
		return KindAuth, ""
	case strings.Contains(lower, "unknown command"):
		m := quoted.FindStringSubmatch(msg)
		if m == nil {
			return KindUnknownCommand, ""
		}
		if name := paramName(m[1]); name != "config" {
			return KindUnknownCommand, name
		}
		return KindNoConfigCommand, "config"
	}
	if m := setFailed.FindStringSubmatch(msg); m != nil {
		why := strings.ToLower(m[2])
		switch {
		case strings.Contains(why, "immutable"):
			return KindImmutable, paramName(m[1])
		case strings.Contains(why, "protected"):
			return KindProtected, paramName(m[1])
		case strings.Contains(why, "loading"):
			return KindLoading, paramName(m[1])
		}
		return KindInvalid, paramName(m[1])
	}
	if m := invalidArg.FindStringSubmatch(msg); m != nil {
		return KindInvalid, paramName(m[1])
	}
	for _, re := range []*regexp.Regexp{unknownParam, unsupported} {
		if m := re.FindStringSubmatch(msg); m != nil {
			return KindUnknownParameter, paramName(m[1])
		}
	}
	if strings.Contains(lower, "running without a config file") {
		return KindRewrite, "no config file"
	}
	if m := rewriteFail.FindStringSubmatch(msg); m != nil {
		if why := strings.TrimSpace(m[1]); reason.MatchString(why) {
			return KindRewrite, why
		}
		return KindRewrite, ""
	}
	return KindOther, ""
}

// commandName turns "config|get" or "CONFIG" into "config get" or "config",
// or "" when it is not a command name.
func commandName(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "|", " "))
	for w := range strings.FieldsSeq(s) {
		if !namePattern.MatchString(w) {
			return ""
		}
	}
	return strings.Join(strings.Fields(s), " ")
}

// paramName returns s lower-cased when it is a parameter name, else "".
func paramName(s string) string {
	if s = strings.ToLower(s); namePattern.MatchString(s) {
		return s
	}
	return ""
}

// fileLine is one line of redis.conf: its text without the line ending,
// and the ending.
type fileLine struct{ text, end string }

func splitLines(content string) []fileLine {
	var lines []fileLine
	for l := range strings.Lines(content) {
		text, end := l, ""
		if t, ok := strings.CutSuffix(l, "\n"); ok {
			text, end = t, "\n"
			if t2, ok := strings.CutSuffix(t, "\r"); ok {
				text, end = t2, "\r\n"
			}
		}
		lines = append(lines, fileLine{text, end})
	}
	return lines
}

// directive returns an active line's parameter (canonical) and arguments,
// read as Redis reads redis.conf; ok is false for comments, blank lines and
// lines Redis could not parse.
func directive(line string) (param string, args []string, ok bool) {
	line = strings.Trim(line, " \t\r\n")
	if line == "" || line[0] == '#' {
		return "", nil, false
	}
	words, err := splitArgs(line)
	if err != nil || len(words) == 0 {
		return "", nil, false
	}
	return canonical(words[0]), words[1:], true
}

// ConfigFileValue returns the value of the last active line for param in a
// redis.conf (its arguments unquoted, joined by spaces), and whether there
// is one. Directives that add up over several lines (save,
// client-output-buffer-limit) are CONFIG REWRITE's to manage; this reads
// only the last. Files named by include are not followed.
func ConfigFileValue(content, param string) (string, bool) {
	want := canonical(param)
	value, found := "", false
	for _, l := range splitLines(content) {
		if p, args, ok := directive(l.text); ok && p == want {
			value, found = strings.Join(args, " "), true
		}
	}
	return value, found
}

// SetInConfigFile sets param to value in a redis.conf: the last active line
// for param (by any of its names, in any case) becomes "param value", and
// earlier active ones are commented out, so one line holds it; with none,
// the line is appended under TerraformComment. Every other byte stays as it
// was. Values with spaces, quotes or control characters are quoted as
// Redis reads them, except the words of multi-word parameters (save,
// bind, ...).
func SetInConfigFile(content, param, value string) string {
	want := canonical(param)
	newLine := strings.ToLower(strings.TrimSpace(param)) + " " + renderValue(want, value)
	lines := splitLines(content)
	last := -1
	for i, l := range lines {
		if p, _, ok := directive(l.text); ok && p == want {
			last = i
		}
	}
	var b strings.Builder
	for i, l := range lines {
		switch p, _, ok := directive(l.text); {
		case i == last:
			b.WriteString(newLine)
		case ok && p == want:
			b.WriteString("# " + l.text)
		default:
			b.WriteString(l.text)
		}
		b.WriteString(l.end)
	}
	if last >= 0 {
		return b.String()
	}
	end := "\n"
	if len(lines) > 0 && lines[0].end == "\r\n" {
		end = "\r\n"
	}
	if len(lines) > 0 && lines[len(lines)-1].end == "" {
		b.WriteString(end)
	}
	b.WriteString(TerraformComment + end + newLine + end)
	return b.String()
}

// multiWord are the parameters redis.conf gives as several arguments.
var multiWord = set("bind", "client-output-buffer-limit", "latency-tracking-info-percentiles",
	"oom-score-adj-values", "replicaof", "save", "shutdown-on-sigint", "shutdown-on-sigterm")

func renderValue(param, value string) string {
	if !multiWord[param] {
		return quoteArg(value)
	}
	words := strings.Fields(value)
	if len(words) == 0 {
		return `""`
	}
	for i, w := range words {
		words[i] = quoteArg(w)
	}
	return strings.Join(words, " ")
}

// quoteArg returns s as one redis.conf argument: bare when it can be,
// else double-quoted with sdscatrepr's escapes.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || r == '"' || r == '\'' || r == '\\'
	}) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c < ' ' || c >= 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

var errUnbalanced = errors.New("unbalanced quotes")

// splitArgs splits a line into arguments as sdssplitargs does: bare words,
// "double quoted" with backslash escapes (\n, \xHH, ...), 'single quoted'
// with only \' ; a closing quote must end the argument.
func splitArgs(line string) ([]string, error) {
	var args []string
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return args, nil
		}
		var b strings.Builder
		inDouble, inSingle := false, false
		for done := false; !done; {
			switch {
			case inDouble:
				if i == len(line) {
					return nil, errUnbalanced
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					n, _ := strconv.ParseUint(line[i+2:i+4], 16, 8)
					b.WriteByte(byte(n))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					b.WriteByte(unescape(line[i]))
				case c == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, errUnbalanced
					}
					done = true
				default:
					b.WriteByte(c)
				}
			case inSingle:
				if i == len(line) {
					return nil, errUnbalanced
				}
				switch c := line[i]; {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					b.WriteByte('\'')
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, errUnbalanced
					}
					done = true
				default:
					b.WriteByte(c)
				}
			default:
				if i == len(line) {
					done = true
					continue
				}
				switch c := line[i]; {
				case isSpace(c):
					done = true
				case c == '"':
					inDouble = true
				case c == '\'':
					inSingle = true
				default:
					b.WriteByte(c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		args = append(args, b.String())
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == 0 }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
