// Package metrics exposes Sesame's numbers in Prometheus format: business
// events from the domain (auth.Metrics), worker outcomes (nats.Metrics),
// provider calls, HTTP requests and queue gauges. Every series is prefixed
// "sesame_" and carries only bounded labels (never a phone, email or id).
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sesame-auth/sesame/internal/auth"
)

// Registry holds one process's metrics.
type Registry struct {
	reg *prometheus.Registry

	otpRequested   *prometheus.CounterVec
	linkRequested  prometheus.Counter
	authenticated  *prometheus.CounterVec
	published      *prometheus.CounterVec
	rateLimited    *prometheus.CounterVec
	deliveryStatus *prometheus.CounterVec
	workerMessages *prometheus.CounterVec
	workerDuration *prometheus.HistogramVec
	providerCalls  *prometheus.CounterVec
	providerTime   *prometheus.HistogramVec
	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	pumpingState   *prometheus.CounterVec
	pumpingRefused *prometheus.CounterVec
	otpCountry     *prometheus.CounterVec // country.go
	sms            *smsRouteMetrics       // smsroute.go
}

// New returns a registry with the Go and process collectors.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { r.reg.MustRegister(c) }
	r.otpRequested = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_otp_requested_total", Help: "One-time codes accepted for delivery, by channel."}, []string{"channel"})
	r.linkRequested = prometheus.NewCounter(prometheus.CounterOpts{Name: "sesame_magiclink_requested_total", Help: "Magic links accepted for delivery."})
	r.authenticated = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_authentications_total", Help: "Code and link verifications by factor and result (ok or an error code)."}, []string{"factor", "result"})
	r.published = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_outbox_published_total", Help: "Event publishes to JetStream by path (inline after commit, or relay from the outbox) and result."}, []string{"path", "result"})
	r.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_rate_limited_total", Help: "Requests refused by a rate limit, by limit."}, []string{"limit"})
	r.deliveryStatus = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_delivery_status_total", Help: "Provider delivery reports (status callbacks, event webhooks) by provider and reported status, or unknown when no message matched."}, []string{"provider", "status"})
	r.workerMessages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_worker_messages_total", Help: "Messages settled by a worker, by consumer and outcome (ack, nak, term)."}, []string{"consumer", "outcome"})
	r.workerDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sesame_worker_handler_duration_seconds", Help: "Time to handle one message, provider call included.", Buckets: prometheus.DefBuckets}, []string{"consumer"})
	r.providerCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_provider_requests_total", Help: "Provider send calls by provider and result (ok, or the failure reason such as 'twilio 21211')."}, []string{"provider", "result"})
	r.providerTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sesame_provider_request_duration_seconds", Help: "Provider send call latency.", Buckets: prometheus.DefBuckets}, []string{"provider"})
	r.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_http_requests_total", Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"})
	r.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sesame_http_request_duration_seconds", Help: "HTTP request latency by route pattern.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"route"})
	r.pumpingState = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_sms_pumping_decisions_total", Help: "SMS-pumping guard state changes, by subject kind (prefix, country) and new state (ok, throttled, blocked, lifted)."}, []string{"kind", "state"})
	r.pumpingRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_sms_pumping_refused_total", Help: "SMS sends refused by the SMS-pumping guard, by subject kind and state (throttled, blocked)."}, []string{"kind", "state"})
	f(r.pumpingState)
	f(r.pumpingRefused)
	r.otpCountry = newCountryCounter()
	f(r.otpCountry)
	r.sms = newSMSRouteMetrics(r.reg)
	for _, c := range []prometheus.Collector{r.otpRequested, r.linkRequested, r.authenticated, r.published, r.rateLimited, r.deliveryStatus, r.workerMessages, r.workerDuration, r.providerCalls, r.providerTime, r.httpRequests, r.httpDuration} {
		f(c)
	}
	return r
}

// Handler serves /metrics.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// Gauge registers a gauge whose value is read from fn at scrape time,
// with a 2 s bound. A failing fn reports -1.
func (r *Registry) Gauge(name, help string, fn func(ctx context.Context) (float64, error)) {
	r.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		v, err := fn(ctx)
		if err != nil {
			return -1
		}
		return v
	}))
}

// ---- auth.Metrics ----

func (r *Registry) OTPRequested(ch auth.Channel) { r.otpRequested.WithLabelValues(string(ch)).Inc() }
func (r *Registry) MagicLinkRequested()          { r.linkRequested.Inc() }
func (r *Registry) Authenticated(factor, res string) {
	r.authenticated.WithLabelValues(factor, res).Inc()
}
func (r *Registry) Published(path, res string) { r.published.WithLabelValues(path, res).Inc() }
func (r *Registry) RateLimited(limit string)   { r.rateLimited.WithLabelValues(limit).Inc() }

// PumpingDecision counts an SMS-pumping guard state change (auth.PumpingMetrics).
func (r *Registry) PumpingDecision(kind, state string) {
	r.pumpingState.WithLabelValues(kind, state).Inc()
}

// PumpingRefused counts a send the SMS-pumping guard refused (auth.PumpingMetrics).
func (r *Registry) PumpingRefused(kind, state string) {
	r.pumpingRefused.WithLabelValues(kind, state).Inc()
}

func (r *Registry) DeliveryStatus(provider, status string) {
	r.deliveryStatus.WithLabelValues(provider, status).Inc()
}

var _ auth.PumpingMetrics = (*Registry)(nil)

// ---- nats.Metrics ----

// MessageOutcome counts a settled message.
func (r *Registry) MessageOutcome(consumer, outcome string) {
	r.workerMessages.WithLabelValues(consumer, outcome).Inc()
}

// HandlerDuration observes one handler call.
func (r *Registry) HandlerDuration(consumer string, d time.Duration) {
	r.workerDuration.WithLabelValues(consumer).Observe(d.Seconds())
}

// ---- providers ----

type instrumentedSender struct {
	r        *Registry
	provider string
	next     auth.Sender
}

// InstrumentSender counts and times every call of a provider sender.
func (r *Registry) InstrumentSender(provider string, s auth.Sender) auth.Sender {
	return &instrumentedSender{r: r, provider: provider, next: s}
}

func (s *instrumentedSender) Send(ctx context.Context, m *auth.OutboundMessage) (string, error) {
	start := time.Now()
	id, err := s.next.Send(ctx, m)
	s.r.providerTime.WithLabelValues(s.provider).Observe(time.Since(start).Seconds())
	result := "ok"
	if err != nil {
		result = auth.AsDeliveryError(err).Reason
	}
	s.r.providerCalls.WithLabelValues(s.provider, result).Inc()
	return id, err
}

// ---- HTTP ----

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (Flush for
// streamed answers such as the dev inbox's Server-Sent Events).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Middleware counts and times requests by the ServeMux pattern that served
// them (bounded), or "unmatched".
func (r *Registry) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, req)
		route := req.Pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		r.httpRequests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		r.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
