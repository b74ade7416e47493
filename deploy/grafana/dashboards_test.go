// Package grafanadeploy_test checks the Grafana dashboards in
// deploy/grafana/dashboards against the code: every panel's PromQL must
// parse, and every sesame_* metric it names (with _bucket/_sum/_count for
// histograms) must be one the processes register, with the labels it
// matches on. A renamed metric or label fails `go test ./...`. It also checks
// that the provisioning files and the compose services that mount them agree.
package grafanadeploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	promql "github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/metrics"
)

// external are the non-Sesame series the dashboards may use (from
// prometheus-nats-exporter -jsz=all), with the labels they carry.
var external = map[string][]string{
	"jetstream_consumer_num_pending":     {"stream_name", "consumer_name", "server_id", "account"},
	"jetstream_consumer_num_ack_pending": {"stream_name", "consumer_name", "server_id", "account"},
}

// scrapeLabels are added by Prometheus to every scraped series.
var scrapeLabels = []string{"job", "instance"}

// registeredSeries builds the registry the processes build (metrics.New plus
// the gauges the mains register by name), records one observation through
// every method so each vector exports a series, scrapes it, and returns
// every sesame_* series name with its label names. Histograms appear as
// name_bucket (with le), name_sum and name_count.
func registeredSeries(t *testing.T) map[string][]string {
	t.Helper()
	r := metrics.New()
	r.OTPRequested(auth.ChannelSMS)
	r.MagicLinkRequested()
	r.Authenticated(auth.FactorOTP, "ok")
	r.Published("inline", "ok")
	r.RateLimited("send")
	r.DeliveryStatus("twilio", "delivered")
	r.PumpingDecision("prefix", "blocked")
	r.PumpingRefused("prefix", "blocked")
	r.OTPCountry(auth.ChannelSMS, "US", "sent")
	r.MessageOutcome("smsworker", "ack")
	r.HandlerDuration("smsworker", time.Millisecond)
	if _, err := r.InstrumentSender("twilio", senderFunc(func() error { return nil })).Send(context.Background(), &auth.OutboundMessage{}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	r.Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	gauges := gaugeNamesInSource(t)
	for _, name := range gauges {
		r.Gauge(name, "from source", func(context.Context) (float64, error) { return 0, nil })
	}

	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := map[string][]string{}
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if !strings.HasPrefix(line, "sesame_") {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		var labels []string
		if n, body, ok := strings.Cut(line, "{"); ok && strings.Contains(body, "}") {
			name, body = n, body[:strings.LastIndex(body, "}")]
			// Label values here are the fixed ones above: none contains `="`.
			for _, kv := range strings.Split(body, `",`) {
				if k, _, ok := strings.Cut(kv, `="`); ok {
					labels = append(labels, k)
				}
			}
		}
		for _, l := range labels {
			if !slices.Contains(out[name], l) {
				out[name] = append(out[name], l)
			}
		}
		if out[name] == nil {
			out[name] = []string{}
		}
	}
	// Sanity: the scrape holds what the code is known to register, so an
	// empty or broken scrape cannot pass the dashboard check vacuously.
	for _, must := range []string{"sesame_otp_requested_total", "sesame_provider_request_duration_seconds_bucket", "sesame_otp_country_total", "sesame_outbox_pending", "sesame_consumer_pending_messages"} {
		if _, ok := out[must]; !ok {
			t.Fatalf("the registry lacks %s; got %v", must, slices.Sorted(mapsKeys(out)))
		}
	}
	return out
}

type senderFunc func() error

func (f senderFunc) Send(context.Context, *auth.OutboundMessage) (string, error) { return "id", f() }

func mapsKeys(m map[string][]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// gaugeNamesInSource finds the gauges the mains register by name:
// reg.Gauge("sesame_...", ...) and the worker's gauge("sesame_...", ...)
// helper, in every non-test Go file of the module.
func gaugeNamesInSource(t *testing.T) []string {
	t.Helper()
	root := filepath.Join("..", "..")
	var names []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", ".git", "healthcheck", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			var fn string
			switch f := call.Fun.(type) {
			case *ast.SelectorExpr:
				fn = f.Sel.Name
			case *ast.Ident:
				fn = f.Name
			}
			if fn != "Gauge" && fn != "gauge" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, "sesame_") {
					names = append(names, s)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// grafanaVars are the Grafana macros the dashboards use, replaced by a
// duration before parsing.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "6h", "$__interval", "1m")

// checkExpr parses one panel expression and checks every metric it selects
// and every label it matches or groups by against series.
func checkExpr(expr string, series map[string][]string) error {
	e, err := promql.NewParser(promql.Options{}).ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return err
	}
	var errs []error
	labelsOf := func(name string) ([]string, bool) {
		if l, ok := series[name]; ok {
			return append(slices.Clone(l), scrapeLabels...), true
		}
		if l, ok := external[name]; ok {
			return append(slices.Clone(l), scrapeLabels...), true
		}
		return nil, false
	}
	promql.Inspect(e, func(n promql.Node, _ []promql.Node) error {
		switch n := n.(type) {
		case *promql.VectorSelector:
			labels, ok := labelsOf(n.Name)
			if !ok {
				errs = append(errs, errors.New("unknown metric "+strconv.Quote(n.Name)+" (not registered by the code, not an allowed exporter series)"))
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != "__name__" && !slices.Contains(labels, m.Name) {
					errs = append(errs, errors.New(n.Name+" has no label "+strconv.Quote(m.Name)))
				}
			}
		case *promql.AggregateExpr:
			if n.Without {
				return nil
			}
			// Every grouping label must exist on some metric selected below.
			var avail []string
			promql.Inspect(n.Expr, func(c promql.Node, _ []promql.Node) error {
				if vs, ok := c.(*promql.VectorSelector); ok {
					l, _ := labelsOf(vs.Name)
					avail = append(avail, l...)
				}
				return nil
			})
			for _, g := range n.Grouping {
				if !slices.Contains(avail, g) {
					errs = append(errs, errors.New("by ("+g+"): no metric under "+n.Expr.String()+" has that label"))
				}
			}
		}
		return nil
	})
	return errors.Join(errs...)
}

type panel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type dashboardJSON struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

func loadDashboards(t *testing.T) map[string]dashboardJSON {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("dashboards", "*.json"))
	out := map[string]dashboardJSON{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboardJSON
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = d
	}
	return out
}

func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func TestDashboards_EveryExpressionParsesAndNamesRegisteredMetricsAndLabels(t *testing.T) {
	series := registeredSeries(t)
	dashboards := loadDashboards(t)
	titles := map[string]bool{}
	uids := map[string]bool{}
	exprs := 0
	for file, d := range dashboards {
		if d.UID == "" || uids[d.UID] {
			t.Errorf("%s: uid %q is empty or not unique", file, d.UID)
		}
		uids[d.UID] = true
		titles[d.Title] = true
		for _, p := range allPanels(d.Panels) {
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "prometheus" {
				t.Errorf("%s: panel %q does not use the provisioned datasource uid \"prometheus\"", file, p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", file, p.Title)
			}
			for _, tg := range p.Targets {
				exprs++
				if err := checkExpr(tg.Expr, series); err != nil {
					t.Errorf("%s: panel %q query %s: %v\n  %s", file, p.Title, tg.RefID, err, tg.Expr)
				}
			}
		}
	}
	for _, want := range []string{"Sesame delivery", "Sesame authentication"} {
		if !titles[want] {
			t.Errorf("no dashboard titled %q in %v", want, titles)
		}
	}
	if exprs < 20 {
		t.Errorf("only %d expressions checked", exprs)
	}
}

func TestCheckExpr_RejectsUnknownMetricsAndLabels(t *testing.T) {
	series := registeredSeries(t)
	for _, c := range []struct {
		name, expr string
		ok         bool
	}{
		{"registered counter", `sum by (channel) (rate(sesame_otp_requested_total[$__rate_interval]))`, true},
		{"histogram bucket with le", `histogram_quantile(0.95, sum by (le, provider) (rate(sesame_provider_request_duration_seconds_bucket[5m])))`, true},
		{"gauge registered in a main", `max by (job) (sesame_consumer_pending_messages)`, true},
		{"exporter series", `max by (consumer_name) (jetstream_consumer_num_pending{stream_name="SESAME"})`, true},
		{"renamed metric", `rate(sesame_otp_requests_total[5m])`, false},
		{"histogram base name is not a series", `rate(sesame_provider_request_duration_seconds[5m])`, false},
		{"unknown label matcher", `sesame_otp_requested_total{chanel="sms"}`, false},
		{"unknown grouping label", `sum by (country) (rate(sesame_otp_requested_total[5m]))`, false},
		{"unknown exporter series", `jetstream_stream_total_messages`, false},
		{"syntax error", `sum by (channel (rate(sesame_otp_requested_total[5m]))`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkExpr(c.expr, series)
			if (err == nil) != c.ok {
				t.Fatalf("checkExpr(%s) = %v, want ok=%v", c.expr, err, c.ok)
			}
		})
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestProvisioning_ComposeMountsTheDashboardsAndPrometheusScrapesEveryProcess(t *testing.T) {
	var ds struct {
		Datasources []struct{ Name, UID, Type, URL string } `yaml:"datasources"`
	}
	readYAML(t, "provisioning/datasources/prometheus.yml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != "prometheus" || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("datasource provisioning: %+v", ds.Datasources)
	}
	var dp struct {
		Providers []struct {
			Options struct{ Path string } `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "provisioning/dashboards/sesame.yml", &dp)
	if len(dp.Providers) != 1 || dp.Providers[0].Options.Path != "/var/lib/grafana/dashboards" {
		t.Fatalf("dashboard provisioning: %+v", dp.Providers)
	}

	var compose struct {
		Services map[string]struct {
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	readYAML(t, "../docker-compose.yml", &compose)
	mounts := map[string]string{} // container path -> host path, relative to deploy/
	for _, svc := range []string{"grafana", "prometheus"} {
		s, ok := compose.Services[svc]
		if !ok {
			t.Fatalf("docker-compose.yml has no %s service", svc)
		}
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if strings.HasPrefix(parts[0], "./") {
				if _, err := os.Stat(filepath.Join("..", parts[0])); err != nil {
					t.Errorf("%s mounts %s: %v", svc, parts[0], err)
				}
				mounts[parts[1]] = parts[0]
			}
		}
	}
	for container, host := range map[string]string{
		"/etc/grafana/provisioning":      "./grafana/provisioning",
		dp.Providers[0].Options.Path:     "./grafana/dashboards",
		"/etc/prometheus/prometheus.yml": "./prometheus/prometheus.yml",
	} {
		if mounts[container] != host {
			t.Errorf("compose mounts %q at %s, want %q", mounts[container], container, host)
		}
	}

	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "../prometheus/prometheus.yml", &prom)
	for _, rf := range prom.RuleFiles {
		if mounts[rf] == "" {
			t.Errorf("rule file %s is not mounted by compose", rf)
		}
	}
	jobs := map[string]bool{}
	for _, sc := range prom.ScrapeConfigs {
		jobs[sc.JobName] = true
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, _, _ := strings.Cut(target, ":")
				if _, ok := compose.Services[host]; !ok {
					t.Errorf("job %s scrapes %s: no such compose service", sc.JobName, target)
				}
			}
		}
	}
	// The delivery dashboard groups the worker gauges by job.
	for _, j := range []string{"api", "smsworker", "emailworker", "nats"} {
		if !jobs[j] {
			t.Errorf("prometheus.yml has no job %q", j)
		}
	}
}
