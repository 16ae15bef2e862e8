//! The percentile spectrum as an SVG: latency (log scale) against percentile
//! on the usual HdrHistogram axis, where 90%, 99%, 99.9%… are equally spaced
//! (x = log10(1 / (1 − p))), so the tail gets as much room as the body.
//! Several runs share one chart, one line each, to be compared at a glance.
//! Written by hand: a few dozen lines of SVG need no plotting library.

use std::fmt::Write as _;

use super::stats::SpectrumPoint;

/// One line of the chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<SpectrumPoint>,
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 540.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];
/// The chart stops at 99.9999% (x = 6); the max is drawn at the right edge.
const MAX_NINES: f64 = 6.0;

fn nines(percentile: f64) -> f64 {
    let remaining = (1.0 - percentile / 100.0).max(1e-12);
    (1.0 / remaining).log10().clamp(0.0, MAX_NINES)
}

/// The chart of `series`, titled `title`.
pub fn svg(title: &str, series: &[Series]) -> String {
    let finite = series
        .iter()
        .flat_map(|s| &s.points)
        .filter(|p| p.percentile < 100.0)
        .map(|p| nines(p.percentile))
        .fold(0.0, f64::max);
    let x_end = finite.ceil().clamp(2.0, MAX_NINES);
    let values = series.iter().flat_map(|s| &s.points).map(|p| p.latency_us.max(1));
    let (low, high) = values.fold((u64::MAX, 1u64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let low = if low == u64::MAX { 1 } else { low };
    let y_low = 10f64.powf((low as f64).log10().floor());
    let y_high = nice_ceiling(high as f64).max(y_low * 10.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |n: f64| LEFT + n / x_end * plot_w;
    let y = |us: f64| {
        let span = y_high.log10() - y_low.log10();
        TOP + plot_h - (us.max(y_low).log10() - y_low.log10()) / span * plot_h
    };

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="28" font-size="16" text-anchor="middle">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    // Horizontal grid: 1-2-5 steps per decade.
    let mut decade = y_low;
    while decade <= y_high * 1.0001 {
        for step in [1.0, 2.0, 5.0] {
            let v = decade * step;
            if v < y_low * 0.9999 || v > y_high * 1.0001 {
                continue;
            }
            let yy = y(v);
            let major = step == 1.0;
            let _ = writeln!(
                out,
                r#"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="{}"/>"#,
                WIDTH - RIGHT,
                if major { "#bbb" } else { "#e5e5e5" }
            );
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 6.0,
                yy + 4.0,
                axis_label(v)
            );
        }
        decade *= 10.0;
    }
    // Vertical grid at 0%, 90%, 99%, …
    for n in 0..=(x_end as u32) {
        let xx = x(f64::from(n));
        let label = match n {
            0 => "0%".to_owned(),
            n => format!("{}%", 100.0 - 100.0 / 10f64.powi(n as i32)),
        };
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{}" stroke="#bbb"/>"##,
            TOP + plot_h
        );
        let _ = writeln!(
            out,
            r#"<text x="{xx:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            TOP + plot_h + 18.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">percentile (the max is drawn at the right edge)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 14.0
    );
    let _ = writeln!(
        out,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">latency (log scale)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> = s
            .points
            .iter()
            .map(|p| {
                let n = if p.percentile >= 100.0 {
                    x_end
                } else {
                    nines(p.percentile).min(x_end)
                };
                format!("{:.1},{:.1}", x(n), y(p.latency_us as f64))
            })
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        // The legend sits at the bottom right, where a rising spectrum
        // leaves room.
        let widest = series.iter().map(|s| s.label.chars().count()).max().unwrap_or(0) as f64;
        let lx = (WIDTH - RIGHT - 60.0 - widest * 6.6).max(LEFT + 12.0);
        let ly = TOP + plot_h - 14.0 - 18.0 * (series.len() - 1 - i) as f64;
        let _ = writeln!(
            out,
            r#"<line x1="{lx:.1}" x2="{:.1}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{:.1}" y="{}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            escape(&s.label)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// `500 µs`, `2 ms`, `1.5 s`: axis ticks are round, so no decimals needed.
fn axis_label(us: f64) -> String {
    let (value, unit) = if us >= 1e6 {
        (us / 1e6, "s")
    } else if us >= 1e3 {
        (us / 1e3, "ms")
    } else {
        (us, "µs")
    };
    format!("{} {unit}", (value * 100.0).round() / 100.0)
}

/// The next 1, 2 or 5 × 10^k at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    let decade = 10f64.powf(v.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|s| s * decade)
        .find(|c| *c >= v)
        .unwrap_or(decade * 10.0)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::stats::Latency;

    #[test]
    fn one_line_per_run_with_its_label() {
        let mut fast = Latency::new();
        let mut slow = Latency::new();
        for us in 1..=10_000 {
            fast.record_us(50 + us % 100);
            slow.record_us(200 + us % 3000);
        }
        let chart = svg(
            "echo <64 B>",
            &[
                Series {
                    label: "bare & hyper".into(),
                    points: fast.spectrum(5),
                },
                Series {
                    label: "gateway".into(),
                    points: slow.spectrum(5),
                },
            ],
        );
        assert_eq!(chart.matches("<polyline").count(), 2);
        assert!(chart.contains("bare &amp; hyper") && chart.contains("echo &lt;64 B&gt;"));
        assert!(chart.contains(">99%<") && chart.contains(">99.9%<"));
        assert!(chart.trim_end().ends_with("</svg>"));
        assert!(!chart.contains("NaN") && !chart.contains("inf"));
    }

    #[test]
    fn an_empty_chart_is_still_valid() {
        let chart = svg("nothing", &[]);
        assert!(chart.contains("<svg") && !chart.contains("NaN"));
        assert_eq!(nice_ceiling(730.0), 1000.0);
        assert_eq!(nice_ceiling(150.0), 200.0);
        assert_eq!(axis_label(500_000.0), "500 ms");
        assert_eq!(axis_label(20.0), "20 µs");
        assert_eq!(axis_label(2_000_000.0), "2 s");
    }
}
