package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The scripts below are constants: paths and contents reach them only as
// positional arguments or on standard input, never spliced into the text.

// readFilesScript prints one status line per path: "ok <base64>",
// "kernel", "missing", "refused <base64 reason>" or "unreadable", then, for
// the "kernel" ones, their lines as "path:line" from a single grep (the
// loop appends them to the arguments, which it has already expanded).
// Kernel parameters (/proc/sys) are one line of text each, so one process
// reads them all instead of a base64 per value: a refresh reads many.
//
// Other files are read only when their folders pass chain_ok (see
// safeChainFuncs), checked once per folder: a folder of the file's own user
// (PostgreSQL's data folder) is read from as that user, and a link that is
// not root's, at the file or above it, is refused. Root never reads where
// another user could point it.
const readFilesScript = kernelPathFunc + "\n" + safeChainFuncs + `
n=$#
verdicts=
verdict() {
  case "$verdicts" in *"
$2 $1=>"*) v=${verdicts#*"
$2 $1=>"}; v=${v%%"
"*}; return ;; esac
  if chain_ok "$1" "${2:-0}"; then v=root; [ -z "$dropto" ] || v="as $dropto"
  else v="no $(printf '%s' "$why" | base64 -w0)"; fi
  verdicts="$verdicts
$2 $1=>$v"
}
for p do
  if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo missing
  elif kernel_path "$p"; then echo kernel; set -- "$@" "$p"
  else
    d=${p%/*}; [ -n "$d" ] || d=/
    u=; if [ -L "$p" ]; then u=$(stat -c %u -- "$p"); fi
    if [ -n "$u" ] && [ "$u" != 0 ]; then
      echo "refused $(printf '%s is a symbolic link that %s owns, not root' "$p" "$(uname_of "$u")" | base64 -w0)"; continue
    fi
    # A link of root's (Debian's /etc/sysctl.d/99-sysctl.conf): its
    # target's folders are the ones that count.
    if [ -n "$u" ]; then r=$(readlink -f -- "$p") && d=${r%/*} && [ -n "$d" ] || d=/; fi
    verdict "$d" ""
    case $v in no*) verdict "$d" "$(stat -L -c %u -- "$p")" ;; esac
    case $v in
      root) if b=$(base64 -w0 2>/dev/null <"$p"); then echo "ok $b"; else echo unreadable; fi ;;
      as*) if b=$(setpriv --reuid="${v#as }" --regid="$(id -g -- "${v#as }")" --init-groups base64 -w0 -- "$p" 2>/dev/null); then echo "ok $b"; else echo unreadable; fi ;;
      *) echo "refused ${v#no }" ;;
    esac
  fi
done
shift "$n"
if [ $# -gt 0 ]; then grep -aH '' -- "$@" 2>/dev/null; fi
true`

// kernelPathFunc tells a /proc/sys path from others. A path with a colon,
// or one that climbs out with "..", is read as an ordinary file, so that
// "path:line" stays unambiguous and only kernel values are read by line.
const kernelPathFunc = `kernel_path() { case $1 in *:* | */../*) return 1 ;; /proc/sys/*) return 0 ;; esac; return 1; }`

// FileContent is one file as read from the host.
type FileContent struct {
	Path   string
	Exists bool
	Data   []byte
}

// ReadFiles reads several files in one round trip. A missing file is not an
// error; an unreadable one is. Concurrent calls on one client share round
// trips: while one read is on the wire, the calls that arrive are gathered
// into the next, so a refresh of many resources costs a few sessions, not
// one each.
func (c *Client) ReadFiles(ctx context.Context, paths ...string) ([]FileContent, error) {
	req := &readRequest{paths: paths, done: make(chan struct{})}
	c.readMu.Lock()
	c.readQueue = append(c.readQueue, req)
	if !c.reading {
		c.reading = true
		go c.drainReads() //nolint:gosec // the batch serves many callers; each waits on its own context
	}
	c.readMu.Unlock()
	select {
	case <-req.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if req.err != nil {
		return nil, fmt.Errorf("reading %s on %s: %w", strings.Join(paths, ", "), c.cfg, req.err)
	}
	files := make([]FileContent, len(paths))
	for i, l := range req.lines {
		files[i].Path = paths[i]
		switch l.status {
		case "missing":
		case "ok":
			files[i].Exists = true
			files[i].Data = l.data
		case "refused":
			return nil, unsafePath(paths[i], l)
		default:
			return nil, fmt.Errorf("%s on %s exists but cannot be read by the login user: connect as root or set sudo = true", paths[i], c.cfg)
		}
	}
	return files, nil
}

type readRequest struct {
	paths []string
	lines []statusLine
	err   error
	done  chan struct{}
}

// drainReads runs the queued reads, one batch at a time, until none is left.
func (c *Client) drainReads() {
	for {
		// Terraform sends its reads in a burst (up to -parallelism at once);
		// waiting a moment lets the whole burst share the first round trip.
		time.Sleep(readGather)
		c.readMu.Lock()
		// A batch's paths travel in one command line; keep it well below
		// the kernel's 128 KiB limit on one argument.
		n, size := 0, 0
		for n < len(c.readQueue) && (n == 0 || size < maxBatchBytes) {
			for _, p := range c.readQueue[n].paths {
				size += len(p) + 3
			}
			n++
		}
		batch := c.readQueue[:n:n]
		c.readQueue = c.readQueue[n:]
		if len(batch) == 0 {
			c.reading = false
			c.readMu.Unlock()
			return
		}
		c.readMu.Unlock()

		var all []string
		for _, r := range batch {
			all = append(all, r.paths...)
		}
		// The batch outlives any one caller's context; each caller still
		// stops waiting when its own context ends.
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.timeout()+readTimeout)
		var lines []statusLine
		out, err := c.Output(ctx, append([]string{"sh", "-c", readFilesScript, "sh"}, all...), nil)
		cancel()
		var kernel map[string][]byte
		if err == nil {
			lines, kernel, err = parseKernelOutput(out, len(all))
		}
		if err == nil {
			// Kernel values arrive after the status lines; give each its
			// content, or call it unreadable if grep printed nothing.
			for i, p := range all {
				if lines[i].status == "kernel" {
					if data, ok := kernel[p]; ok {
						lines[i] = statusLine{status: "ok", data: data}
					} else {
						lines[i] = statusLine{status: "unreadable"}
					}
				}
			}
		}
		for _, r := range batch {
			if err != nil {
				r.err = err
			} else {
				r.lines, lines = lines[:len(r.paths)], lines[len(r.paths):]
			}
			close(r.done)
		}
	}
}

// readGather is how long a batch waits for companions: small next to one
// round trip (a few milliseconds even on loopback).
const readGather = time.Millisecond

// maxBatchBytes bounds the quoted paths of one read batch.
const maxBatchBytes = 32 << 10

// readTimeout bounds a batch of reads once connected.
const readTimeout = 2 * time.Minute

// putFileScript writes stdin to $1 through a temp file in the same folder
// and renames it over, so readers see the old or the new file, never a mix.
// Arguments: path, mode, owner, group, keep (yes: an existing file keeps its
// mode and owner), mkdir (yes: create missing folders; no: print
// "nofolder"), the content's length and SHA-256, "--", then an optional
// validate command whose "{}" arguments name the temp file.
//
// Before anything is created, the path's folders must pass chain_ok (see
// safeChainFuncs), so no other user can redirect the write, the chmod or the
// chown; the file itself must not be a link. The temp file is checked
// against the length and SHA-256 before it may replace anything: a
// transfer cut short leaves the old file, and the temp file is removed on
// every way out but SIGKILL. It prints the previous file ("meta <mode>
// <owner> <group>" and "old <b64>", or "new"), or "refused <b64>",
// "nofolder", "invalid <b64>" (the validate command's output) or "short
// <bytes received>".
const putFileScript = safeChainFuncs + `set -eu
p=$1; owner=$3
d=${p%/*}; [ -n "$d" ] || d=/
# The user whose folders may hold the file: its owner to be (an unknown
# one fails at chown below, with chown's own message), else the existing
# file's, else the current one. In a folder everyone may write (sticky, as
# /tmp) an existing file of another user's is not ours to take over.
if [ -n "$owner" ] && tu=$(id -u -- "$owner" 2>/dev/null); then :
elif [ -e "$p" ] && [ ! -L "$p" ]; then
  tu=$(stat -c %u -- "$p")
  if [ "$tu" != "$(id -u)" ] && [ $(( 0x$(stat -c %f -- "$d") & 2 )) != 0 ]; then
    refuse "$p belongs to $(uname_of "$tu") in $d, which every user may write: remove it, or choose another path"
  fi
else tu=$(id -u); fi
chain_ok "$d" "$tu" || refuse "$why"
as_owner "$@"
mode=$2; group=$4; keep=$5; mk=$6; size=$7; sum=$8; shift 9
if [ -L "$p" ] || { [ -e "$p" ] && [ ! -f "$p" ]; }; then
  refuse "$p is a symbolic link, a folder or a special file: point the resource at a regular file"
fi
if [ ! -d "$d" ]; then
  if [ "$mk" != yes ]; then echo nofolder; exit 0; fi
  mkdir -p -- "$d"
  chain_ok "$d" "$tu" || refuse "$why"
fi
t=
trap '[ -z "$t" ] || rm -f -- "$t"' EXIT
trap 'exit 1' HUP INT TERM PIPE
t=$(mktemp -- "$d/.mcpai.XXXXXXXX")
cat >"$t"
n=$(wc -c <"$t")
h=$(sha256sum <"$t"); h=${h%% *}
if [ "$n" != "$size" ] || [ "$h" != "$sum" ]; then echo "short $n"; exit 0; fi
if [ "$keep" = yes ] && [ -e "$p" ]; then
  chmod --reference="$p" -- "$t"
  chown --reference="$p" -- "$t"
else
  chmod -- "$mode" "$t"
  if [ -n "$owner" ] && [ -n "$group" ]; then chown -- "$owner:$group" "$t"
  elif [ -n "$owner" ]; then chown -- "$owner" "$t"
  elif [ -n "$group" ]; then chgrp -- "$group" "$t"; fi
fi
if [ $# -gt 0 ]; then
  n=$#
  for a do
    if [ "$a" = "{}" ]; then set -- "$@" "$t"; else set -- "$@" "$a"; fi
  done
  shift "$n"
  if ! out=$("$@" 2>&1); then echo "invalid $(printf '%s' "$out" | base64 -w0)"; exit 0; fi
fi
prev=new
if [ -e "$p" ]; then
  m=$(stat -c '%a %U %G' -- "$p"); o=$(base64 -w0 <"$p"); prev=old
fi
sync -- "$t"
mv -fT -- "$t" "$p"
trap - EXIT
sync -- "$d" || true
if [ $prev = old ]; then echo "meta $m"; echo "old $o"; else echo new; fi`

// putFile runs putFileScript and returns its status lines, or an error for
// a refused path or a transfer that did not arrive whole.
func (c *Client) putFile(ctx context.Context, p string, data []byte, own Ownership, keep, mkdir bool, validate []string) ([]statusLine, error) {
	if err := CleanAbsPath(p); err != nil {
		return nil, &UnsafePathError{Path: p, Reason: err.Error()}
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	argv := selfArgv(putFileScript, append([]string{p, fmt.Sprintf("%04o", own.Mode&07777), own.Owner, own.Group,
		yes(keep), yes(mkdir), strconv.Itoa(len(data)), sha256Hex(data), "--"}, validate...)...)
	out, err := c.Output(ctx, argv, data)
	if err != nil {
		return nil, fmt.Errorf("writing %s on %s: %w", p, c.cfg, err)
	}
	lines, err := parseStatusLines(out, -1)
	if err != nil {
		return nil, err
	}
	if len(lines) == 1 {
		switch lines[0].status {
		case "refused":
			return nil, unsafePath(p, lines[0])
		case "short":
			return nil, fmt.Errorf("writing %s on %s: the host received %s of %d bytes, or other bytes than were sent (the connection broke?); the file was left as it was", p, c.cfg, lines[0].text, len(data))
		}
	}
	return lines, nil
}

// FileState is what a path holds: nothing, or some content.
type FileState struct {
	Exists bool
	Data   []byte
}

// WriteFileAtomic replaces path with data so that readers see the old or the
// new file, never a mix, and returns what was there before.
// A new file gets mode and the login user's ownership (root's with sudo);
// an existing one keeps its mode and owner. Missing folders are created.
func (c *Client) WriteFileAtomic(ctx context.Context, path string, data []byte, mode os.FileMode) (FileState, error) {
	lines, err := c.putFile(ctx, path, data, Ownership{Mode: mode}, true, true, nil)
	if err != nil {
		return FileState{}, err
	}
	prev, err := fileMetaFrom(path, lines)
	return FileState{Exists: prev.Exists, Data: prev.Data}, err
}

// removeFileScript removes $1 when its folders pass chain_ok: a link in the
// chain could make root remove another file of the same name. It prints
// "removed" or "refused <b64>".
const removeFileScript = safeChainFuncs + `set -eu
p=$1; d=${p%/*}; [ -n "$d" ] || d=/
if [ -e "$p" ] && [ ! -L "$p" ]; then tu=$(stat -c %u -- "$p"); else tu=$(id -u); fi
chain_ok "$d" "$tu" || refuse "$why"
as_owner "$@"
rm -f -- "$p"
echo removed`

// RemoveFile deletes path (a link itself, never what it points to); a
// missing file is fine.
func (c *Client) RemoveFile(ctx context.Context, path string) error {
	if err := CleanAbsPath(path); err != nil {
		return &UnsafePathError{Path: path, Reason: err.Error()}
	}
	out, err := c.Output(ctx, selfArgv(removeFileScript, path), nil)
	if err != nil {
		return fmt.Errorf("removing %s on %s: %w", path, c.cfg, err)
	}
	lines, err := parseStatusLines(out, 1)
	if err != nil {
		return err
	}
	if lines[0].status == "refused" {
		return unsafePath(path, lines[0])
	}
	return nil
}

// SetFile makes path hold state: written atomically (mode applies to a new
// file), or removed. Rollbacks use it to put back a FileState read earlier.
func (c *Client) SetFile(ctx context.Context, path string, state FileState, mode os.FileMode) error {
	if !state.Exists {
		return c.RemoveFile(ctx, path)
	}
	_, err := c.WriteFileAtomic(ctx, path, state.Data, mode)
	return err
}

// writeInPlaceScript writes each value into its path with a single write,
// as /proc and /sys expect. Its arguments are the mode, then path and value
// pairs, then "--" and the paths again for the read-back. Per pair it prints
// "ok" or "err <message>"; with mode "stop" it stops at the first failure.
// Then one grep reads every path back as "path:line". The shell's own printf
// does the writing (no process per value); only when it fails does tee write
// again, because tee reports the kernel's errno ("Invalid argument") where
// printf says "I/O error". "err" therefore means neither write landed.
const writeInPlaceScript = `mode=$1; shift
while [ "$1" != -- ]; do
  p=$1; v=$2; shift 2
  if { printf '%s' "$v" >"$p"; } 2>/dev/null; then
    echo ok
  else
    if e=$(printf '%s' "$v" | tee -- "$p" 2>&1 >/dev/null); then
      echo ok
    else
      echo "err $(printf '%s' "$e" | tr '\n' ' ')"
      if [ "$mode" = stop ]; then break; fi
    fi
  fi
done
while [ "$1" != -- ]; do shift; done
shift
if [ $# -gt 0 ]; then grep -aH '' -- "$@" 2>/dev/null; fi
true`

// PathValue is a value to write into a kernel file.
type PathValue struct {
	Path  string
	Value string
}

// WriteResult is the outcome of one write: the kernel's read-back on
// success, its complaint otherwise. Attempted is false for pairs skipped
// after an earlier failure.
type WriteResult struct {
	Attempted bool
	OK        bool
	ReadBack  string
	Error     string
}

// WriteInPlace writes values into existing kernel files (/proc/sys, /sys) in
// one round trip. With stopOnError, pairs after the first failure are not
// attempted.
func (c *Client) WriteInPlace(ctx context.Context, writes []PathValue, stopOnError bool) ([]WriteResult, error) {
	mode := "all"
	if stopOnError {
		mode = "stop"
	}
	argv := []string{"sh", "-c", writeInPlaceScript, "sh", mode}
	for _, w := range writes {
		if strings.Contains(w.Path, ":") || !strings.HasPrefix(w.Path, "/") {
			return nil, fmt.Errorf("%q is not a kernel file path", w.Path)
		}
		argv = append(argv, w.Path, w.Value)
	}
	argv = append(argv, "--")
	seen := map[string]bool{}
	for _, w := range writes {
		if !seen[w.Path] {
			seen[w.Path] = true
			argv = append(argv, w.Path)
		}
	}
	out, err := c.Output(ctx, argv, nil)
	if err != nil {
		return nil, fmt.Errorf("writing kernel settings on %s: %w", c.cfg, err)
	}
	// The status lines come first; how many depends on where a "stop" run
	// stopped, so count them off until the read-back begins.
	n := 0
	for _, line := range strings.SplitAfter(string(out), "\n") {
		if n == len(writes) || (line != "ok\n" && !strings.HasPrefix(line, "err ")) {
			break
		}
		n++
	}
	lines, readBack, err := parseKernelOutput(out, n)
	if err != nil {
		return nil, err
	}
	results := make([]WriteResult, len(writes))
	for i, l := range lines {
		results[i].Attempted = true
		switch l.status {
		case "ok":
			results[i].OK = true
			results[i].ReadBack = string(readBack[writes[i].Path])
		case "err":
			results[i].Error = cleanShellError(l.text)
		}
	}
	return results, nil
}

// cleanShellError strips the shell's "sh: 1: " or tee's "tee: " prefix so
// that the message reads as the kernel's answer.
func cleanShellError(msg string) string {
	return shellPrefix.ReplaceAllString(strings.TrimSpace(msg), "")
}

// shellPrefix is how dash ("sh: 4: "), bash ("sh: line 4: ") and tee label
// their messages.
var shellPrefix = regexp.MustCompile(`^(sh: (line )?[0-9]+: |tee: )`)

// parseKernelOutput splits n status lines from the "path:line" lines that
// follow them, gathering each path's lines (with their newlines).
func parseKernelOutput(out []byte, n int) ([]statusLine, map[string][]byte, error) {
	head := out
	rest := []byte(nil)
	for i, at := 0, 0; i < n; i++ {
		j := bytes.IndexByte(out[at:], '\n')
		if j < 0 {
			return nil, nil, fmt.Errorf("unexpected output from the host: fewer than %d answers", n)
		}
		at += j + 1
		head, rest = out[:at], out[at:]
	}
	if n == 0 {
		head, rest = nil, out
	}
	lines, err := parseStatusLines(head, n)
	if err != nil {
		return nil, nil, err
	}
	kernel := map[string][]byte{}
	for _, line := range bytes.SplitAfter(rest, []byte("\n")) {
		p, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		kernel[string(p)] = append(kernel[string(p)], value...)
	}
	return lines, kernel, nil
}

type statusLine struct {
	status string
	data   []byte // base64-decoded payload for "ok" and "old"
	text   string // raw payload for other statuses
}

// decoded is a payload the script base64-encoded (a message that may span
// lines), trimmed.
func (l statusLine) decoded() string {
	b, _ := base64.StdEncoding.DecodeString(l.text)
	return strings.TrimSpace(string(b))
}

// parseStatusLines reads "<status> [payload]" lines; want < 0 accepts any
// count.
func parseStatusLines(out []byte, want int) ([]statusLine, error) {
	var lines []statusLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	for sc.Scan() {
		status, payload, _ := strings.Cut(sc.Text(), " ")
		l := statusLine{status: status, text: payload}
		if status == "ok" || status == "old" {
			data, err := base64.StdEncoding.DecodeString(payload)
			if err != nil {
				return nil, fmt.Errorf("unexpected output from the host: %w", err)
			}
			l.data = data
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("unexpected output from the host: %w", err)
	}
	if want >= 0 && len(lines) != want {
		return nil, fmt.Errorf("unexpected output from the host: %d lines where %d were expected", len(lines), want)
	}
	return lines, nil
}
