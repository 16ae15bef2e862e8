//! How the CLI prints jobs and runs: aligned tables, or JSON lines.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::jobs::{JobRecord, JobState};
use crate::runs::Run;

/// One line of `jobs list`.
pub struct JobRow<'a> {
    pub record: &'a JobRecord,
    /// `None` when the stored spec is invalid.
    pub state: Option<JobState>,
    pub owner: Option<String>,
    pub last: Option<Run>,
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub fn jobs(rows: &[JobRow<'_>], json: bool) -> String {
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let (schedule, target, enabled) = match &row.state {
                Some(s) => (s.job.schedule.describe(), s.job.target.describe(), s.job.enabled),
                None => ("(invalid spec)".into(), "-".into(), false),
            };
            let state = if row.record.paused {
                "paused"
            } else if !enabled {
                "disabled"
            } else {
                "active"
            };
            vec![
                row.record.name.clone(),
                schedule,
                target,
                state.into(),
                row.record.source.clone(),
                row.owner.clone().unwrap_or_else(|| "-".into()),
                row.last.as_ref().map_or_else(
                    || "-".into(),
                    |r| format!("{} {}", time(Some(r.scheduled_at)), r.status.as_str()),
                ),
            ]
        })
        .collect();
    if json {
        return lines
            .iter()
            .map(|l| {
                json!({"name": l[0], "schedule": l[1], "target": l[2], "state": l[3],
                       "source": l[4], "owner": l[5], "last_run": l[6]})
                .to_string()
                    + "\n"
            })
            .collect();
    }
    table(
        &["NAME", "SCHEDULE", "TARGET", "STATE", "SOURCE", "OWNER", "LAST RUN"],
        &lines,
    )
}

pub fn runs(runs: &[Run], json: bool) -> String {
    if json {
        return runs
            .iter()
            .map(|r| {
                json!({
                    "id": r.id, "job": r.job, "scheduled_at": time(Some(r.scheduled_at)),
                    "claimed_at": time(Some(r.claimed_at)), "started_at": time(r.started_at),
                    "finished_at": time(r.finished_at), "replica": r.replica, "attempt": r.attempt,
                    "catch_up": r.catch_up, "manual": r.manual, "target": r.target,
                    "windmill_job_id": r.windmill_job_id, "status": r.status.as_str(),
                    "result": r.result, "error": r.error,
                })
                .to_string()
                    + "\n"
            })
            .collect();
    }
    let lines: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let mut flags = Vec::new();
            if r.catch_up {
                flags.push("catch-up");
            }
            if r.manual {
                flags.push("manual");
            }
            let lag = r.started_at.map_or_else(
                || "-".into(),
                |s| format!("{}ms", (s - r.scheduled_at).num_milliseconds()),
            );
            vec![
                time(Some(r.scheduled_at)),
                r.status.as_str().into(),
                r.attempt.to_string(),
                r.replica.clone(),
                lag,
                time(r.finished_at),
                if flags.is_empty() { "-".into() } else { flags.join(",") },
                r.windmill_job_id.map_or_else(|| "-".into(), |id| id.to_string()),
                r.error.clone().unwrap_or_default().chars().take(80).collect(),
            ]
        })
        .collect();
    table(
        &[
            "SCHEDULED",
            "STATUS",
            "ATTEMPT",
            "REPLICA",
            "LAG",
            "FINISHED",
            "FLAGS",
            "WINDMILL JOB",
            "ERROR",
        ],
        &lines,
    )
}

fn table(header: &[&str], lines: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for line in lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |cells: Vec<String>| {
        let row: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(row.join("  ").trim_end());
        out.push('\n');
    };
    push(header.iter().map(|h| (*h).to_owned()).collect());
    for line in lines {
        push(line.clone());
    }
    out
}
