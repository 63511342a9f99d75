package remote

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrSudoPassword means sudo -n refused because it wanted a password.
var ErrSudoPassword = errors.New("sudo asked for a password: allow this user passwordless sudo (NOPASSWD in sudoers) for the commands the provider runs, or connect as root and set sudo = false")

func sudoWantsPassword(stderr []byte) bool {
	s := string(stderr)
	return strings.Contains(s, "a password is required") || strings.Contains(s, "a terminal is required")
}

// ErrLockLost means the connection holding the host lock broke while a
// change was under way; the lock died with it.
var ErrLockLost = errors.New("the connection to the host broke while this run held the host lock, and the lock went with it; nothing more was sent. Check the host, then run apply again")

// DialError is a failure to reach the SSH port at all.
type DialError struct {
	Address string
	Err     error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("cannot reach %s: %v. Check the address and port, that sshd runs there, and that no firewall blocks it", e.Address, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// AuthError is a rejected login.
type AuthError struct {
	User    string
	Address string
	Err     error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("authentication as %q on %s failed (%v): check user and that private_key, password or the agent's keys are authorised on the host", e.User, e.Address, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// CommandError is a command that ran and exited non-zero.
type CommandError struct {
	Program  string
	ExitCode int
	Stderr   string
}

func (e *CommandError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("%s exited with status %d", e.Program, e.ExitCode)
	}
	return fmt.Sprintf("%s exited with status %d: %s", e.Program, e.ExitCode, e.Stderr)
}

func classifyHandshakeError(e Endpoint, err error) error {
	var mismatch *HostKeyMismatchError
	if errors.As(err, &mismatch) {
		return mismatch
	}
	if strings.Contains(err.Error(), "unable to authenticate") {
		return &AuthError{User: e.userOrDefault(), Address: e.Address(), Err: err}
	}
	return &DialError{Address: e.Address(), Err: err}
}

// retryable says whether a dial failure may go away on its own: a refused or
// dropped TCP connection, not a wrong key or credential.
func retryable(err error) bool {
	var mismatch *HostKeyMismatchError
	var auth *AuthError
	var config *ConfigError
	if errors.As(err, &mismatch) || errors.As(err, &auth) || errors.As(err, &config) {
		return false
	}
	var dial *DialError
	var netErr net.Error
	return errors.As(err, &dial) || errors.As(err, &netErr)
}

// ConfigError is connection settings that cannot work, found before any
// packet is sent: unusable key material, no credentials, no host key.
type ConfigError struct {
	Err error
}

func (e *ConfigError) Error() string { return e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }
