// Command hks-demo is the program of the demo images: `hks-demo web` is the
// demo web service, `hks-demo function` the demo HTTP function.
//
// Both listen on $PORT (default 8080) and stop on SIGTERM. The function logs
// every request it gets, method, path and all headers included (credentials
// only by scheme and length, so a token never lands in a log), one request
// per block on stdout, and answers with status $STATUS (default 200) and the
// body $BODY (default a small JSON document).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hks-demo web|function")
		os.Exit(2)
	}
	log.SetFlags(log.LstdFlags | log.LUTC)
	var handler http.Handler
	switch os.Args[1] {
	case "web":
		handler = web()
	case "function":
		h, err := function()
		if err != nil {
			log.Fatal(err)
		}
		handler = h
	default:
		fmt.Fprintln(os.Stderr, "usage: hks-demo web|function")
		os.Exit(2)
	}
	addr := ":" + env("PORT", "8080")
	srv := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("hks-demo %s listening on %s", os.Args[1], addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
	log.Printf("hks-demo %s stopped", os.Args[1])
}

func env(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func web() http.Handler {
	host, _ := os.Hostname()
	title := env("TITLE", "HKS demo web service")
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s from %s", r.Method, r.URL.RequestURI(), r.RemoteAddr)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>%[1]s</title><h1>%[1]s</h1><p>Served by %[2]s at %[3]s.</p>\n",
			html.EscapeString(title), html.EscapeString(host), time.Now().UTC().Format(time.RFC3339))
	})
	return mux
}

func function() (http.Handler, error) {
	status, err := strconv.Atoi(env("STATUS", "200"))
	if err != nil || status < 100 || status > 599 {
		return nil, fmt.Errorf("STATUS must be an HTTP status code, not %q", os.Getenv("STATUS"))
	}
	body := os.Getenv("BODY")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		var b strings.Builder
		fmt.Fprintf(&b, "request %s %s %s from %s\n", r.Method, r.URL.RequestURI(), r.Proto, r.RemoteAddr)
		fmt.Fprintf(&b, "  header Host: %s\n", r.Host)
		names := make([]string, 0, len(r.Header))
		for n := range r.Header {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			for _, v := range r.Header[n] {
				fmt.Fprintf(&b, "  header %s: %s\n", n, redact(n, v))
			}
		}
		fmt.Fprintf(&b, "  body %d bytes\n", len(payload))
		fmt.Fprintf(&b, "response %d", status)
		log.Print(b.String())
		out := []byte(body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if body == "" {
			out, _ = json.Marshal(map[string]any{"status": status, "method": r.Method, "path": r.URL.Path})
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write(out)
	}), nil
}

// redact hides the value of a credential header, keeping its scheme and length:
// enough to see that a token arrived, never the token.
func redact(name, value string) string {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization", "cookie":
		scheme, rest, found := strings.Cut(value, " ")
		if !found {
			return fmt.Sprintf("[redacted, %d bytes]", len(value))
		}
		return fmt.Sprintf("%s [redacted, %d bytes]", scheme, len(rest))
	}
	return value
}
