package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame/internal/pgtest"
)

// inboxDev is `api -dev` running in-process on a free port.
type inboxDev struct {
	base, secret string
	stdout       *syncBuffer
	cancel       context.CancelFunc
	done         chan error
}

// startInboxDev runs `api -dev` with env on a free port (PUBLIC_URL set to it,
// so magic links point at it) and waits for the banner.
func startInboxDev(t *testing.T, env map[string]string) *inboxDev {
	t.Helper()
	addr := freeAddr(t)
	env["PUBLIC_URL"] = "http://" + addr
	d := &inboxDev{stdout: &syncBuffer{}, done: make(chan error, 1)}
	var ctx context.Context
	ctx, d.cancel = context.WithCancel(context.Background())
	go func() {
		d.done <- run(ctx, []string{"-dev", "-http-addr", addr}, func(k string) string { return env[k] }, d.stdout, io.Discard)
	}()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out := d.stdout.String()
		if m := regexp.MustCompile(`running at (http://\S+)`).FindStringSubmatch(out); m != nil {
			d.base = m[1]
			d.secret = regexp.MustCompile(`secret:\s+(\S+)`).FindStringSubmatch(out)[1]
			return d
		}
		select {
		case err := <-d.done:
			t.Fatalf("dev mode stopped: %v\n%s", err, out)
		default:
		}
	}
	d.cancel()
	t.Fatalf("dev mode did not start:\n%s", d.stdout.String())
	return nil
}

// stop cancels the run and checks it returns nil in time.
func (d *inboxDev) stop(t *testing.T) {
	t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop within 20 s")
	}
}

// post sends a Streambird-style request and returns the JSON answer.
func (d *inboxDev) post(t *testing.T, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+d.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

// findChromium finds the system browser. Without one the test fails in CI (CI
// set) and is skipped elsewhere; no test downloads a browser.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (Debian/Ubuntu: apt-get install -y chromium); skipping the browser test")
	return ""
}

// artifactsDir returns <repo>/.artifacts (git-ignored), created.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", ".artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDevInbox_BrowserSeesCodeAndLinkLiveAndLogsIn drives the inbox page in
// headless Chromium: a code and a magic link sent through the API appear
// without a reload, the code logs in, and the link's button leads to the
// landing page whose token logs in.
func TestDevInbox_BrowserSeesCodeAndLinkLiveAndLogsIn(t *testing.T) {
	if testing.Short() {
		t.Skip("slow (processes, a browser or a private cluster): make test runs it, make test-short skips it")
	}
	browser := findChromium(t)
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatal(err)
	}
	d := startInboxDev(t, map[string]string{"DATABASE_URL": dsn, "SESAME_DATA_DIR": t.TempDir(), "LOG_LEVEL": "error"})
	stopped := false
	defer func() {
		if !stopped {
			d.cancel()
			<-d.done
		}
	}()
	if !strings.Contains(d.stdout.String(), d.base+"/dev/inbox") {
		t.Errorf("the banner does not print the inbox URL:\n%s", d.stdout.String())
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // root in CI containers
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 1000),
	)...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	// Collect page errors (exceptions, console errors, CSP violations).
	var mu sync.Mutex
	var pageErrors []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			pageErrors = append(pageErrors, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			// The landing page has no icon; the browser's favicon probe is no page error.
			if ev.Entry.Level == log.EntryLevelError && !strings.HasSuffix(ev.Entry.URL, "/favicon.ico") {
				pageErrors = append(pageErrors, fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				pageErrors = append(pageErrors, "console.error")
			}
		}
	}); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(d.base+"/dev/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="live"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#empty`)),
		// A reload would lose this marker.
		chromedp.Evaluate[chromedp.Void](`window.sesameNoReload = "kept"`),
	); err != nil {
		t.Fatalf("open the inbox: %v", err)
	}

	sent := d.post(t, "/v1/auth/otps/sms/login_or_create", `{"phone_number":"+14152222222"}`)
	d.post(t, "/v1/auth/magic_links/email/login_or_create", `{"email":"ada@example.com"}`)

	smsCode := chromedp.CSS(`li.message[data-channel="sms"] button.code`)
	emailLink := chromedp.CSS(`li.message[data-channel="email"] a.link`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(smsCode), chromedp.WaitVisible(emailLink)); err != nil {
		t.Fatalf("the messages did not appear: %v", err)
	}
	if kept, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.sesameNoReload || ""`)); err != nil || kept != "kept" {
		t.Fatalf("the page reloaded (marker %q, %v)", kept, err)
	}
	code, err := chromedp.Run(ctx, chromedp.Text(smsCode))
	if err != nil || !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
		t.Fatalf("code on the page = %q, %v", code, err)
	}
	// Newest first: the email (sent second) is the first card, and the
	// recipient, channel and rendered body are shown.
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`li.message`)))
	if err != nil || !strings.Contains(first, "ada@example.com") || !strings.Contains(first, "EMAIL") || !strings.Contains(first, "Finish signing up") {
		t.Fatalf("first card = %q, %v; want the email", first, err)
	}
	smsCard, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`li.message[data-channel="sms"]`)))
	if err != nil || !strings.Contains(smsCard, "+14152222222") || !strings.Contains(smsCard, code+" is your Sesame verification code") {
		t.Fatalf("sms card = %q, %v", smsCard, err)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Errorf("screenshot: %v", err)
	} else if err := os.WriteFile(filepath.Join(artifactsDir(t), "inbox.png"), shot, 0o644); err != nil {
		t.Error(err)
	}

	// Log in with the code read from the page.
	verified := d.post(t, "/v1/auth/otps/verify", `{"method_id":"`+sent["phone_number_id"].(string)+`","otp":"`+code+`","session_expires_in":60}`)
	if tok, _ := verified["session_token"].(string); tok == "" {
		t.Fatalf("otp verify = %v", verified)
	}

	// Click the magic link: it lands on the landing page, whose token
	// (what an application's page reads) logs in.
	landing, err := chromedp.RunResponse(ctx, chromedp.Click(emailLink))
	if err != nil {
		t.Fatalf("click the link: %v", err)
	}
	if landing.Status != 200 {
		t.Fatalf("the link's page answered %d", landing.Status)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/v1/magic_links/redirect" || u.Query().Get("token") == "" {
		t.Fatalf("landed on %q, want the magic-link landing page with a token", loc)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(artifactsDir(t), "magic-link-landing.png"), shot, 0o644)
	}
	linked := d.post(t, "/v1/auth/magic_links/verify", `{"token":"`+u.Query().Get("token")+`","session_expires_in":60}`)
	if tok, _ := linked["session_token"].(string); tok == "" {
		t.Fatalf("magic link verify = %v", linked)
	}

	// Back on the inbox (replayed from the server's buffer), stop the api
	// while the page holds its event stream open: shutdown must not wait.
	if err := chromedp.Do(ctx, chromedp.Navigate(d.base+"/dev/inbox"), chromedp.WaitVisible(emailLink),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="live"]`))); err != nil {
		t.Fatal(err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.message").length`))
	if err != nil || n != 2 {
		t.Fatalf("after a reload the page shows %d messages (%v), want 2", n, err)
	}
	mu.Lock()
	if len(pageErrors) > 0 {
		t.Errorf("page errors: %q", pageErrors)
	}
	mu.Unlock()
	start := time.Now()
	stopped = true
	d.stop(t)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown with an open inbox took %v: the event stream held it", took)
	}
}
