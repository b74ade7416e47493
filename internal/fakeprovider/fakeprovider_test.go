package fakeprovider_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/fakeprovider"
)

func TestExtractCode(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"LeadingCode", "123456 is your Sesame verification code.", "123456"},
		{"CodeOnOwnLine", "Your code is:\n\n654321\n\nIt expires in 2 minutes.", "654321"},
		{"SevenDigitsAreNotACode", "ref 1234567 here", ""},
		{"GluedToLettersIsNotACode", "abc123456def", ""},
		{"DigitsInsideURLsAreIgnored", "https://x.test/?token=a-123456-b then 111222", "111222"},
		{"FirstOfSeveral", "111111 or 222222", "111111"},
		{"AccentedNeighbours", "código:123456.", "123456"},
		{"None", "Click the link below.", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fakeprovider.ExtractCode(tc.in); got != tc.want {
				t.Errorf("ExtractCode(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestExtractToken(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"PlainTextURL", "Log in:\n\nhttps://app.test/auth?token=abc_DEF-1&stytch_token_type=magic_links\n", "abc_DEF-1"},
		{"HTMLHrefWithAmp", `<a href="http://127.0.0.1:8080/v1/magic_links/authenticate?stytch_token_type=magic_links&amp;token=tok9">x</a>`, "tok9"},
		{"PercentEncoded", "https://x.test/?token=a%2Bb", "a+b"},
		{"FirstURLWithoutTokenIsSkipped", "https://x.test/help and https://x.test/?token=t2", "t2"},
		{"None", "123456 is your code", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fakeprovider.ExtractToken(tc.in); got != tc.want {
				t.Errorf("ExtractToken = %q, want %q", got, tc.want)
			}
		})
	}
}

func postForm(t *testing.T, u, user, pass string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

// sendAsync posts a Twilio message from a goroutine other than the test's
// (where t.Fatal must not be called); failures show up as a missing message.
func sendAsync(u string, form url.Values) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("ACx", "tok")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func TestTwilio(t *testing.T) {
	form := url.Values{"To": {"+15551234567"}, "From": {"+15005550006"}, "Body": {"123456 is your code"}}
	path := "/2010-04-01/Accounts/ACx/Messages.json"

	t.Run("AcceptsLikeTwilio", func(t *testing.T) {
		tw := fakeprovider.NewTwilio()
		defer tw.Close()
		resp, body := postForm(t, tw.URL()+path, "ACx", "tok", form)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d: %v", resp.StatusCode, body)
		}
		sid, _ := body["sid"].(string)
		if !strings.HasPrefix(sid, "SM") || len(sid) != 34 || body["status"] != "queued" || body["to"] != "+15551234567" {
			t.Errorf("body = %v", body)
		}
		if m := tw.Messages(); len(m) != 1 || m[0].SID != sid || m[0].Body != "123456 is your code" {
			t.Errorf("recorded %+v", m)
		}
		if tw.Requests() != 1 {
			t.Errorf("Requests = %d", tw.Requests())
		}
	})
	t.Run("MissingAuthIs401With20003", func(t *testing.T) {
		tw := fakeprovider.NewTwilio()
		defer tw.Close()
		resp, body := postForm(t, tw.URL()+path, "", "", form)
		if resp.StatusCode != 401 || body["code"] != float64(20003) || body["more_info"] != "https://www.twilio.com/docs/errors/20003" || body["status"] != float64(401) {
			t.Errorf("%d %v", resp.StatusCode, body)
		}
	})
	t.Run("ValidationErrorsUseTwilioCodes", func(t *testing.T) {
		tw := fakeprovider.NewTwilio()
		defer tw.Close()
		for _, tc := range []struct {
			name string
			mut  func(url.Values)
			code float64
		}{
			{"NoTo", func(v url.Values) { v.Del("To") }, 21604},
			{"NoSender", func(v url.Values) { v.Del("From") }, 21603},
			{"NoBody", func(v url.Values) { v.Del("Body") }, 21602},
			{"NotE164", func(v url.Values) { v.Set("To", "5551234") }, 21211},
			{"MagicUnsubscribed", func(v url.Values) { v.Set("To", "+15005550004") }, 21610},
			{"MixedChannels", func(v url.Values) { v.Set("To", "whatsapp:+15551234567") }, 21910},
		} {
			v := url.Values{}
			for k, vs := range form {
				v[k] = append([]string(nil), vs...)
			}
			tc.mut(v)
			resp, body := postForm(t, tw.URL()+path, "ACx", "tok", v)
			if resp.StatusCode != 400 || body["code"] != tc.code {
				t.Errorf("%s: %d %v", tc.name, resp.StatusCode, body)
			}
		}
		if len(tw.Messages()) != 0 {
			t.Errorf("rejected messages were recorded")
		}
	})
	t.Run("FailNextQueuesInOrder", func(t *testing.T) {
		tw := fakeprovider.NewTwilio()
		defer tw.Close()
		tw.FailNext(2, 500, 20500)
		tw.FailNextWith(1, fakeprovider.Failure{Status: 502, Body: "<html>bad gateway</html>"})
		var got []int
		for range 4 {
			resp, _ := postForm(t, tw.URL()+path, "ACx", "tok", form)
			got = append(got, resp.StatusCode)
		}
		if want := []int{500, 500, 502, 201}; !equal(got, want) {
			t.Errorf("statuses %v, want %v", got, want)
		}
		if tw.Requests() != 4 || len(tw.Messages()) != 1 {
			t.Errorf("requests %d, messages %d", tw.Requests(), len(tw.Messages()))
		}
	})
	t.Run("WaitForSeesLaterMessage", func(t *testing.T) {
		tw := fakeprovider.NewTwilio()
		defer tw.Close()
		time.AfterFunc(50*time.Millisecond, func() {
			v := url.Values{"To": {"whatsapp:+15557654321"}, "From": {"whatsapp:+15005550006"}, "Body": {"987654"}}
			sendAsync(tw.URL()+path, v)
		})
		m, err := tw.WaitFor("+15557654321", 2*time.Second)
		if err != nil || m.Body != "987654" {
			t.Fatalf("WaitFor = %+v, %v", m, err)
		}
		if _, err := tw.WaitFor("+10000000000", 20*time.Millisecond); err == nil {
			t.Error("WaitFor found a message never sent")
		}
	})
	t.Run("LatencyDelaysAnswers", func(t *testing.T) {
		tw := fakeprovider.NewTwilio()
		defer tw.Close()
		tw.SetLatency(150 * time.Millisecond)
		start := time.Now()
		postForm(t, tw.URL()+path, "ACx", "tok", form)
		if el := time.Since(start); el < 150*time.Millisecond {
			t.Errorf("answered after %v", el)
		}
	})
	t.Run("ServesOnGivenListener", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tw := fakeprovider.NewTwilio(fakeprovider.WithListener(l))
		defer tw.Close()
		if tw.URL() != "http://"+l.Addr().String() {
			t.Errorf("URL %q, listener %s", tw.URL(), l.Addr())
		}
		if resp, _ := postForm(t, tw.URL()+path, "ACx", "tok", form); resp.StatusCode != 201 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func postJSON(t *testing.T, u, key, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

const validMail = `{"from":{"email":"no-reply@s.test","name":"S"},"subject":"Your verification code",
 "personalizations":[{"to":[{"email":"ada@example.com"}],"custom_args":{"message_id":"m1"}}],
 "content":[{"type":"text/plain","value":"Your code is:\n\n123456"},{"type":"text/html","value":"<p>123456</p>"}],
 "tracking_settings":{"click_tracking":{"enable":false}}}`

func TestSendGrid(t *testing.T) {
	t.Run("AcceptsWith202AndMessageID", func(t *testing.T) {
		sg := fakeprovider.NewSendGrid()
		defer sg.Close()
		resp := postJSON(t, sg.URL()+"/v3/mail/send", "SG.k", validMail)
		id := resp.Header.Get("X-Message-Id")
		if resp.StatusCode != 202 || len(id) != 22 {
			t.Fatalf("%d id=%q", resp.StatusCode, id)
		}
		m, err := sg.WaitFor("ADA@example.com", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != id || m.Subject != "Your verification code" || m.CustomArgs["message_id"] != "m1" ||
			m.ClickTracking == nil || *m.ClickTracking || m.OpenTracking != nil {
			t.Errorf("recorded %+v", m)
		}
	})
	t.Run("RejectsLikeSendGrid", func(t *testing.T) {
		sg := fakeprovider.NewSendGrid()
		defer sg.Close()
		sg.RequireAPIKey("SG.right")
		for _, tc := range []struct {
			name, key, body string
			want            int
		}{
			{"NoKey", "", validMail, 401},
			{"WrongKey", "SG.wrong", validMail, 401},
			{"NotJSON", "SG.right", "{", 400},
			{"HTMLBeforeText", "SG.right", strings.Replace(validMail, `{"type":"text/plain","value":"Your code is:\n\n123456"},{"type":"text/html","value":"<p>123456</p>"}`,
				`{"type":"text/html","value":"<p>1</p>"},{"type":"text/plain","value":"1"}`, 1), 400},
			{"NoSubject", "SG.right", strings.Replace(validMail, `"subject":"Your verification code",`, "", 1), 400},
		} {
			if resp := postJSON(t, sg.URL()+"/v3/mail/send", tc.key, tc.body); resp.StatusCode != tc.want {
				t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
			}
		}
		if len(sg.Messages()) != 0 {
			t.Error("rejected mail recorded")
		}
	})
	t.Run("FailNext429CarriesRateLimitHeaders", func(t *testing.T) {
		sg := fakeprovider.NewSendGrid()
		defer sg.Close()
		sg.FailNext(1, 429)
		resp := postJSON(t, sg.URL()+"/v3/mail/send", "SG.k", validMail)
		if resp.StatusCode != 429 || resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("%d %v", resp.StatusCode, resp.Header)
		}
	})
}

func getMessages(t *testing.T, u string) []fakeprovider.Message {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	var out []fakeprovider.Message
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAdminHandler(t *testing.T) {
	tw := fakeprovider.NewTwilio()
	defer tw.Close()
	sg := fakeprovider.NewSendGrid()
	defer sg.Close()
	fakeprovider.MountAdmin(tw, sg)

	postForm(t, tw.URL()+"/2010-04-01/Accounts/ACx/Messages.json", "ACx", "tok",
		url.Values{"To": {"whatsapp:+15551112222"}, "From": {"whatsapp:+15005550006"}, "Body": {"135790 is your Sesame verification code."}})
	postJSON(t, sg.URL()+"/v3/mail/send", "SG.k", strings.Replace(validMail,
		`"content":[{"type":"text/plain","value":"Your code is:\n\n123456"},{"type":"text/html","value":"<p>123456</p>"}]`,
		`"content":[{"type":"text/plain","value":"Log in: https://a.test/x?token=tok-1&stytch_token_type=magic_links"},{"type":"text/html","value":"<a href=\"https://a.test/x?token=tok-1\">x</a>"}]`, 1))

	t.Run("ListsBothProvidersWithCodeAndToken", func(t *testing.T) {
		for _, base := range []string{tw.URL(), sg.URL()} {
			msgs := getMessages(t, base+"/messages")
			if len(msgs) != 2 {
				t.Fatalf("%s: %d messages", base, len(msgs))
			}
			if m := msgs[0]; m.Provider != "twilio" || m.Channel != "whatsapp" || m.Code != "135790" || m.Token != "" {
				t.Errorf("twilio message %+v", m)
			}
			if m := msgs[1]; m.Provider != "sendgrid" || m.Channel != "email" || m.Token != "tok-1" || m.Code != "" || m.Subject == "" {
				t.Errorf("sendgrid message %+v", m)
			}
		}
	})
	t.Run("FiltersByRecipient", func(t *testing.T) {
		if msgs := getMessages(t, tw.URL()+"/messages?to=%2B15551112222"); len(msgs) != 1 || msgs[0].Code != "135790" {
			t.Errorf("by phone: %+v", msgs)
		}
		if msgs := getMessages(t, tw.URL()+"/messages?to=Ada@Example.com"); len(msgs) != 1 || msgs[0].Token != "tok-1" {
			t.Errorf("by email: %+v", msgs)
		}
		if msgs := getMessages(t, tw.URL()+"/messages?to=nobody@x.test"); len(msgs) != 0 {
			t.Errorf("by unknown: %+v", msgs)
		}
	})
	t.Run("WaitLongPollsForAMessage", func(t *testing.T) {
		time.AfterFunc(50*time.Millisecond, func() {
			sendAsync(tw.URL()+"/2010-04-01/Accounts/ACx/Messages.json",
				url.Values{"To": {"+15559990000"}, "From": {"+15005550006"}, "Body": {"246810 is your code"}})
		})
		msgs := getMessages(t, sg.URL()+"/messages?to=%2B15559990000&wait=3s")
		if len(msgs) != 1 || msgs[0].Code != "246810" {
			t.Errorf("%+v", msgs)
		}
	})
	t.Run("FailAndLatencyOverHTTP", func(t *testing.T) {
		resp, err := http.Post(tw.URL()+"/fail", "application/json", strings.NewReader(`{"provider":"sendgrid","n":1,"status":503}`))
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("POST /fail: %v %v", resp, err)
		}
		if r := postJSON(t, sg.URL()+"/v3/mail/send", "SG.k", validMail); r.StatusCode != 503 {
			t.Errorf("status %d after /fail", r.StatusCode)
		}
		resp, err = http.Post(tw.URL()+"/latency", "application/json", strings.NewReader(`{"provider":"twilio","ms":0}`))
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("POST /latency: %v %v", resp, err)
		}
	})
	t.Run("DeleteForgetsEverything", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodDelete, tw.URL()+"/messages", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("DELETE: %v %v", resp, err)
		}
		if msgs := getMessages(t, sg.URL()+"/messages"); len(msgs) != 0 {
			t.Errorf("%d messages after DELETE", len(msgs))
		}
		if tw.Requests() != 0 || sg.Requests() != 0 {
			t.Errorf("requests %d %d", tw.Requests(), sg.Requests())
		}
	})
}

func TestClose_CutsSlowAnswersShort(t *testing.T) {
	tw := fakeprovider.NewTwilio()
	tw.SetLatency(time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest(http.MethodPost, tw.URL()+"/2010-04-01/Accounts/ACx/Messages.json", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for tw.Requests() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	tw.Close()
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Close took %v", el)
	}
	<-done
}
