package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
)

// Every script that writes, chmods, chowns or reads a file as root first
// proves that nobody but root (or the file's own user) can redirect it:
// safeChainFuncs is the shell half of that proof, shared by those scripts.
//
// chain_ok DIR UID walks DIR's existing components from "/" in one stat(1)
// call, up to one that is not a folder (in the way: the caller's mkdir or
// write says so). Each must be a real folder owned by root or by UID, writable by no
// one else (a folder writable by others is accepted only with the sticky
// bit, as /tmp: others may add entries there but not move ours), or a
// symbolic link that root owns (only root could have made it point
// elsewhere, e.g. Debian's /lib -> usr/lib); a path that passes through links
// is then checked again as it resolves. On refusal it sets "why" and returns
// 1; it sets "userdir" to a folder owned by UID when UID is not root.
//
// When the chain holds a folder of UID's (not root's) and the script runs as
// root, chain_ok sets "dropto", and as_owner "$@" runs the script again as
// that user (setpriv; the script's text is in $MCPAI_SELF, see selfArgv): whatever link that user plants then leads only where they could
// write themselves. PostgreSQL's data folder and postgresql.auto.conf, both
// the postgres user's, are written this way.
//
// refuse MESSAGE ends the script with a "refused <base64>" line, which the
// client turns into a *UnsafePathError.
const safeChainFuncs = `refuse() { echo "refused $(printf '%s' "$1" | base64 -w0)"; exit 0; }
uname_of() { id -nu "$1" 2>/dev/null || echo "uid $1"; }
chain_walk() {
  cw_tu=$2; cw_d=$1; cw_c=; cw_rest=${1#/}; set -- /
  while [ -n "$cw_rest" ]; do
    cw_part=${cw_rest%%/*}
    if [ "$cw_part" = "$cw_rest" ]; then cw_rest=; else cw_rest=${cw_rest#*/}; fi
    [ -n "$cw_part" ] || continue
    cw_c=$cw_c/$cw_part
    if [ -e "$cw_c" ] || [ -L "$cw_c" ]; then set -- "$@" "$cw_c"; else break; fi
  done
  cw_s=$(stat -c '%f %u %g %n' -- "$@") || { why="cannot inspect the folders of $cw_d"; return 1; }
  while read -r cw_f cw_u cw_g cw_n; do
    cw_t=$(( 0x$cw_f & 61440 )); cw_m=$(( 0x$cw_f & 4095 ))
    if [ "$cw_t" = 40960 ]; then
      if [ "$cw_u" != 0 ]; then why="$cw_n is a symbolic link that $(uname_of "$cw_u") owns, not root"; return 1; fi
      links=yes; continue
    fi
    # A file in the way: nothing below it exists, so nothing to check there.
    if [ "$cw_t" != 16384 ]; then return 0; fi
    if [ "$cw_u" != 0 ]; then
      if [ "$cw_u" != "$cw_tu" ]; then why="$cw_n belongs to $(uname_of "$cw_u"), not root, and $(uname_of "$cw_u") could point the path elsewhere: use a folder that only root (or the file's owner) can change"; return 1; fi
      userdir=$cw_n
    fi
    # Group write counts even for group root: with an ACL, those bits are
    # the mask of what named users may do.
    if [ $(( cw_m & 512 )) = 0 ]; then
      if [ $(( cw_m & 2 )) != 0 ]; then why="$cw_n may be written by every user"; return 1; fi
      # ... except the own group of a folder's non-root owner, whom the
      # script then acts as (Debian's /etc/redis: redis:redis, 2775).
      if [ $(( cw_m & 16 )) != 0 ] && { [ "$cw_u" = 0 ] || [ "$cw_g" != "$(id -g -- "$cw_u")" ]; }; then
        why="$cw_n may be written by the members of group $(getent group "$cw_g" | cut -d: -f1) (or users an ACL names)"; return 1
      fi
    fi
  done <<EOF
$cw_s
EOF
}
chain_ok() {
  links=no; userdir=
  chain_walk "$1" "$2" || return 1
  if [ $links = yes ]; then
    # The deepest folder that exists, resolved, is walked again: a link of
    # root's may still lead into a folder another user controls.
    co_e=$1
    while [ ! -d "$co_e" ]; do co_e=${co_e%/*}; [ -n "$co_e" ] || co_e=/; done
    co_r=$(cd -P -- "$co_e" && pwd -P) || { why="cannot resolve $co_e"; return 1; }
    links=no
    chain_walk "$co_r" "$2" || return 1
  fi
  dropto=
  if [ -n "$userdir" ] && [ "$(id -u)" = 0 ]; then dropto=$2; fi
}
as_owner() {
  if [ -n "$dropto" ]; then
    exec setpriv --reuid="$dropto" --regid="$(id -g -- "$dropto")" --init-groups -- sh -c "$MCPAI_SELF" sh "$MCPAI_SELF" "$@"
  fi
}
`

// UnsafePathError is a path refused because someone other than root (or the
// file's own user) could redirect a privileged access through it.
type UnsafePathError struct {
	Path   string
	Reason string
}

func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("%s was not touched: %s. Nothing was changed", e.Path, e.Reason)
}

// unsafePath turns a "refused" status line into its error.
func unsafePath(p string, l statusLine) error {
	return &UnsafePathError{Path: p, Reason: l.decoded()}
}

// CleanAbsPath checks that p is an absolute path in its clean form: no
// "//", "/./", "/../" or trailing "/" that could dress one path as another
// and slip past a check on its prefix.
func CleanAbsPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q is not an absolute path", p)
	case strings.ContainsAny(p, "\x00\n\r"):
		return fmt.Errorf("%q holds a control character", p)
	case path.Clean(p) != p:
		return fmt.Errorf("%q is not in its clean form; write %q", p, path.Clean(p))
	}
	return nil
}

// selfArgv runs script with args such that as_owner can run it again: its
// text also travels as the first argument, which it keeps in $MCPAI_SELF.
func selfArgv(script string, args ...string) []string {
	script = `MCPAI_SELF=$1; shift` + "\n" + script
	return append([]string{"sh", "-c", script, "sh", script}, args...)
}

// sha256Hex is the hex SHA-256 of data, as sha256sum prints it.
func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
