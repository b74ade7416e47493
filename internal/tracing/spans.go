package tracing

import (
	"context"

	natsgo "github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-auth/sesame/internal/auth"
)

// End finishes a span started by this package: a nil error is success;
// otherwise the span is marked failed with the error's bounded delivery
// reason (auth.AsDeliveryError), never the error text, which may quote a
// recipient.
type End func(err error)

// Attribute keys of Sesame's own span attributes.
const (
	AttrProvider  = attribute.Key("sesame.provider")           // twilio, sendgrid, console
	AttrChannel   = attribute.Key("sesame.channel")            // sms, whatsapp, email
	AttrMessageID = attribute.Key("sesame.message_id")         // the outbox message id
	AttrAttempt   = attribute.Key("sesame.delivery.attempt")   // 1 on the first delivery
	AttrReason    = attribute.Key("sesame.delivery.reason")    // bounded failure reason
	AttrPermanent = attribute.Key("sesame.delivery.permanent") // the failure is not retried
)

var natsSystem = semconv.MessagingSystemKey.String("nats")

func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// HeaderCarrier adapts NATS message headers to OpenTelemetry propagation,
// so the W3C traceparent travels with a JetStream message.
type HeaderCarrier natsgo.Header

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// Get returns the first value of key.
func (c HeaderCarrier) Get(key string) string { return natsgo.Header(c).Get(key) }

// Set replaces the values of key.
func (c HeaderCarrier) Set(key, value string) { natsgo.Header(c).Set(key, value) }

// Keys lists the header names.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// TraceParent returns the W3C traceparent of ctx's span, "" when ctx has
// none or tracing is off (the propagator then writes nothing). The api
// stores it with each outbox row (auth.Service.SetTraceParent).
func TraceParent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, c)
	return c.Get("traceparent")
}

// WithRemoteParent returns ctx continuing the trace traceparent names when
// ctx has no span of its own (a send the outbox relay publishes, long
// after its request); otherwise, or for "", ctx as it is.
func WithRemoteParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" || trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// StartPublish starts the producer span of one JetStream publish on subject
// and writes its trace context into h (a non-nil header map). msgID is the
// Nats-Msg-Id.
func StartPublish(ctx context.Context, subject, msgID string, h natsgo.Header) (context.Context, End) {
	ctx, span := tracer().Start(ctx, "send "+subject,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(natsSystem, semconv.MessagingOperationTypeSend, semconv.MessagingOperationName("publish"),
			semconv.MessagingDestinationName(subject), semconv.MessagingMessageID(msgID)))
	otel.GetTextMapPropagator().Inject(ctx, HeaderCarrier(h))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, "publish failed")
			span.SetAttributes(semconv.ErrorTypeKey.String("publish"))
		}
		span.End()
	}
}

// StartConsume starts the consumer span of one delivery, as a child of the
// publish span whose context the message headers h carry (a new trace if
// they carry none).
func StartConsume(ctx context.Context, h natsgo.Header, consumer, subject, messageID string, attempt uint64) (context.Context, End) {
	ctx = otel.GetTextMapPropagator().Extract(ctx, HeaderCarrier(h))
	ctx, span := tracer().Start(ctx, "process "+subject,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(natsSystem, semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
			semconv.MessagingDestinationName(subject), semconv.MessagingConsumerGroupName(consumer),
			AttrMessageID.String(messageID), AttrAttempt.Int64(int64(min(attempt, 1<<62)))))
	return ctx, endDelivery(span)
}

// StartProviderCall starts the client span around one provider send.
func StartProviderCall(ctx context.Context, provider string, ch auth.Channel, messageID string) (context.Context, End) {
	attrs := []attribute.KeyValue{AttrChannel.String(string(ch)), AttrMessageID.String(messageID)}
	if provider != "" {
		attrs = append(attrs, AttrProvider.String(provider))
	}
	ctx, span := tracer().Start(ctx, "provider send",
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, endDelivery(span)
}

func endDelivery(span trace.Span) End {
	return func(err error) {
		if err != nil {
			de := auth.AsDeliveryError(err)
			span.SetAttributes(AttrReason.String(truncate(de.Reason, 128)), AttrPermanent.Bool(de.Permanent))
			span.SetStatus(codes.Error, truncate(de.Reason, 128))
		}
		span.End()
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
