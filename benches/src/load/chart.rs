//! The percentile spectrum as an SVG chart: latency on a log axis against
//! percentile on the usual HdrHistogram axis, where 90%, 99%, 99.9%… are
//! equally spaced (x = log10(1 / (1 − p))), so the tail gets as much room as
//! the body. Several runs share one chart, one line each, named in a legend,
//! to be compared at a glance. Drawn with plotters (its SVG backend only):
//! what is ours is the choice of axes and ticks.

use plotters::prelude::*;

use super::stats::SpectrumPoint;

/// One line of the chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<SpectrumPoint>,
}

const SIZE: (u32, u32) = (960, 540);
const COLORS: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
];
/// The chart stops at 99.9999% (x = 6); the max is drawn at the right edge.
const MAX_NINES: f64 = 6.0;

/// Where `percentile` sits on the x axis: how many nines it has.
fn nines(percentile: f64) -> f64 {
    let remaining = (1.0 - percentile / 100.0).max(1e-12);
    (1.0 / remaining).log10().clamp(0.0, MAX_NINES)
}

/// The chart of `series`, titled `title`, as SVG text.
pub fn svg(title: &str, series: &[Series]) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let axes = Axes::of(series);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            // Room for the last percentile label, centred on the right edge.
            .margin_right(40)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(
                0.0..axes.x_end,
                (axes.y_low..axes.y_high)
                    .log_scale()
                    .with_key_points(ticks(axes.y_low, axes.y_high)),
            )?;
        chart
            .configure_mesh()
            // One tick per nine (x_end is whole, so the ticks are 0, 1, 2…).
            .x_labels(axes.x_end as usize + 1)
            .x_max_light_lines(0)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 15))
            .x_desc("percentile (the max is drawn at the right edge)")
            .y_desc("latency (log scale)")
            .x_label_formatter(&|n| percentile_label(*n))
            .y_label_formatter(&|us| axis_label(*us))
            .draw()?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let points = s.points.iter().map(|p| {
                let x = if p.percentile >= 100.0 {
                    axes.x_end
                } else {
                    nines(p.percentile).min(axes.x_end)
                };
                (x, (p.latency_us.max(1) as f64).max(axes.y_low))
            });
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(s.label.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], color.stroke_width(3)));
        }
        if !series.is_empty() {
            // Bottom right, where a rising spectrum leaves room.
            chart
                .configure_series_labels()
                .label_font(("sans-serif", 15))
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.4))
                .draw()?;
        }
        root.present()?;
    }
    Ok(out)
}

/// The ranges of both axes: percentiles up to the last nine any series
/// reaches (at least 99%), latencies from the decade below the lowest to the
/// round value above the highest.
struct Axes {
    x_end: f64,
    y_low: f64,
    y_high: f64,
}

impl Axes {
    fn of(series: &[Series]) -> Self {
        let points = || series.iter().flat_map(|s| &s.points);
        let finite = points()
            .filter(|p| p.percentile < 100.0)
            .map(|p| nines(p.percentile))
            .fold(0.0, f64::max);
        let values = points().map(|p| p.latency_us.max(1));
        let (low, high) = values.fold((u64::MAX, 1u64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let low = if low == u64::MAX { 1 } else { low };
        let y_low = 10f64.powf((low as f64).log10().floor());
        Self {
            x_end: finite.ceil().clamp(2.0, MAX_NINES),
            y_low,
            y_high: nice_ceiling(high as f64).max(y_low * 10.0),
        }
    }
}

/// The latency ticks: 1, 2 and 5 × 10^k from `low` to `high`.
fn ticks(low: f64, high: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = low;
    while decade <= high * 1.0001 {
        for step in [1.0, 2.0, 5.0] {
            let v = decade * step;
            if v >= low * 0.9999 && v <= high * 1.0001 {
                ticks.push(v);
            }
        }
        decade *= 10.0;
    }
    ticks
}

/// `0%`, `90%`, `99%`, `99.9%`… for 0, 1, 2, 3… nines.
fn percentile_label(nines: f64) -> String {
    match nines.round() as i32 {
        0 => "0%".to_owned(),
        n => format!("{}%", 100.0 - 100.0 / 10f64.powi(n)),
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::load::stats::Latency;

    /// The text of every `<text>` element, in order.
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>').and_then(|(_, rest)| rest.split_once("</text>")))
            .map(|(text, _)| text.trim())
            .collect()
    }

    #[test]
    fn one_line_per_run_named_in_the_legend_over_labelled_axes() {
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
        )
        .unwrap();
        let texts = texts(&chart);
        for expected in [
            "echo &lt;64 B&gt;",
            "bare &amp; hyper",
            "gateway",
            "99%",
            "99.9%",
            "latency (log scale)",
            "10 µs",
            "1 ms",
            "5 ms",
        ] {
            assert!(texts.contains(&expected), "{expected:?} in {texts:?}");
        }
        // Each run's line (2 px wide), and its sample in the legend (3 px).
        assert_eq!(chart.matches(r#"stroke-width="2""#).count(), 2, "{chart}");
        assert_eq!(chart.matches(r#"stroke-width="3""#).count(), 2, "{chart}");
        assert!(chart.trim_end().ends_with("</svg>"));
        assert!(!chart.contains("NaN") && !chart.contains("inf"));
    }

    #[test]
    fn an_empty_chart_is_still_valid() {
        let chart = svg("nothing", &[]).unwrap();
        assert!(chart.contains("<svg") && chart.trim_end().ends_with("</svg>") && !chart.contains("NaN"));
        assert!(!chart.contains(r#"stroke-width="2""#), "no line: {chart}");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_ceiling(730.0), 1000.0);
        assert_eq!(nice_ceiling(150.0), 200.0);
        assert_eq!(ticks(10.0, 200.0), [10.0, 20.0, 50.0, 100.0, 200.0]);
        assert_eq!(axis_label(500_000.0), "500 ms");
        assert_eq!(axis_label(20.0), "20 µs");
        assert_eq!(axis_label(2_000_000.0), "2 s");
        assert_eq!(percentile_label(0.0), "0%");
        assert_eq!(percentile_label(3.0), "99.9%");
    }
}
