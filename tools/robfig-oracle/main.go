// Command robfig-oracle answers, for each schedule case read from stdin, what
// Kubernetes does with it: whether kube-apiserver accepts the schedule and time
// zone of a batch/v1 CronJob, and the next fire times the CronJob controller
// computes. It is the reference the HKS schedule engine is tested against.
//
// Input: one JSON object per line, {"schedule", "timeZone", "from" (Unix
// seconds), "count"}. Output: one JSON object per line, {"accepted", "error",
// "runs" (Unix seconds)}.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

type request struct {
	Schedule string `json:"schedule"`
	TimeZone string `json:"timeZone"`
	From     int64  `json:"from"`
	Count    int    `json:"count"`
}

type response struct {
	Accepted bool    `json:"accepted"`
	Error    string  `json:"error,omitempty"`
	Runs     []int64 `json:"runs"`
}

// validTimeZoneCharacters is kube-apiserver's rule for each part of
// spec.timeZone (pkg/apis/batch/validation).
var validTimeZoneCharacters = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// validate mirrors kube-apiserver's checks of spec.schedule and spec.timeZone
// on create.
func validate(schedule, timeZone string) error {
	if len(schedule) == 0 {
		return fmt.Errorf("schedule: Required value")
	}
	if _, err := cron.ParseStandard(schedule); err != nil {
		return fmt.Errorf("schedule: %v", err)
	}
	if strings.Contains(schedule, "TZ") {
		return fmt.Errorf("schedule: cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
	}
	if len(timeZone) == 0 {
		return fmt.Errorf("timeZone: must be nil or non-empty string")
	}
	for _, part := range strings.Split(timeZone, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
			return fmt.Errorf("timeZone: unknown time zone %s", timeZone)
		}
	}
	if strings.EqualFold(timeZone, "Local") {
		return fmt.Errorf("timeZone: must be an explicit time zone")
	}
	if _, err := time.LoadLocation(timeZone); err != nil {
		return fmt.Errorf("timeZone: %v", err)
	}
	return nil
}

func answer(req request) response {
	if err := validate(req.Schedule, req.TimeZone); err != nil {
		return response{Error: err.Error(), Runs: []int64{}}
	}
	// What the CronJob controller parses (formatSchedule in pkg/controller/cronjob).
	sched, err := cron.ParseStandard(fmt.Sprintf("TZ=%s %s", req.TimeZone, req.Schedule))
	if err != nil {
		return response{Accepted: true, Error: "controller: " + err.Error(), Runs: []int64{}}
	}
	runs := []int64{}
	t := time.Unix(req.From, 0).UTC()
	for i := 0; i < req.Count; i++ {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		runs = append(runs, t.Unix())
	}
	return response{Accepted: true, Runs: runs}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(2)
		}
		if err := enc.Encode(answer(req)); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		os.Exit(2)
	}
}
