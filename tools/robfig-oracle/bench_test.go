package main

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// The same cases as crates/hks-schedule/benches/schedule.rs.
var cases = []struct{ name, expr, zone, start string }{
	{"weekdays", "0 9 * * MON-FRI", "Europe/Berlin", "2025-01-01T00:00:00Z"},
	{"every-15m", "*/15 * * * *", "UTC", "2025-01-01T00:00:00Z"},
	{"dst-gap", "30 2 * * *", "America/New_York", "2025-03-05T12:00:00Z"},
	{"leap-day", "0 0 29 2 *", "Australia/Sydney", "2025-01-01T00:00:00Z"},
}

// BenchmarkCheck is what kube-apiserver does to validate a schedule and zone.
func BenchmarkCheck(b *testing.B) {
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := validate(c.expr, c.zone); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNext10 is what the CronJob controller does, ten times over.
func BenchmarkNext10(b *testing.B) {
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			sched, err := cron.ParseStandard("TZ=" + c.zone + " " + c.expr)
			if err != nil {
				b.Fatal(err)
			}
			from, _ := time.Parse(time.RFC3339, c.start)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t := from
				for j := 0; j < 10; j++ {
					t = sched.Next(t)
				}
			}
		})
	}
}
