package webhooks_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/api/webhooks"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

const (
	publicURL   = "https://auth.example.com"
	twilioToken = "0123456789abcdef0123456789abcdef"
	twilioPath  = "/v1/webhooks/twilio"
	sgPath      = "/v1/webhooks/sendgrid"
)

// countingMetrics records DeliveryStatus calls.
type countingMetrics struct {
	auth.NopMetrics
	mu sync.Mutex
	n  map[string]int
}

func (m *countingMetrics) DeliveryStatus(provider, status string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == nil {
		m.n = map[string]int{}
	}
	m.n[provider+" "+status]++
}

func (m *countingMetrics) get(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n[key]
}

type env struct {
	*authtest.Env
	svc     *auth.Service
	metrics *countingMetrics
	sgKey   *ecdsa.PrivateKey
	handler http.Handler
	seq     atomic.Int64
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	ae := authtest.New(tb)
	m := &countingMetrics{}
	svc := auth.NewService(ae.Store, ae.Publisher, ae.Keys, ae.Signer, m, nil, auth.Config{SendLimit: 1000})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{Env: ae, svc: svc, metrics: m, sgKey: key}
	e.handler = webhooks.NewHandler(svc, webhooks.Options{
		PublicURL: publicURL, TwilioAuthToken: twilioToken, SendGridVerificationKey: publicKeyBase64(tb, &key.PublicKey),
	})
	return e
}

func publicKeyBase64(tb testing.TB, pub any) string {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// sentMessage sends a code on ch to a fresh recipient and records it sent
// with providerID, as a worker would. It returns the message id.
func (e *env) sentMessage(tb testing.TB, ch auth.Channel, providerID string) string {
	tb.Helper()
	n := e.seq.Add(1)
	to := fmt.Sprintf("+1415557%04d", n)
	if ch == auth.ChannelEmail {
		to = fmt.Sprintf("wh%d@example.com", n)
	}
	res, err := e.svc.SendOTP(tb.Context(), e.Project, auth.SendOTPInput{Channel: ch, To: to, LoginOrCreate: true, Expiration: 5 * time.Minute})
	if err != nil {
		tb.Fatalf("SendOTP: %v", err)
	}
	if d, err := e.Store.BeginDelivery(tb.Context(), res.MessageID, time.Minute); err != nil || d != auth.DeliverySend {
		tb.Fatalf("BeginDelivery = %v, %v", d, err)
	}
	if err := e.Store.FinishDelivery(tb.Context(), res.MessageID, auth.MessageSent, providerID, ""); err != nil {
		tb.Fatal(err)
	}
	return res.MessageID
}

func (e *env) message(tb testing.TB, id string) *auth.Message {
	tb.Helper()
	m, err := e.svc.GetMessage(tb.Context(), e.Project, id)
	if err != nil {
		tb.Fatalf("GetMessage: %v", err)
	}
	return m
}

func (e *env) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// twilioSignature signs like Twilio: base64 HMAC-SHA1 over the URL followed
// by every POST parameter as key+value, keys sorted.
func twilioSignature(token, u string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := u
	for _, k := range keys {
		s += k + form.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func twilioRequest(form url.Values, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, twilioPath, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		r.Header.Set("X-Twilio-Signature", sig)
	}
	return r
}

// sendgridSignature signs like SendGrid: ECDSA over sha256(timestamp +
// payload), the ASN.1 DER signature in base64.
func sendgridSignature(tb testing.TB, key *ecdsa.PrivateKey, ts string, payload []byte) string {
	tb.Helper()
	h := sha256.Sum256(append([]byte(ts), payload...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func sendgridRequest(body []byte, sig, ts string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, sgPath, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if sig != "" {
		r.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
	}
	if ts != "" {
		r.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
	}
	return r
}

func TestTwilioStatusCallback(t *testing.T) {
	e := newEnv(t)
	other := "fedcba9876543210fedcba9876543210"
	tests := []struct {
		name       string
		status     string // MessageStatus
		errorCode  string
		sid        string // "" = the message's sid, "-" = none
		sign       func(sid string, form url.Values) string
		wantCode   int
		wantStatus auth.MessageStatus
		wantError  string
	}{
		{name: "DeliveredRecordsDelivered", status: "delivered", wantCode: 200, wantStatus: auth.MessageDelivered},
		{name: "UndeliveredRecordsErrorCode", status: "undelivered", errorCode: "30003", wantCode: 200, wantStatus: auth.MessageUndelivered, wantError: "twilio 30003"},
		{name: "FailedRecordsUndelivered", status: "failed", errorCode: "30008", wantCode: 200, wantStatus: auth.MessageUndelivered, wantError: "twilio 30008"},
		{name: "FailedWithoutCodeNamesStatus", status: "failed", wantCode: 200, wantStatus: auth.MessageUndelivered, wantError: "twilio failed"},
		{name: "MalformedErrorCodeNotRecorded", status: "undelivered", errorCode: "30003<script>", wantCode: 200, wantStatus: auth.MessageUndelivered, wantError: "twilio undelivered"},
		{name: "SentIgnored", status: "sent", wantCode: 200, wantStatus: auth.MessageSent},
		{name: "QueuedIgnored", status: "queued", wantCode: 200, wantStatus: auth.MessageSent},
		{name: "UnknownSidAcknowledged", status: "delivered", sid: "SM00000000000000000000000000000000", wantCode: 200, wantStatus: auth.MessageSent},
		{name: "MissingSidBadRequest", status: "delivered", sid: "-", wantCode: 400, wantStatus: auth.MessageSent},
		{name: "MissingSignatureForbidden", status: "delivered", wantCode: 403, wantStatus: auth.MessageSent,
			sign: func(string, url.Values) string { return "" }},
		{name: "OtherTokenForbidden", status: "delivered", wantCode: 403, wantStatus: auth.MessageSent,
			sign: func(_ string, f url.Values) string { return twilioSignature(other, publicURL+twilioPath, f) }},
		{name: "OtherURLForbidden", status: "delivered", wantCode: 403, wantStatus: auth.MessageSent,
			sign: func(_ string, f url.Values) string {
				return twilioSignature(twilioToken, "https://evil.example.com"+twilioPath, f)
			}},
		{name: "TamperedStatusForbidden", status: "delivered", wantCode: 403, wantStatus: auth.MessageSent,
			sign: func(sid string, _ url.Values) string {
				return twilioSignature(twilioToken, publicURL+twilioPath, url.Values{"MessageSid": {sid}, "MessageStatus": {"sent"}})
			}},
		{name: "GarbageSignatureForbidden", status: "delivered", wantCode: 403, wantStatus: auth.MessageSent,
			sign: func(string, url.Values) string { return "not base64 !" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sid := "SM" + strings.ReplaceAll(auth.NewUUID(), "-", "")
			id := e.sentMessage(t, auth.ChannelSMS, sid)
			form := url.Values{"AccountSid": {"ACx"}, "MessageStatus": {tc.status}, "SmsStatus": {tc.status}, "To": {"+14155550000"}}
			switch tc.sid {
			case "":
				form.Set("MessageSid", sid)
			case "-":
			default:
				form.Set("MessageSid", tc.sid)
			}
			if tc.errorCode != "" {
				form.Set("ErrorCode", tc.errorCode)
			}
			sig := twilioSignature(twilioToken, publicURL+twilioPath, form)
			if tc.sign != nil {
				sig = tc.sign(sid, form)
			}
			unknown := e.metrics.get("twilio unknown")
			w := e.serve(twilioRequest(form, sig))
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d (%s)", w.Code, tc.wantCode, w.Body)
			}
			m := e.message(t, id)
			if m.Status != tc.wantStatus || m.LastError != tc.wantError {
				t.Fatalf("message %q %q, want %q %q", m.Status, m.LastError, tc.wantStatus, tc.wantError)
			}
			if tc.name == "UnknownSidAcknowledged" && e.metrics.get("twilio unknown") != unknown+1 {
				t.Fatalf("unknown sid not counted: %v", e.metrics.n)
			}
		})
	}
	if e.metrics.get("twilio delivered") != 1 || e.metrics.get("twilio undelivered") != 4 {
		t.Fatalf("metrics %v", e.metrics.n)
	}
}

func TestTwilioStatusCallbackSignsFullURL(t *testing.T) {
	e := newEnv(t)
	sid := "SMfull" + strings.ReplaceAll(auth.NewUUID(), "-", "")
	id := e.sentMessage(t, auth.ChannelWhatsApp, sid)
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}}
	r := twilioRequest(form, twilioSignature(twilioToken, publicURL+twilioPath+"?tag=a", form))
	r.URL.RawQuery = "tag=a"
	if w := e.serve(r); w.Code != 200 {
		t.Fatalf("code %d", w.Code)
	}
	if m := e.message(t, id); m.Status != auth.MessageDelivered || m.DeliveredAt == nil {
		t.Fatalf("message %q %v", m.Status, m.DeliveredAt)
	}
}

func TestSendGridEventWebhookBatch(t *testing.T) {
	e := newEnv(t)
	xid := func() string { return strings.ReplaceAll(auth.NewUUID(), "-", "")[:22] }
	byCustomArg, byPrefix, bounced, dropped, deferred, processed, smsSameID := xid(), xid(), xid(), xid(), xid(), xid(), xid()
	ids := map[string]string{}
	for _, p := range []string{byCustomArg, byPrefix, bounced, dropped, deferred, processed} {
		ids[p] = e.sentMessage(t, auth.ChannelEmail, p)
	}
	ids[smsSameID] = e.sentMessage(t, auth.ChannelSMS, smsSameID)
	sg := func(x string) string { return x + ".filterdrecv-5f6b7c-1-6543-2.0" }
	events := []any{
		// message_id (our custom arg) wins over an sg_message_id that matches nothing.
		map[string]any{"event": "delivered", "email": "a@example.com", "timestamp": 1700000000, "sg_message_id": sg("nomatch"), "message_id": ids[byCustomArg]},
		map[string]any{"event": "delivered", "sg_message_id": sg(byPrefix), "smtp-id": "<x@y>"},
		map[string]any{"event": "bounce", "type": "bounce", "reason": "550 5.1.1 no such user", "sg_message_id": sg(bounced)},
		map[string]any{"event": "dropped", "reason": "Bounced Address", "sg_message_id": sg(dropped)},
		map[string]any{"event": "deferred", "attempt": "1", "sg_message_id": sg(deferred)},
		map[string]any{"event": "processed", "sg_message_id": sg(processed)},
		map[string]any{"event": "open", "sg_message_id": sg(processed)},
		map[string]any{"event": "delivered", "sg_message_id": sg(processed)},
		// An SMS with the same provider id: SendGrid reports never touch it.
		map[string]any{"event": "delivered", "sg_message_id": sg(smsSameID)},
		// Unknown message, another app's custom arg, odd shapes: acknowledged.
		map[string]any{"event": "delivered", "sg_message_id": sg("unknownunknownunknown1")},
		map[string]any{"event": "delivered", "message_id": 42, "sg_message_id": 7},
		map[string]any{"event": []int{1}},
		"not an object",
		nil,
	}
	body, _ := json.Marshal(events)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	w := e.serve(sendgridRequest(body, sendgridSignature(t, e.sgKey, ts, body), ts))
	if w.Code != 200 {
		t.Fatalf("code %d (%s)", w.Code, w.Body)
	}
	want := map[string]struct {
		status auth.MessageStatus
		reason string
	}{
		byCustomArg: {auth.MessageDelivered, ""},
		byPrefix:    {auth.MessageDelivered, ""},
		bounced:     {auth.MessageUndelivered, "sendgrid bounce"},
		dropped:     {auth.MessageUndelivered, "sendgrid dropped"},
		deferred:    {auth.MessageSent, ""},
		processed:   {auth.MessageDelivered, ""},
		smsSameID:   {auth.MessageSent, ""},
	}
	for p, wnt := range want {
		m := e.message(t, ids[p])
		if m.Status != wnt.status || m.LastError != wnt.reason {
			t.Errorf("%s (%s): %q %q, want %q %q", m.ID, m.Channel, m.Status, m.LastError, wnt.status, wnt.reason)
		}
	}
	if e.metrics.get("sendgrid delivered") != 3 || e.metrics.get("sendgrid undelivered") != 2 || e.metrics.get("sendgrid unknown") != 2 {
		t.Errorf("metrics %v", e.metrics.n)
	}

	// The same batch again (SendGrid retries): nothing changes.
	w = e.serve(sendgridRequest(body, sendgridSignature(t, e.sgKey, ts, body), ts))
	if w.Code != 200 {
		t.Fatalf("retry code %d", w.Code)
	}
	if m := e.message(t, ids[bounced]); m.Status != auth.MessageUndelivered {
		t.Errorf("after retry: %q", m.Status)
	}
}

func TestSendGridEventWebhookSignature(t *testing.T) {
	e := newEnv(t)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	tests := []struct {
		name      string
		req       func(body []byte) *http.Request
		wantCode  int
		delivered bool
	}{
		{"ValidSignatureRecorded", func(b []byte) *http.Request {
			return sendgridRequest(b, sendgridSignature(t, e.sgKey, ts, b), ts)
		}, 200, true},
		{"MissingSignatureForbidden", func(b []byte) *http.Request { return sendgridRequest(b, "", ts) }, 403, false},
		{"MissingTimestampForbidden", func(b []byte) *http.Request {
			return sendgridRequest(b, sendgridSignature(t, e.sgKey, ts, b), "")
		}, 403, false},
		{"OtherKeyForbidden", func(b []byte) *http.Request {
			return sendgridRequest(b, sendgridSignature(t, otherKey, ts, b), ts)
		}, 403, false},
		{"OtherTimestampForbidden", func(b []byte) *http.Request {
			return sendgridRequest(b, sendgridSignature(t, e.sgKey, ts, b), ts+"1")
		}, 403, false},
		{"TamperedBodyForbidden", func(b []byte) *http.Request {
			sig := sendgridSignature(t, e.sgKey, ts, b)
			return sendgridRequest([]byte(strings.Replace(string(b), "delivered", "bounce", 1)), sig, ts)
		}, 403, false},
		{"GarbageSignatureForbidden", func(b []byte) *http.Request { return sendgridRequest(b, "%%%", ts) }, 403, false},
		{"NonDERSignatureForbidden", func(b []byte) *http.Request {
			return sendgridRequest(b, base64.StdEncoding.EncodeToString([]byte("xyz")), ts)
		}, 403, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pid := strings.ReplaceAll(auth.NewUUID(), "-", "")[:22]
			id := e.sentMessage(t, auth.ChannelEmail, pid)
			body, _ := json.Marshal([]map[string]any{{"event": "delivered", "sg_message_id": pid + ".filter0001"}})
			w := e.serve(tc.req(body))
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d", w.Code, tc.wantCode)
			}
			if got := e.message(t, id).Status == auth.MessageDelivered; got != tc.delivered {
				t.Fatalf("delivered = %v, want %v", got, tc.delivered)
			}
		})
	}
}

func TestSendGridNotJSONBadRequest(t *testing.T) {
	e := newEnv(t)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for _, body := range []string{`{"event":"delivered"}`, `not json`, ``} {
		w := e.serve(sendgridRequest([]byte(body), sendgridSignature(t, e.sgKey, ts, []byte(body)), ts))
		if w.Code != 400 {
			t.Errorf("%q: code %d, want 400", body, w.Code)
		}
	}
}

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name     string
		opts     webhooks.Options
		req      *http.Request
		wantCode int
	}{
		{"TwilioDisabledWithoutTokenNotFound", webhooks.Options{PublicURL: publicURL},
			twilioRequest(url.Values{"MessageSid": {"SMx"}}, "sig"), 404},
		{"SendGridDisabledWithoutKeyNotFound", webhooks.Options{PublicURL: publicURL, TwilioAuthToken: twilioToken},
			sendgridRequest([]byte(`[]`), "sig", "1"), 404},
		{"SendGridRSAKeyServerError", webhooks.Options{SendGridVerificationKey: publicKeyBase64(t, &rsaKey.PublicKey)},
			sendgridRequest([]byte(`[]`), "sig", "1"), 500},
		{"TwilioGetNotAllowed", webhooks.Options{TwilioAuthToken: twilioToken},
			httptest.NewRequest(http.MethodGet, twilioPath, nil), 405},
		{"TwilioOversizedBodyTooLarge", webhooks.Options{TwilioAuthToken: twilioToken},
			twilioRequest(url.Values{"Body": {strings.Repeat("x", 70<<10)}}, "sig"), 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			webhooks.NewHandler(e.svc, tc.opts).ServeHTTP(w, tc.req)
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d", w.Code, tc.wantCode)
			}
		})
	}
}

func TestSendGridReplayRefused(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	tests := []struct {
		name      string
		ts        time.Time
		wantCode  int
		delivered bool
	}{
		{"FreshBatchRecorded", now, 200, true},
		{"SlightlyOldBatchRecorded", now.Add(-4 * time.Minute), 200, true},
		{"TenMinutesOldForbidden", now.Add(-10 * time.Minute), 403, false},
		{"DayOldForbidden", now.Add(-24 * time.Hour), 403, false},
		{"FarFutureForbidden", now.Add(10 * time.Minute), 403, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pid := strings.ReplaceAll(auth.NewUUID(), "-", "")[:22]
			id := e.sentMessage(t, auth.ChannelEmail, pid)
			body, _ := json.Marshal([]map[string]any{{"event": "delivered", "sg_message_id": pid + ".filter0001"}})
			ts := strconv.FormatInt(tc.ts.Unix(), 10)
			w := e.serve(sendgridRequest(body, sendgridSignature(t, e.sgKey, ts, body), ts))
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d", w.Code, tc.wantCode)
			}
			if got := e.message(t, id).Status == auth.MessageDelivered; got != tc.delivered {
				t.Fatalf("delivered = %v, want %v", got, tc.delivered)
			}
		})
	}
}

func TestSendGridRepeatedEventCountedOnce(t *testing.T) {
	e := newEnv(t)
	pid := strings.ReplaceAll(auth.NewUUID(), "-", "")[:22]
	e.sentMessage(t, auth.ChannelEmail, pid)
	ev := map[string]any{"event": "delivered", "sg_message_id": pid + ".filter0001", "sg_event_id": "evt-" + pid}
	for i := range 3 {
		// The same event in a new, freshly signed batch each time.
		body, _ := json.Marshal([]any{ev})
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		if w := e.serve(sendgridRequest(body, sendgridSignature(t, e.sgKey, ts, body), ts)); w.Code != 200 {
			t.Fatalf("batch %d: code %d", i, w.Code)
		}
	}
	if n := e.metrics.get("sendgrid delivered"); n != 1 {
		t.Fatalf("sendgrid delivered counted %d times, want 1", n)
	}
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		method   string
		path     string
		wantCode int
	}{
		{"UnknownPathNotFound", http.MethodPost, "/v1/webhooks/nope", 404},
		{"DeepUnknownPathNotFound", http.MethodGet, "/v1/webhooks/twilio/x", 404},
		{"SendGridGetNotAllowed", http.MethodGet, "/v1/webhooks/sendgrid", 405},
		{"TwilioDeleteNotAllowed", http.MethodDelete, twilioPath, 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.serve(httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d", w.Code, tc.wantCode)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q, want JSON", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["status_code"] != float64(tc.wantCode) {
				t.Fatalf("body %s (err %v), want JSON with status_code %d", w.Body, err, tc.wantCode)
			}
		})
	}
}

func TestParseVerificationKey(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"ECDSAKeyParsed", publicKeyBase64(t, &ec.PublicKey), true},
		{"RSAKeyRejected", publicKeyBase64(t, &rsaKey.PublicKey), false},
		{"NotBase64Rejected", "%%%", false},
		{"NotDERRejected", base64.StdEncoding.EncodeToString([]byte("hello")), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := webhooks.ParseVerificationKey(tc.in)
			if (err == nil) != tc.ok || (k != nil) != tc.ok {
				t.Fatalf("key %v, err %v", k, err)
			}
		})
	}
}

// FuzzTwilioForm posts arbitrary, correctly signed bodies: never a 5xx.
func FuzzTwilioForm(f *testing.F) {
	e := newEnv(f)
	sid := "SMfuzz" + strings.ReplaceAll(auth.NewUUID(), "-", "")
	e.sentMessage(f, auth.ChannelSMS, sid)
	f.Add("MessageSid=" + sid + "&MessageStatus=delivered")
	f.Add("MessageSid=" + sid + "&MessageStatus=undelivered&ErrorCode=30003")
	f.Add("MessageSid=SM%00x&MessageStatus=failed&ErrorCode=%ff")
	f.Add("MessageSid=" + strings.Repeat("a", 300) + "&MessageStatus=failed")
	f.Add("MessageStatus=delivered&MessageSid=a/b c")
	f.Add("%zz=1;&&=")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		form, _ := url.ParseQuery(body)
		r := httptest.NewRequest(http.MethodPost, twilioPath, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", twilioSignature(twilioToken, publicURL+twilioPath, form))
		if w := e.serve(r); w.Code >= 500 {
			t.Fatalf("code %d for %q", w.Code, body)
		}
	})
}

// FuzzSendGridJSON posts arbitrary, correctly signed batches: never a 5xx.
func FuzzSendGridJSON(f *testing.F) {
	e := newEnv(f)
	pid := strings.ReplaceAll(auth.NewUUID(), "-", "")[:22]
	id := e.sentMessage(f, auth.ChannelEmail, pid)
	f.Add([]byte(`[{"event":"delivered","sg_message_id":"` + pid + `.filter1"}]`))
	f.Add([]byte(`[{"event":"bounce","message_id":"` + id + `"},{"event":"dropped","sg_message_id":".x"}]`))
	f.Add([]byte(`[{"event":"delivered","message_id":"message-\u0000","sg_message_id":"\ud800"}]`))
	f.Add([]byte(`[{"event":"delivered","sg_message_id":"` + strings.Repeat("z", 500) + `"}]`))
	f.Add([]byte(`[1,"x",null,[],{"event":{}}]`))
	f.Add([]byte(`{"event":"delivered"}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ts := "1700000000"
		if w := e.serve(sendgridRequest(body, sendgridSignature(t, e.sgKey, ts, body), ts)); w.Code >= 500 {
			t.Fatalf("code %d for %q", w.Code, body)
		}
	})
}
