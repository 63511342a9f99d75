// Command promrules checks a Prometheus rule file with Prometheus's own
// code, for the monitoring module's tests: the rule file parser (YAML
// shape, PromQL of every expression, label names, templates), then,
// optionally, the alerting rules evaluated as Prometheus evaluates them
// against scrapes given in the text exposition format.
//
// It is a module of its own so that Prometheus and its dependencies stay
// out of the provider's go.mod.
//
//	promrules RULES_FILE [CASES_JSON]
//	promrules check rules RULES_FILE...
//
// CASES_JSON is a list of cases: {"name", "step" (a Go duration between
// scrapes), "labels" (target labels added to every sample, e.g. job and
// instance), "scrapes" (exposition texts, the first at time 0)}. After each
// scrape is stored, every alerting rule is evaluated at that scrape's time.
// The output is JSON: the rule groups as parsed, and per case the alerts
// active after the last evaluation, with their state, labels and expanded
// annotations. A rule file Prometheus refuses exits 1 with its errors.
//
// The second form answers as `promtool check rules` does (the parser's
// errors on stderr and exit 1), for the module's validate_command on a
// test host, which has no promtool.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/tsdb"
)

type testCase struct {
	Name    string            `json:"name"`
	Step    string            `json:"step"`
	Labels  map[string]string `json:"labels"`
	Scrapes []string          `json:"scrapes"`
}

type ruleOut struct {
	Alert string `json:"alert"`
	Expr  string `json:"expr"`
	For   string `json:"for"`
}

type groupOut struct {
	Name  string    `json:"name"`
	Rules []ruleOut `json:"rules"`
}

type alertOut struct {
	State       string            `json:"state"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Value       float64           `json:"value"`
}

type output struct {
	Groups []groupOut            `json:"groups"`
	Cases  map[string][]alertOut `json:"cases,omitempty"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	promQL := parser.NewParser(parser.Options{})
	parse := func(file string) (*rulefmt.RuleGroups, error) {
		groups, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, promQL, logger)
		return groups, errors.Join(errs...)
	}
	if len(args) >= 3 && args[0] == "check" && args[1] == "rules" {
		for _, file := range args[2:] {
			fmt.Fprintf(stdout, "Checking %s\n", file)
			groups, err := parse(file)
			if err != nil {
				return fmt.Errorf("  FAILED:\n%w", err)
			}
			n := 0
			for _, g := range groups.Groups {
				n += len(g.Rules)
			}
			fmt.Fprintf(stdout, "  SUCCESS: %d rules found\n", n)
		}
		return nil
	}
	if len(args) < 1 || len(args) > 2 {
		return errors.New("usage: promrules RULES_FILE [CASES_JSON] | promrules check rules RULES_FILE...")
	}
	groups, err := parse(args[0])
	if err != nil {
		return err
	}
	out := output{Groups: []groupOut{}}
	for _, g := range groups.Groups {
		og := groupOut{Name: g.Name, Rules: []ruleOut{}}
		for _, r := range g.Rules {
			og.Rules = append(og.Rules, ruleOut{Alert: r.Alert, Expr: r.Expr, For: r.For.String()})
		}
		out.Groups = append(out.Groups, og)
	}
	if len(args) == 2 {
		raw, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		var cases []testCase
		if err := json.Unmarshal(raw, &cases); err != nil {
			return fmt.Errorf("%s: %w", args[1], err)
		}
		out.Cases = map[string][]alertOut{}
		for _, c := range cases {
			alerts, err := evaluate(groups, c, promQL, logger)
			if err != nil {
				return fmt.Errorf("case %s: %w", c.Name, err)
			}
			out.Cases[c.Name] = alerts
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// evaluate stores the case's scrapes in a fresh TSDB and evaluates every
// alerting rule after each scrape, as a Prometheus that scrapes and
// evaluates at the same interval would.
func evaluate(groups *rulefmt.RuleGroups, c testCase, p parser.Parser, logger *slog.Logger) ([]alertOut, error) {
	step, err := time.ParseDuration(c.Step)
	if err != nil || step <= 0 {
		return nil, fmt.Errorf("step %q: a positive Go duration is needed", c.Step)
	}
	dir, err := os.MkdirTemp("", "promrules-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, err := tsdb.Open(dir, logger, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	var alerting []*rules.AlertingRule
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				return nil, err
			}
			alerting = append(alerting, rules.NewAlertingRule(r.Alert, expr, time.Duration(r.For), time.Duration(r.KeepFiringFor),
				labels.FromMap(r.Labels), labels.FromMap(r.Annotations), labels.EmptyLabels(), "", false, logger))
		}
	}

	engine := promql.NewEngine(promql.EngineOpts{Logger: logger, MaxSamples: 1e7, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	query := rules.EngineQueryFunc(engine, db)
	external, _ := url.Parse("http://prometheus.test")
	start := time.Unix(1_700_000_000, 0)
	ctx := context.Background()
	for i, text := range c.Scrapes {
		ts := start.Add(time.Duration(i) * step)
		if err := store(db, []byte(text), c.Labels, ts); err != nil {
			return nil, fmt.Errorf("scrape %d: %w", i, err)
		}
		for _, r := range alerting {
			if _, err := r.Eval(ctx, 0, ts, query, external, 0); err != nil {
				return nil, fmt.Errorf("%s at scrape %d: %w", r.Name(), i, err)
			}
		}
	}

	alerts := []alertOut{}
	for _, r := range alerting {
		for _, a := range r.ActiveAlerts() {
			alerts = append(alerts, alertOut{State: a.State.String(), Labels: a.Labels.Map(), Annotations: a.Annotations.Map(), Value: a.Value})
		}
	}
	sort.Slice(alerts, func(i, j int) bool {
		return labels.Compare(labels.FromMap(alerts[i].Labels), labels.FromMap(alerts[j].Labels)) < 0
	})
	return alerts, nil
}

// store appends one scrape at ts, with the target labels added (a label the
// exposition already has wins, as with honor_labels).
func store(db *tsdb.DB, text []byte, target map[string]string, ts time.Time) error {
	scrape := textparse.NewPromParser(text, labels.NewSymbolTable(), false)
	app := db.Appender(context.Background())
	for {
		entry, err := scrape.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = app.Rollback()
			return err
		}
		if entry != textparse.EntrySeries {
			continue
		}
		_, _, v := scrape.Series()
		var lset labels.Labels
		scrape.Labels(&lset)
		b := labels.NewBuilder(lset)
		for k, val := range target {
			if !lset.Has(k) {
				b.Set(k, val)
			}
		}
		if _, err := app.Append(0, b.Labels(), ts.UnixMilli(), v); err != nil {
			_ = app.Rollback()
			return err
		}
	}
	return app.Commit()
}
