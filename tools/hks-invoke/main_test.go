package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func server(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32, chan *http.Request) {
	var n atomic.Int32
	seen := make(chan *http.Request, 10)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		seen <- r.Clone(context.Background())
		w.WriteHeader(statuses[min(i, len(statuses)-1)])
		w.Write([]byte("hello"))
	}))
	t.Cleanup(s.Close)
	return s, &n, seen
}

func cfg(url string) Config {
	return Config{URL: url, Method: "POST", Timeout: time.Second, Expect: "2xx", Backoff: time.Millisecond, ExecutionID: "job-1"}
}

func TestSuccessSendsExecutionIDAndToken(t *testing.T) {
	s, _, seen := server(t, 200)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600)
	c := cfg(s.URL)
	c.TokenFile = tokenFile
	c.Headers = []string{"X-Team: data"}
	var out bytes.Buffer
	if err := run(context.Background(), c, &out); err != nil {
		t.Fatal(err, out.String())
	}
	r := <-seen
	if r.Header.Get("X-HKS-Execution-Id") != "job-1" || r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("X-Team") != "data" {
		t.Fatalf("headers: %v", r.Header)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Fatal("the token must never be printed")
	}
	if !strings.Contains(out.String(), "status 200 OK, latency") {
		t.Fatal(out.String())
	}
}

func TestServerErrorFailsAfterRetries(t *testing.T) {
	s, n, _ := server(t, 500)
	c := cfg(s.URL)
	c.Retries = 2
	var out bytes.Buffer
	err := run(context.Background(), c, &out)
	if err == nil || !strings.Contains(err.Error(), "status 500 does not meet 2xx") {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 3 {
		t.Fatalf("attempts = %d, want 3", n.Load())
	}
}

func TestRetryRecovers(t *testing.T) {
	s, n, _ := server(t, 503, 200)
	c := cfg(s.URL)
	c.Retries = 3
	if err := run(context.Background(), c, &bytes.Buffer{}); err != nil || n.Load() != 2 {
		t.Fatalf("err = %v, attempts = %d", err, n.Load())
	}
}

func TestClientErrorIsNotRetried(t *testing.T) {
	s, n, _ := server(t, 404)
	c := cfg(s.URL)
	c.Retries = 3
	if err := run(context.Background(), c, &bytes.Buffer{}); err == nil || n.Load() != 1 {
		t.Fatalf("err = %v, attempts = %d", err, n.Load())
	}
}

func TestExpectedStatus(t *testing.T) {
	s, _, _ := server(t, 404)
	c := cfg(s.URL)
	c.Expect = "2xx,404"
	if err := run(context.Background(), c, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if _, err := parseCriterion("20x"); err == nil {
		t.Fatal("20x is not a criterion")
	}
}

func TestTimeout(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	defer s.Close()
	c := cfg(s.URL)
	c.Timeout = 50 * time.Millisecond
	err := run(context.Background(), c, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
}

// A redirect, to another host or the same one, never carries the token or
// the user's headers: a Function cannot forward them elsewhere.
func TestRedirectsDropTheTokenAndHeaders(t *testing.T) {
	other, _, seenOther := server(t, 200)
	var hops atomic.Int32
	seenFirst := make(chan *http.Request, 10)
	var first *httptest.Server
	first = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenFirst <- r.Clone(context.Background())
		switch hops.Add(1) {
		case 1: // the same host
			http.Redirect(w, r, first.URL+"/again", http.StatusFound)
		default: // another host (port)
			http.Redirect(w, r, other.URL+"/elsewhere", http.StatusTemporaryRedirect)
		}
	}))
	t.Cleanup(first.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("s3cret"), 0o600)
	c := cfg(first.URL)
	c.TokenFile = tokenFile
	c.Headers = []string{"X-Api-Key: k3y"}
	var out bytes.Buffer
	if err := run(context.Background(), c, &out); err != nil {
		t.Fatal(err, out.String())
	}
	if r := <-seenFirst; r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("X-Api-Key") != "k3y" {
		t.Fatalf("the first request carries the credentials: %v", r.Header)
	}
	if r := <-seenFirst; r.Header.Get("Authorization") != "" || r.Header.Get("X-Api-Key") != "" {
		t.Fatalf("a same-host redirect carried credentials: %v", r.Header)
	}
	if r := <-seenOther; r.Header.Get("Authorization") != "" || r.Header.Get("X-Api-Key") != "" {
		t.Fatalf("a cross-host redirect carried credentials: %v", r.Header)
	}
	if !strings.Contains(out.String(), "following a redirect") || strings.Contains(out.String(), "s3cret") {
		t.Fatal(out.String())
	}
}

func TestCredentialsInTheURLAreRefused(t *testing.T) {
	s, n, _ := server(t, 200)
	c := cfg(strings.Replace(s.URL, "http://", "http://user:pw@", 1))
	var out bytes.Buffer
	if err := run(context.Background(), c, &out); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if n.Load() != 0 {
		t.Fatal("nothing may be sent")
	}
}

func TestRedirectLoopsStop(t *testing.T) {
	var loop *httptest.Server
	loop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL, http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	var out bytes.Buffer
	if err := run(context.Background(), cfg(loop.URL), &out); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("want a stop, got %v", err)
	}
}
