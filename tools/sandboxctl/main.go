// Command sandboxctl does the parts of scripts/sandbox.sh that speak the
// Docker Engine API or write files for tests; the script keeps what only the
// shell does (namespaces, mounts, veths, iptables, starting daemons). See
// CONTRIBUTING.md, "The sandbox".
//
//	sandboxctl contexts -repo R -dir D -debian-recipe H
//	    build the sandbox's Go programs and write the images' build contexts
//	    under D (each labelled Dockerfile ends with a hash of what it copies)
//	sandboxctl wait-engine -socket S -engine current|distribution [-timeout 30s]
//	    wait for a dockerd to answer, and check that it is the engine asked for
//	sandboxctl ping -socket S
//	    exit 0 when the dockerd answers within 2 s
//	sandboxctl images -socket S -dir D -host hI scratch|debian
//	    build each image of the set that the engine lacks or has with another
//	    label (scratch: the test image and those FROM scratch; debian: those
//	    FROM scripts/debian-images.sh's images)
//	sandboxctl probe -socket S -addr A [-gpu-hook-log F]
//	    run a container of the test image and reach its published port on A;
//	    with -gpu-hook-log, also one with --gpus all, which the mock hook logs
//	sandboxctl check-cdi -socket S
//	    check that the dockerd discovered the mock CDI devices
//	sandboxctl known-hosts|hosts-json -dir D -count N ...
//	    write D/known_hosts, or D/known_hosts and D/hosts.json (-out: elsewhere)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sandboxctl contexts|wait-engine|ping|images|probe|check-cdi|known-hosts|hosts-json [flags]")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "sandboxctl:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sandbox: "+format+"\n", args...)
}

// maxRun bounds any one command that speaks to an engine, so that an
// engine that stops answering fails `up` instead of hanging it (a build
// takes seconds to minutes). `contexts` compiles Go programs, which can take
// many minutes cold on two busy cores and does not hang like an engine: it
// has no bound.
const maxRun = 10 * time.Minute

func run(ctx context.Context, cmd string, args []string) error {
	if cmd != "contexts" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, maxRun)
		defer cancel()
	}
	fs := flag.NewFlagSet("sandboxctl "+cmd, flag.ContinueOnError)
	socket := fs.String("socket", "", "the machine-side path of the host's docker.sock")
	dir := fs.String("dir", "", "the sandbox folder (<repo>/.sandbox)")
	switch cmd {
	case "contexts":
		repo := fs.String("repo", "", "the repository")
		recipe := fs.String("debian-recipe", "", "scripts/debian-images.sh's recipe hash")
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		if *repo == "" || *dir == "" || *recipe == "" {
			return errors.New("contexts: -repo, -dir and -debian-recipe are needed")
		}
		return writeContexts(ctx, *repo, *dir, *recipe)

	case "wait-engine":
		kind := fs.String("engine", "", "current or distribution")
		timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the engine to answer")
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		eng, err := engineFor(*socket)
		if err != nil {
			return err
		}
		defer eng.Close()
		return waitEngine(ctx, eng, *kind, *timeout)

	case "ping":
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		eng, err := engineFor(*socket)
		if err != nil {
			return err
		}
		defer eng.Close()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return eng.Ping(ctx)

	case "images":
		host := fs.String("host", "", "the host's name, for messages")
		if err := parse(fs, args, 1); err != nil {
			return err
		}
		set := Set(fs.Arg(0))
		if set != scratchSet && set != debianSet {
			return fmt.Errorf("images: the set is %q or %q, not %q", scratchSet, debianSet, set)
		}
		if *dir == "" || *host == "" {
			return errors.New("images: -dir and -host are needed")
		}
		eng, err := engineFor(*socket)
		if err != nil {
			return err
		}
		defer eng.Close()
		return builder{eng: eng, dir: *dir, host: *host}.ensureImages(ctx, set, logf)

	case "probe":
		addr := fs.String("addr", "", "the host's address, where the probe publishes its port")
		hookLog := fs.String("gpu-hook-log", "", "the machine-side path of the mock NVIDIA hook's log (probe --gpus all too)")
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		a, err := netip.ParseAddr(*addr)
		if err != nil {
			return fmt.Errorf("probe: -addr: %w", err)
		}
		eng, err := engineFor(*socket)
		if err != nil {
			return err
		}
		defer eng.Close()
		if err := probeContainer(ctx, eng, a); err != nil {
			return err
		}
		if *hookLog != "" {
			return probeGPU(ctx, eng, *hookLog)
		}
		return nil

	case "check-cdi":
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		eng, err := engineFor(*socket)
		if err != nil {
			return err
		}
		defer eng.Close()
		return checkCDI(ctx, eng)

	case "known-hosts", "hosts-json":
		s, out := sandboxFlags(fs)
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		s.Dir = *dir
		if s.Dir == "" || s.Count < 1 || s.NetPrefix == "" {
			return fmt.Errorf("%s: -dir, -count and -net-prefix are needed", cmd)
		}
		if *out == "" {
			*out = s.Dir
		}
		known, err := s.knownHosts()
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(*out, "known_hosts"), known); err != nil {
			return err
		}
		if cmd == "known-hosts" {
			return nil
		}
		data, err := s.hostsJSON()
		if err != nil {
			return err
		}
		return writeAtomic(filepath.Join(*out, "hosts.json"), data)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// parse parses args, which must leave n arguments.
func parse(fs *flag.FlagSet, args []string, n int) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != n {
		return fmt.Errorf("%s: %d argument(s) expected, got %q", fs.Name(), n, fs.Args())
	}
	return nil
}

// sandboxFlags are the flags that describe the hosts; out is the folder
// to write to (default: the sandbox folder).
func sandboxFlags(fs *flag.FlagSet) (*sandbox, *string) {
	s := &sandbox{}
	fs.IntVar(&s.Count, "count", 0, "hosts h1..hN")
	fs.StringVar(&s.NSPrefix, "ns-prefix", "", "host i's network namespace is <prefix><i>")
	fs.StringVar(&s.NetPrefix, "net-prefix", "", "host i's address is <prefix>.<i>.2")
	fs.StringVar(&s.SudoUser, "sudo-user", "", "the user with passwordless sudo")
	fs.StringVar(&s.NoprivUser, "nopriv-user", "", "the user whose sudo needs the password")
	fs.StringVar(&s.HookLogName, "hook-log-name", "", "the mock NVIDIA hook's log in a host's /var/log")
	fs.StringVar(&s.PGVersion, "pg-version", "", "PostgreSQL's major version")
	fs.StringVar(&s.PGCluster, "pg-cluster", "", "PostgreSQL's cluster name")
	fs.StringVar(&s.PGRole, "pg-role", "", "PostgreSQL's superuser role")
	fs.StringVar(&s.PGDatabase, "pg-database", "", "the role's database")
	fs.IntVar(&s.PGPort, "pg-port", 0, "PostgreSQL's port")
	fs.IntVar(&s.RedisPort, "redis-port", 0, "Redis's port")
	fs.IntVar(&s.RedisTLSPort, "redis-tls-port", 0, "Redis's TLS port")
	fs.StringVar(&s.RedisNoconfigUser, "redis-noconfig-user", "", "the Redis ACL user without CONFIG")
	fs.Func("current-engine", "hosts (i,j,...) that run the current dockerd", hostList(&s.CurrentEngine))
	fs.Func("gpu-mock", "hosts that have the mock NVIDIA stack", hostList(&s.GPUMock))
	fs.Func("emulated-cpufreq", "hosts that emulate a cpufreq driver", hostList(&s.EmulatedCPUFreq))
	fs.Func("thp-never", "hosts with transparent_hugepage=never on /proc/cmdline", hostList(&s.THPNever))
	// The test secrets come from the environment, not the command line.
	s.Password = os.Getenv("SANDBOX_PASSWORD")
	s.Passphrase = os.Getenv("SANDBOX_PASSPHRASE")
	s.RedisNoconfigPassword = os.Getenv("SANDBOX_REDIS_NOCONFIG_PASSWORD")
	return s, fs.String("out", "", "write known_hosts and hosts.json in this folder instead")
}

// hostList parses "2" or "2,3" into host numbers.
func hostList(dst *[]int) func(string) error {
	return func(v string) error {
		for f := range strings.SplitSeq(v, ",") {
			i, err := strconv.Atoi(f)
			if err != nil || i < 1 {
				return fmt.Errorf("host number %q", f)
			}
			*dst = append(*dst, i)
		}
		return nil
	}
}
