package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// smsRouteMetrics are the SMS route and failover series (smsroute.Metrics).
type smsRouteMetrics struct {
	calls     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	failovers *prometheus.CounterVec
	open      *prometheus.GaugeVec
}

func newSMSRouteMetrics(reg *prometheus.Registry) *smsRouteMetrics {
	m := &smsRouteMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_sms_provider_requests_total",
			Help: "SMS/WhatsApp provider calls by provider name (SMS_PROVIDERS), route (a calling-code prefix such as +91, or default) and result (ok or the failure reason)."},
			[]string{"provider", "route", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sesame_sms_provider_request_duration_seconds",
			Help: "SMS/WhatsApp provider call latency by provider and route.", Buckets: prometheus.DefBuckets}, []string{"provider", "route"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_sms_provider_failovers_total",
			Help: "Messages sent through another provider than their route's primary because the primary was skipped after transient failures."},
			[]string{"route", "from", "to"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sesame_sms_provider_open",
			Help: "1 while an SMS provider is skipped (cool-down after consecutive transient failures), else 0."}, []string{"provider"}),
	}
	reg.MustRegister(m.calls, m.duration, m.failovers, m.open)
	return m
}

// SMSProviderCall counts and times one routed provider call. The provider
// series shared with email (sesame_provider_requests_total,
// sesame_provider_request_duration_seconds) get it too, under the
// provider's name, so dashboards built on them keep working.
func (r *Registry) SMSProviderCall(provider, route, result string, d time.Duration) {
	r.sms.calls.WithLabelValues(provider, route, result).Inc()
	r.sms.duration.WithLabelValues(provider, route).Observe(d.Seconds())
	r.providerCalls.WithLabelValues(provider, result).Inc()
	r.providerTime.WithLabelValues(provider).Observe(d.Seconds())
}

// SMSFailover counts a message sent through a fallback provider.
func (r *Registry) SMSFailover(route, from, to string) {
	r.sms.failovers.WithLabelValues(route, from, to).Inc()
}

// SMSProviderOpen sets whether a provider is skipped.
func (r *Registry) SMSProviderOpen(provider string, open bool) {
	v := 0.0
	if open {
		v = 1
	}
	r.sms.open.WithLabelValues(provider).Set(v)
}
