//! What a campaign leaves behind: one chart per part (each target's median
//! round), and the summary (the tables of every part, the gateway's peak
//! RSS, where its plugins ended up, the goals) printed and written to
//! `--out` as `summary.md` and `summary.json`.

use std::path::Path;

use super::args::CompareArgs;
use super::table::{self, Goal, PartSummary};
use super::targets::{Kind, Running};
use crate::load::Report;
use crate::load::chart::{self, Series};
use crate::load::report::{mebibytes, micros, thousands};
use crate::load::system::{self, CoreSharing};

/// What a campaign measured.
pub(super) struct Results<'a> {
    pub parts: &'a [PartSummary],
    /// The closed-loop echo part and the open-loop one at 50% of the
    /// maximum: the goals are about them.
    pub echo: Option<&'a PartSummary>,
    pub rate50: Option<&'a PartSummary>,
    /// The gateway's plugins on the blocking pool after the runs; `None`
    /// when unknown.
    pub offloaded: Option<Vec<String>>,
}

/// Prints the summary and writes it to `out` (`summary.md`,
/// `summary.json`); returns whether every measured goal was met.
pub(super) fn finish(
    args: &CompareArgs,
    running: &[Running],
    out: &Path,
    results: Results<'_>,
) -> anyhow::Result<bool> {
    let Results {
        parts,
        echo,
        rate50,
        offloaded,
    } = results;
    let sharing = CoreSharing::detect(running.first().map(Running::pid));
    let mut summary = format!(
        "FlexCore compare: {} rounds (targets in turn: {}), each run {} s measured after {} s warm-up, {} connections, {} client thread(s).\n{}.\n\n",
        args.rounds,
        running.iter().map(|r| r.kind.name()).collect::<Vec<_>>().join(" → "),
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64(),
        args.connections,
        args.threads,
        sharing.note,
    );
    let gateway_rss = running
        .iter()
        .find(|r| r.kind == Kind::Gateway)
        .and_then(|r| system::memory(r.pid()))
        .map(|(peak, _)| peak);
    for part in parts {
        summary.push_str(&part.markdown());
        summary.push('\n');
    }
    if let Some(rss) = gateway_rss {
        summary.push_str(&format!(
            "Gateway peak RSS over all runs (VmHWM): {}.\n\n",
            mebibytes(rss)
        ));
    }
    match &offloaded {
            Some(names) if !names.is_empty() => summary.push_str(&format!(
                "Gateway plugins on the blocking pool after the runs: {} (moved there after a call slower than `slow_call_threshold`; the runs after that measured the blocking pool).\n\n",
                names.join(", ")
            )),
            Some(_) => summary.push_str("Every gateway plugin still ran inline after the runs.\n\n"),
            None => {}
        }
    let goals = table::goals(echo, rate50, gateway_rss);
    summary.push_str(&Goal::markdown(&goals));
    println!("{summary}");
    std::fs::write(out.join("summary.md"), &summary)?;
    let json = serde_json::json!({
        "parts": parts,
        "goals": goals,
        "gateway_peak_rss_bytes": gateway_rss,
        "gateway_plugins_on_blocking_pool": offloaded,
    });
    std::fs::write(out.join("summary.json"), serde_json::to_vec_pretty(&json)?)?;
    eprintln!("reports, charts and summary in {}", out.display());
    Ok(goals.iter().all(|g| g.met != Some(false)))
}

/// Writes `out/<name>.svg`: one line per target, its median round (by
/// req/s, or by p99 in open loop).
pub(super) fn write_chart(
    out: &Path,
    name: &str,
    title: &str,
    open_loop: bool,
    runs: &[(String, Report)],
) -> anyhow::Result<()> {
    let mut series = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (target, _) in runs {
        if seen.contains(&target.as_str()) {
            continue;
        }
        seen.push(target);
        let mut mine: Vec<&Report> = runs.iter().filter(|(t, _)| t == target).map(|(_, r)| r).collect();
        if open_loop {
            mine.sort_by_key(|r| r.total.latency_us.p99_us);
        } else {
            mine.sort_by(|a, b| a.total.rps.total_cmp(&b.total.rps));
        }
        if let Some(report) = mine.get(mine.len() / 2) {
            series.push(Series {
                label: format!(
                    "{target} (median round: {} req/s, p99 {})",
                    thousands(report.total.rps),
                    micros(report.total.latency_us.p99_us)
                ),
                points: report.total.spectrum.clone(),
            });
        }
    }
    std::fs::write(out.join(format!("{name}.svg")), chart::svg(title, &series)?)?;
    Ok(())
}
