package main

import (
	"strings"
	"testing"
	"time"
)

// The oracle is the reference the schedule engine is tested against, so its
// own answers are pinned here to public facts of robfig/cron v3.0.1 and
// kube-apiserver (shared/reference/kubernetes-cronjobs.md).

func at(t *testing.T, s string) int64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.Unix()
}

func TestNextRunsMatchRobfigVectors(t *testing.T) {
	jan1 := "2025-01-01T00:00:00Z"
	cases := []struct {
		schedule, zone, from string
		want                 []string
	}{
		{"0 0 */2 * MON", "UTC", jan1, []string{"2025-01-03T00:00:00Z", "2025-01-05T00:00:00Z", "2025-01-06T00:00:00Z"}},
		{"0 0 * * 1-5/2", "UTC", jan1, []string{"2025-01-03T00:00:00Z", "2025-01-06T00:00:00Z", "2025-01-08T00:00:00Z"}},
		{"5/15 * * * *", "UTC", jan1, []string{"2025-01-01T00:05:00Z", "2025-01-01T00:20:00Z", "2025-01-01T00:35:00Z"}},
		{"0 9 * * MON-FRI", "Europe/Berlin", jan1, []string{"2025-01-01T08:00:00Z", "2025-01-02T08:00:00Z", "2025-01-03T08:00:00Z"}},
		// The spring-forward gap: 02:30 on 2025-03-09 does not exist in New York and is skipped.
		{"30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z", []string{"2025-03-10T06:30:00Z"}},
		// The fall-back overlap: 01:30 on 2025-11-02 happens twice and runs twice.
		{"30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", []string{"2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z"}},
	}
	for _, c := range cases {
		got := answer(request{Schedule: c.schedule, TimeZone: c.zone, From: at(t, c.from), Count: len(c.want)})
		if !got.Accepted || got.Error != "" {
			t.Fatalf("%q in %s: refused: %+v", c.schedule, c.zone, got)
		}
		if len(got.Runs) != len(c.want) {
			t.Fatalf("%q in %s: %d runs, want %d: %v", c.schedule, c.zone, len(got.Runs), len(c.want), got.Runs)
		}
		for i, w := range c.want {
			if got.Runs[i] != at(t, w) {
				t.Errorf("%q in %s: run %d is %s, want %s", c.schedule, c.zone, i, time.Unix(got.Runs[i], 0).UTC().Format(time.RFC3339), w)
			}
		}
	}
}

func TestANeverFiringDateGivesNoRuns(t *testing.T) {
	got := answer(request{Schedule: "0 0 31 2 *", TimeZone: "UTC", From: 0, Count: 3})
	if !got.Accepted || len(got.Runs) != 0 {
		t.Fatalf("kube-apiserver accepts 0 0 31 2 * and it never fires: %+v", got)
	}
}

func TestRefusedAsKubeApiserverDoes(t *testing.T) {
	cases := []struct{ schedule, zone, want string }{
		{"0 0 * * 7", "UTC", "schedule:"},
		{"0 0 L * *", "UTC", "schedule:"},
		{"0 0 * * MONDAY", "UTC", "schedule:"},
		{"0 12 * * * *", "UTC", "schedule:"},
		{"0 0 * * 6-0", "UTC", "schedule:"},
		{"*/0 * * * *", "UTC", "schedule:"},
		{"0 24 * * *", "UTC", "schedule:"},
		{"60 * * * *", "UTC", "schedule:"},
		{"", "UTC", "schedule: Required value"},
		{"TZ=UTC 0 0 * * *", "UTC", "cannot use TZ"},
		{"0 0 * * *", "Local", "timeZone: must be an explicit time zone"},
		{"0 0 * * *", "", "timeZone: must be nil or non-empty"},
		{"0 0 * * *", "Europe/../etc", "timeZone: unknown time zone"},
		{"0 0 * * *", "Mars/Olympus_Mons", "timeZone:"},
	}
	for _, c := range cases {
		got := answer(request{Schedule: c.schedule, TimeZone: c.zone, Count: 1})
		if got.Accepted || !strings.Contains(got.Error, c.want) {
			t.Errorf("%q in %q: want a refusal containing %q, got %+v", c.schedule, c.zone, c.want, got)
		}
	}
}
