// Command hks-invoke calls a Function's HTTP endpoint from a CronJob's pod, the
// way curl would with --fail, but with a success criterion that is stated, a
// log line per attempt (status code and latency), retries with backoff, an
// execution id header for de-duplication, and a bearer token read from a
// mounted file so it never appears in the pod spec or the log.
//
// It exits 0 when the response status meets the criterion and 1 otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// Config is one invocation's settings.
type Config struct {
	URL         string
	Method      string
	Headers     []string
	Body        string
	Timeout     time.Duration
	Retries     int
	Backoff     time.Duration
	Expect      string
	TokenFile   string
	ExecutionID string
}

// criterion says which status codes count as success: "2xx" (the default),
// or a comma-separated list of codes and classes such as "200,204" or "2xx,404".
type criterion struct{ codes []string }

func parseCriterion(s string) (criterion, error) {
	var c criterion
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		if len(part) != 3 {
			return c, fmt.Errorf("--expect %q: use status codes or classes such as 2xx, 200 or 2xx,404", s)
		}
		if strings.HasSuffix(part, "xx") {
			if part[0] < '1' || part[0] > '5' {
				return c, fmt.Errorf("--expect %q: a class is 1xx to 5xx", s)
			}
		} else if n, err := strconv.Atoi(part); err != nil || n < 100 || n > 599 {
			return c, fmt.Errorf("--expect %q: a status code is 100 to 599", s)
		}
		c.codes = append(c.codes, part)
	}
	return c, nil
}

func (c criterion) holds(status int) bool {
	code := strconv.Itoa(status)
	for _, want := range c.codes {
		if want == code || (strings.HasSuffix(want, "xx") && want[0] == code[0]) {
			return true
		}
	}
	return false
}

func (c criterion) String() string { return strings.Join(c.codes, ",") }

// retryable is true for answers that may change on a second try: network
// errors, 408, 429 and 5xx. Other client errors will not.
func retryable(status int) bool {
	return status == 0 || status == 408 || status == 429 || status >= 500
}

func run(ctx context.Context, cfg Config, out io.Writer) error {
	want, err := parseCriterion(cfg.Expect)
	if err != nil {
		return err
	}
	token := ""
	if cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return fmt.Errorf("reading the token file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if u, err := url.Parse(cfg.URL); err != nil || u.User != nil {
		return errors.New("--url: the URL must not carry credentials (user:password@); use the token file")
	}
	client := &http.Client{Timeout: cfg.Timeout, CheckRedirect: redirectPolicy(cfg, out)}
	attempts := cfg.Retries + 1
	var last error
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			wait := cfg.Backoff << (attempt - 2)
			fmt.Fprintf(out, "hks-invoke: retrying in %s\n", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		fmt.Fprintf(out, "hks-invoke: attempt %d/%d: %s %s (execution id %s)\n", attempt, attempts, cfg.Method, cfg.URL, cfg.ExecutionID)
		status, err := once(ctx, client, cfg, token, out)
		if err == nil && want.holds(status) {
			fmt.Fprintf(out, "hks-invoke: success: status %d meets %s\n", status, want)
			return nil
		}
		if err == nil {
			last = fmt.Errorf("status %d does not meet %s", status, want)
		} else {
			last = err
		}
		fmt.Fprintf(out, "hks-invoke: attempt %d failed: %v\n", attempt, last)
		if !retryable(status) {
			break
		}
	}
	return last
}

// maxRedirects is how many redirects one attempt follows.
const maxRedirects = 5

// redirectPolicy follows redirects, but the credentials stay with the URL
// the user named: the token and the user's own headers (which may be
// credentials too, X-Api-Key say) are dropped on any redirect, to the same
// host or another, so a Function cannot send them elsewhere or downgrade
// them to plain http. Go itself drops Authorization only across hosts.
func redirectPolicy(cfg Config, out io.Writer) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		req.Header.Del("Authorization")
		for _, h := range cfg.Headers {
			if name, _, ok := strings.Cut(h, ":"); ok {
				req.Header.Del(strings.TrimSpace(name))
			}
		}
		fmt.Fprintf(out, "hks-invoke: following a redirect to %s://%s%s without the token or headers\n", req.URL.Scheme, req.URL.Host, req.URL.Path)
		return nil
	}
}

// once sends one request and logs its status and latency; status is 0 when no
// response came.
func once(ctx context.Context, client *http.Client, cfg Config, token string, out io.Writer) (int, error) {
	var body io.Reader
	if cfg.Body != "" {
		body = strings.NewReader(cfg.Body)
	}
	req, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "hks-invoke/1")
	for _, h := range cfg.Headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return 0, fmt.Errorf("header %q: write Name: value", h)
		}
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if cfg.ExecutionID != "" {
		req.Header.Set("X-HKS-Execution-Id", cfg.ExecutionID)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	res, err := client.Do(req)
	latency := time.Since(start)
	if err != nil {
		var timeout interface{ Timeout() bool }
		if errors.As(err, &timeout) && timeout.Timeout() {
			fmt.Fprintf(out, "hks-invoke: no response within %s\n", cfg.Timeout)
			return 0, fmt.Errorf("timed out after %s", cfg.Timeout)
		}
		fmt.Fprintf(out, "hks-invoke: no response after %s: %v\n", latency.Round(time.Millisecond), err)
		return 0, err
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	fmt.Fprintf(out, "hks-invoke: status %d %s, latency %s\n", res.StatusCode, http.StatusText(res.StatusCode), latency.Round(time.Millisecond))
	if len(snippet) > 0 {
		fmt.Fprintf(out, "hks-invoke: response (first %d bytes): %s\n", len(snippet), strings.TrimSpace(string(snippet)))
	}
	return res.StatusCode, nil
}

func main() {
	var cfg Config
	var hs headers
	flag.StringVar(&cfg.URL, "url", "", "the Function's URL")
	flag.StringVar(&cfg.Method, "method", "POST", "the HTTP method")
	flag.Var(&hs, "header", "a request header, Name: value (repeatable)")
	flag.StringVar(&cfg.Body, "body", "", "the request body")
	flag.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "time allowed for each attempt")
	flag.IntVar(&cfg.Retries, "retries", 0, "retries after a failed attempt (network error, 408, 429 or 5xx)")
	flag.DurationVar(&cfg.Backoff, "backoff", 2*time.Second, "wait before the first retry; doubles each time")
	flag.StringVar(&cfg.Expect, "expect", "2xx", "status codes that mean success, e.g. 2xx, 200 or 2xx,404")
	flag.StringVar(&cfg.TokenFile, "token-file", "", "a file holding a bearer token (mounted from a Secret)")
	flag.StringVar(&cfg.ExecutionID, "execution-id", os.Getenv("HKS_EXECUTION_ID"), "sent as X-HKS-Execution-Id")
	flag.Parse()
	cfg.Headers = hs
	if cfg.URL == "" {
		fmt.Fprintln(os.Stderr, "hks-invoke: --url is required")
		os.Exit(2)
	}
	if err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintf(os.Stdout, "hks-invoke: failed: %v\n", err)
		os.Exit(1)
	}
}
