//! What each kind of receiver gets for an alert, as pure functions: HKS's
//! own JSON for a signed webhook, a Slack incoming-webhook message, a
//! Microsoft Teams Adaptive Card, and an email's subject and text. The same
//! alert gives the same payload on every attempt.
//!
//! Teams gets an Adaptive Card in a `message` envelope, not the legacy
//! MessageCard: Teams' Workflows ("When a Teams webhook request is
//! received"), which replace the retired Office 365 connectors, post
//! Adaptive Cards, and the connectors still running accept the same
//! envelope. Version 1.4, which every Teams client renders.

use hks_store::StoredAlert;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

/// The console's page for a CronJob (or the project, for a project-wide test).
pub fn link(project: &str, cronjob: &str) -> String {
    if cronjob.is_empty() {
        format!("/projects/{project}")
    } else {
        format!("/projects/{project}/cronjobs/{cronjob}")
    }
}

/// The JSON body of a webhook delivery; the same on every attempt.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    /// `failed`, `consecutiveFailures`, `missed`, `longRunning`, `recovered`, or `test`.
    kind: &'a str,
    /// Unique per CronJob.
    key: &'a str,
    summary: &'a str,
    project: &'a str,
    cronjob: &'a str,
    /// The run (a Job name), or the missed time.
    subject: &'a str,
    /// The run, for alerts about one.
    run: Option<&'a str>,
    raised_at: Timestamp,
    /// Path of the CronJob's page in the console.
    link: String,
}

/// The signed webhook's JSON body.
pub(crate) fn webhook(alert: &StoredAlert, project: &str) -> Vec<u8> {
    let body = Body {
        kind: &alert.kind,
        key: &alert.key,
        summary: &alert.summary,
        project,
        cronjob: &alert.cronjob,
        subject: &alert.subject,
        run: run(alert),
        raised_at: alert.raised_at,
        link: link(project, &alert.cronjob),
    };
    serde_json::to_vec(&body).expect("a struct of strings serialises")
}

/// The run an alert is about, if it is about one.
fn run(alert: &StoredAlert) -> Option<&str> {
    let about_a_run =
        !matches!(alert.kind.as_str(), "missed" | "test") && !alert.subject.is_empty();
    about_a_run.then_some(alert.subject.as_str())
}

/// A few words for the kind of alert, as a title.
fn title(kind: &str) -> &'static str {
    match kind {
        "failed" => "Run failed",
        "consecutiveFailures" => "Runs failing in a row",
        "missed" => "Scheduled run missed",
        "longRunning" => "Run taking too long",
        "recovered" => "Run recovered",
        "test" => "Test alert",
        _ => "Alert",
    }
}

/// `project/cronjob`, or the project for a project-wide test.
fn place(alert: &StoredAlert, project: &str) -> String {
    if alert.cronjob.is_empty() {
        project.to_owned()
    } else {
        format!("{project}/{}", alert.cronjob)
    }
}

/// The facts shown beside the summary, as (label, value).
fn facts(alert: &StoredAlert, project: &str) -> Vec<(&'static str, String)> {
    let mut facts = vec![("Project", project.to_owned())];
    if !alert.cronjob.is_empty() {
        facts.push(("CronJob", alert.cronjob.clone()));
    }
    if let Some(run) = run(alert) {
        facts.push(("Run", run.to_owned()));
    } else if alert.kind == "missed" {
        facts.push(("Scheduled for", alert.subject.clone()));
    }
    facts.push(("Raised", alert.raised_at.to_string()));
    facts.push(("Alert", alert.key.clone()));
    facts.push(("Console", link(project, &alert.cronjob)));
    facts
}

/// At most `max` characters of `text`, with `…` at the end when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text for Slack's `mrkdwn` and `text`: `&`, `<` and `>` escaped as
/// Slack asks, so a run's reason cannot make a link or a mention.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Slack incoming-webhook message: `text` (what notifications show, and
/// clients without blocks) and `blocks` (a header, the summary, the facts,
/// and the alert's key with its console path). Within Slack's limits
/// (150 characters in a header, 3,000 in a section, 2,000 in a field).
pub(crate) fn slack(alert: &StoredAlert, project: &str) -> Value {
    let place = place(alert, project);
    let summary = slack_escape(&cut(&alert.summary, 2_900));
    let fields: Vec<Value> = facts(alert, project)
        .into_iter()
        .filter(|(label, _)| !matches!(*label, "Alert" | "Console"))
        .map(|(label, value)| {
            json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", slack_escape(&cut(&value, 1_900)))})
        })
        .collect();
    json!({
        "text": format!("[HKS] {}: {summary}", slack_escape(&place)),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": cut(&format!("{}: {place}", title(&alert.kind)), 150), "emoji": false}
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
            {"type": "section", "fields": fields},
            {
                "type": "context",
                "elements": [{
                    "type": "mrkdwn",
                    "text": format!(
                        "Alert `{}` · in the HKS console at {}",
                        slack_escape(&cut(&alert.key, 500)),
                        slack_escape(&link(project, &alert.cronjob))
                    )
                }]
            }
        ]
    })
}

/// The colour of an alert's title in a Teams card.
fn teams_color(kind: &str) -> &'static str {
    match kind {
        "failed" | "consecutiveFailures" => "Attention",
        "missed" | "longRunning" => "Warning",
        "recovered" => "Good",
        _ => "Default",
    }
}

/// A Teams message with one Adaptive Card: the title, the summary and the
/// facts.
pub(crate) fn teams(alert: &StoredAlert, project: &str) -> Value {
    let facts: Vec<Value> = facts(alert, project)
        .into_iter()
        .map(|(label, value)| json!({"title": label, "value": cut(&value, 2_000)}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": [
                    {
                        "type": "TextBlock",
                        "text": format!("{}: {}", title(&alert.kind), place(alert, project)),
                        "weight": "Bolder",
                        "size": "Medium",
                        "color": teams_color(&alert.kind),
                        "wrap": true
                    },
                    {"type": "TextBlock", "text": cut(&alert.summary, 2_900), "wrap": true},
                    {"type": "FactSet", "facts": facts}
                ]
            }
        }]
    })
}

/// An email's subject: `[HKS] project/cronjob: <summary>`, on one line
/// (control characters become spaces) and at most 200 characters.
pub(crate) fn email_subject(alert: &StoredAlert, project: &str) -> String {
    let subject = format!("[HKS] {}: {}", place(alert, project), alert.summary);
    cut(&one_line(&subject), 200)
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An email's plain text: the summary, the facts, and how to tell a copy
/// of the same alert (its `Message-ID`, the delivery id).
pub(crate) fn email_text(alert: &StoredAlert, project: &str, delivery_id: &str) -> String {
    let mut text = format!("{}\n\n", cut(&alert.summary, 10_000));
    let facts = facts(alert, project);
    let width = facts.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 1;
    for (label, value) in facts {
        text.push_str(&format!(
            "{:<width$} {}\n",
            format!("{label}:"),
            one_line(&value)
        ));
    }
    text.push_str(&format!(
        "\nHKS sends one message per alert. Its Message-ID comes from the delivery\n\
         ({delivery_id}), so a copy with the same Message-ID is the same alert.\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(kind: &str, subject: &str, summary: &str) -> StoredAlert {
        StoredAlert {
            id: "a1".into(),
            project_id: "p1".into(),
            cronjob: "report".into(),
            key: format!("{kind}:{subject}"),
            kind: kind.into(),
            subject: subject.into(),
            summary: summary.into(),
            raised_at: "2025-01-01T09:00:00Z".parse().unwrap(),
        }
    }

    fn failed() -> StoredAlert {
        alert(
            "failed",
            "report-29000000",
            "Run report-29000000 failed (BackoffLimitExceeded)",
        )
    }

    #[test]
    fn slack_messages() {
        insta::assert_json_snapshot!("slack_failed", slack(&failed(), "shop"));
        let missed = alert(
            "missed",
            "2025-01-01T09:00:00Z",
            "The run scheduled for 2025-01-01T09:00:00Z did not start: <b>&</b>",
        );
        let message = slack(&missed, "shop");
        insta::assert_json_snapshot!("slack_missed", message);
        // A summary cannot make links or mentions.
        let text = message.to_string();
        assert!(
            !text.contains("<b>") && text.contains("&lt;b&gt;&amp;&lt;/b&gt;"),
            "{text}"
        );
        // Slack's limits: 150 characters in a header.
        let long = alert("failed", "r", &"x".repeat(5_000));
        let m = slack(&long, &"p".repeat(63));
        assert!(
            m["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 150
        );
        assert!(
            m["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 3_000
        );
    }

    #[test]
    fn teams_cards() {
        insta::assert_json_snapshot!("teams_failed", teams(&failed(), "shop"));
        let recovered = alert(
            "recovered",
            "report-2",
            "Run report-2 succeeded after 1 failed run",
        );
        let card = teams(&recovered, "shop");
        let content = &card["attachments"][0]["content"];
        assert_eq!(card["type"], "message");
        assert_eq!(
            card["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(content["type"], "AdaptiveCard");
        assert_eq!(content["body"][0]["color"], "Good");
        assert_eq!(content["body"][0]["text"], "Run recovered: shop/report");
    }

    #[test]
    fn emails() {
        let a = failed();
        assert_eq!(
            email_subject(&a, "shop"),
            "[HKS] shop/report: Run report-29000000 failed (BackoffLimitExceeded)"
        );
        insta::assert_snapshot!("email_failed", email_text(&a, "shop", "0123456789abcdef"));
        // One line, however the summary came.
        let odd = alert("failed", "r", "line one\r\nBcc: someone@example.com");
        assert_eq!(
            email_subject(&odd, "shop"),
            "[HKS] shop/report: line one  Bcc: someone@example.com"
        );
        assert!(
            email_subject(&alert("failed", "r", &"y".repeat(500)), "shop")
                .chars()
                .count()
                <= 200
        );
        // A project-wide test names the project only.
        let mut test = alert(
            "test",
            "",
            "A test delivery from HKS: this receiver gets the alerts.",
        );
        test.cronjob = String::new();
        assert_eq!(
            email_subject(&test, "shop"),
            "[HKS] shop: A test delivery from HKS: this receiver gets the alerts."
        );
        assert!(email_text(&test, "shop", "t").contains("Console: /projects/shop\n"));
    }

    #[test]
    fn webhook_bodies_name_the_run_only_for_alerts_about_one() {
        let body: Value = serde_json::from_slice(&webhook(&failed(), "shop")).unwrap();
        assert_eq!(body["run"], "report-29000000");
        let missed = alert("missed", "2025-01-01T09:00:00Z", "missed");
        let body: Value = serde_json::from_slice(&webhook(&missed, "shop")).unwrap();
        assert_eq!(body["run"], Value::Null);
    }
}
