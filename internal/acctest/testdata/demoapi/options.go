package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// options are the uvicorn settings the demo takes, with uvicorn's defaults.
type options struct {
	App              string `json:"app"`
	Host             string `json:"host"`
	Port             int    `json:"port"`
	Workers          int    `json:"workers"`
	Loop             string `json:"loop"`
	HTTP             string `json:"http"`
	AccessLog        bool   `json:"access_log"`
	TimeoutKeepAlive int    `json:"timeout_keep_alive"`
	Backlog          int    `json:"backlog"`
}

func defaults() options {
	return options{Host: "127.0.0.1", Port: 8000, Workers: 1, Loop: "auto", HTTP: "auto", AccessLog: true,
		TimeoutKeepAlive: 5, Backlog: 2048}
}

// usageError is a command line uvicorn would refuse: shown after the usage
// lines, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errHelp is --help: the usage and the options, exit status 0.
var errHelp = errors.New("help")

const usageLine = "Usage: uvicorn [OPTIONS] APP"

const helpText = usageLine + `

  mcpai demo stand-in for a FastAPI app served by uvicorn (a Go program, not
  uvicorn). Workers are goroutine accept loops in one process.

Options:
  --host TEXT                     Bind socket to this host.  [default: 127.0.0.1]
  --port INTEGER                  Bind socket to this port.  [default: 8000]
  --workers INTEGER               Number of worker accept loops.  [default: 1]
  --loop [auto|asyncio|uvloop]    Event loop (reported only).  [default: auto]
  --http [auto|h11|httptools]     HTTP protocol (reported only).  [default: auto]
  --access-log / --no-access-log  Enable/Disable access log.
  --timeout-keep-alive INTEGER    Close idle keep-alive connections after this
                                  many seconds.  [default: 5]
  --backlog INTEGER               Backlog (reported only).  [default: 2048]
  --help                          Show this message and exit.
`

// valueOptions take a value: as the next argument or after "=".
var valueOptions = map[string]func(o *options, v string) error{
	"--host": func(o *options, v string) error { o.Host = v; return nil },
	"--port": func(o *options, v string) error {
		return intRange("--port", v, 0, 65535, &o.Port)
	},
	"--workers": func(o *options, v string) error {
		return intRange("--workers", v, 1, 1024, &o.Workers)
	},
	"--loop": func(o *options, v string) error {
		return choice("--loop", v, []string{"auto", "asyncio", "uvloop"}, &o.Loop)
	},
	"--http": func(o *options, v string) error {
		return choice("--http", v, []string{"auto", "h11", "httptools"}, &o.HTTP)
	},
	"--timeout-keep-alive": func(o *options, v string) error {
		return intRange("--timeout-keep-alive", v, 0, 86400, &o.TimeoutKeepAlive)
	},
	"--backlog": func(o *options, v string) error {
		return intRange("--backlog", v, 1, 1<<20, &o.Backlog)
	},
}

// flagOptions take no value.
var flagOptions = map[string]func(o *options){
	"--access-log":    func(o *options) { o.AccessLog = true },
	"--no-access-log": func(o *options) { o.AccessLog = false },
}

// parseArgs reads uvicorn's command line (without the program name): one
// APP and the options above, in any order, "--opt value" or "--opt=value";
// "--" ends the options.
func parseArgs(args []string) (options, error) {
	o := defaults()
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		if a == "--help" {
			return o, errHelp
		}
		name, value, hasValue := strings.Cut(a, "=")
		if set, ok := flagOptions[name]; ok {
			if hasValue {
				return o, usageError{fmt.Sprintf("Option '%s' does not take a value.", name)}
			}
			set(&o)
			continue
		}
		set, ok := valueOptions[name]
		if !ok {
			return o, usageError{"No such option: " + name}
		}
		if !hasValue {
			if i+1 == len(args) {
				return o, usageError{fmt.Sprintf("Option '%s' requires an argument.", name)}
			}
			i++
			value = args[i]
		}
		if err := set(&o, value); err != nil {
			return o, err
		}
	}
	switch len(positional) {
	case 0:
		return o, usageError{"Missing argument 'APP'."}
	case 1:
		o.App = positional[0]
	default:
		return o, usageError{fmt.Sprintf("Got unexpected extra argument (%s)", strings.Join(positional[1:], " "))}
	}
	return o, nil
}

func intRange(name, v string, lo, hi int, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return usageError{fmt.Sprintf("Invalid value for '%s': '%s' is not a valid integer.", name, v)}
	}
	if n < lo || n > hi {
		return usageError{fmt.Sprintf("Invalid value for '%s': %d is not in the range %d<=x<=%d.", name, n, lo, hi)}
	}
	*dst = n
	return nil
}

func choice(name, v string, allowed []string, dst *string) error {
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	return usageError{fmt.Sprintf("Invalid value for '%s': '%s' is not one of '%s'.", name, v, strings.Join(allowed, "', '"))}
}

// appProblem is uvicorn's check of the import string, made before it
// listens ("<module>:<attribute>"): its complaint, or "" when it passes.
func appProblem(app string) string {
	module, attr, ok := strings.Cut(app, ":")
	if !ok || module == "" || attr == "" {
		return fmt.Sprintf("Error loading ASGI app. Import string %q must be in format \"<module>:<attribute>\".", app)
	}
	return ""
}
