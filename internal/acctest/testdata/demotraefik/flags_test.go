package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	module := []string{"--entryPoints.web.address=:8000", "--entryPoints.metrics.address=:8082",
		"--providers.file.filename=/etc/traefik/dynamic.yml", "--providers.file.watch=true", "--ping=true",
		"--ping.entryPoint=metrics", "--metrics.prometheus=true", "--metrics.prometheus.entryPoint=metrics",
		"--log.level=INFO", "--accessLog=false"}
	moduleWant := staticConfig{EntryPoints: map[string]string{"web": ":8000", "metrics": ":8082"},
		File: "/etc/traefik/dynamic.yml", Watch: true, Ping: true, PingEntryPoint: "metrics", Prometheus: true,
		PrometheusEntryPoint: "metrics", LogLevel: "INFO"}
	tests := []struct {
		name string
		args []string
		want staticConfig
		err  string // a part of the error; "" for none
	}{
		{name: "what the module passes", args: module, want: moduleWant},
		{name: "keys in any letter case; booleans bare; levels in any case", args: []string{
			"--ENTRYPOINTS.web.ADDRESS=:8000", "--entrypoints.metrics.address=0.0.0.0:8082/tcp",
			"--Providers.File.FileName=/etc/traefik/dynamic.yml", "--providers.file.watch", "--PING",
			"--ping.entrypoint=metrics", "--metrics.Prometheus", "--metrics.prometheus.entrypoint=metrics",
			"--log.level=info", "--accesslog=false"},
			want: func() staticConfig {
				c := moduleWant
				c.EntryPoints = map[string]string{"web": ":8000", "metrics": "0.0.0.0:8082"}
				return c
			}()},
		{name: "entry point name keeps its case", args: []string{"--entryPoints.Web.address=:1"},
			want: staticConfig{EntryPoints: map[string]string{"Web": ":1"}, PingEntryPoint: "traefik",
				PrometheusEntryPoint: "traefik", LogLevel: "ERROR"}},
		{name: "nothing: Traefik's http entry point on :80", args: nil,
			want: staticConfig{EntryPoints: map[string]string{"http": ":80"}, PingEntryPoint: "traefik",
				PrometheusEntryPoint: "traefik", LogLevel: "ERROR"}},
		{name: "ping without an entry point gets traefik on :8080", args: []string{"--entryPoints.web.address=:80", "--ping"},
			want: staticConfig{EntryPoints: map[string]string{"web": ":80", "traefik": ":8080"}, Ping: true,
				PingEntryPoint: "traefik", PrometheusEntryPoint: "traefik", LogLevel: "ERROR"}},
		{name: "an entryPoint enables its section unless set false", args: []string{"--entryPoints.m.address=:1",
			"--ping.entryPoint=m", "--metrics.prometheus=false", "--metrics.prometheus.entryPoint=m"},
			want: staticConfig{EntryPoints: map[string]string{"m": ":1"}, Ping: true, PingEntryPoint: "m",
				PrometheusEntryPoint: "m", LogLevel: "ERROR"}},
		{name: "accessLog true", args: []string{"--entryPoints.web.address=:80", "--accessLog=true"},
			want: staticConfig{EntryPoints: map[string]string{"web": ":80"}, PingEntryPoint: "traefik",
				PrometheusEntryPoint: "traefik", LogLevel: "ERROR", AccessLog: true}},
		{name: "unknown flag", args: []string{"--entryPoints.web.address=:80", "--api.insecure=true"},
			err: "unknown flag --api.insecure: the stand-in takes only --entryPoints.<name>.address"},
		{name: "a real Traefik flag the stand-in lacks", args: []string{"--providers.docker=true"}, err: "unknown flag --providers.docker"},
		{name: "entry point option other than address", args: []string{"--entryPoints.web.http.redirections.entryPoint.to=x"},
			err: "unknown flag --entryPoints.web.http.redirections.entryPoint.to"},
		{name: "single dash", args: []string{"-ping"}, err: `unexpected argument "-ping"`},
		{name: "positional", args: []string{"serve"}, err: `unexpected argument "serve"`},
		{name: "bad boolean", args: []string{"--ping=yes"}, err: `--ping: "yes" is not a boolean`},
		{name: "value missing", args: []string{"--providers.file.filename"}, err: "--providers.file.filename needs a value"},
		{name: "empty value", args: []string{"--entryPoints.web.address="}, err: "--entryPoints.web.address needs a value"},
		{name: "bad log level", args: []string{"--log.level=verbose"}, err: `--log.level: "verbose" is not one of TRACE, DEBUG`},
		{name: "address without port", args: []string{"--entryPoints.web.address=8000"}, err: "want [host]:port"},
		{name: "address port out of range", args: []string{"--entryPoints.web.address=:80000"}, err: "want [host]:port"},
		{name: "udp", args: []string{"--entryPoints.dns.address=:53/udp"}, err: "the stand-in listens on TCP only"},
		{name: "ping on a missing entry point", args: []string{"--entryPoints.web.address=:80", "--ping.entryPoint=metrics"},
			err: "--ping.entryPoint=metrics: no such entry point"},
		{name: "entry point names are case sensitive", args: []string{"--entryPoints.metrics.address=:1",
			"--metrics.prometheus.entryPoint=Metrics"}, err: "--metrics.prometheus.entryPoint=Metrics: no such entry point"},
		{name: "watch without a file", args: []string{"--providers.file.watch=true"}, err: "needs --providers.file.filename"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args)
			if tt.err != "" {
				var fe flagError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
