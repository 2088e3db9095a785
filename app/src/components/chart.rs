//! A small bar chart of deployments per week, drawn as inline SVG (nothing to download).

use leptos::prelude::*;

use super::calendar::{day_text, short_day_text};
use crate::model::WeekCount;

/// Height of the bars' area in the SVG box; above it sit the values, below it the dates.
const BAR_AREA: f64 = 48.0;

/// The chart's box (placeholders reserve the same).
pub const CHART_VIEW_BOX: &str = "0 0 240 74";

/// Bar heights scaled to the tallest week, as (x, height) in a 240-wide box.
pub fn bar_geometry(weeks: &[WeekCount]) -> Vec<(f64, f64)> {
    let max = weeks
        .iter()
        .map(|w| w.deployments)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let width = 240.0 / weeks.len().max(1) as f64;
    weeks
        .iter()
        .enumerate()
        .map(|(i, w)| (i as f64 * width, BAR_AREA * w.deployments as f64 / max))
        .collect()
}

/// Deployments per week (or, with another `caption`, some of them — failed ones): each bar
/// carries its count above it and its week on hover; the first, middle and last weeks are named
/// below. Screen readers get the same figures as a table.
#[component]
pub fn WeeklyChart(
    weeks: Vec<WeekCount>,
    #[prop(default = "Deployments per week")] caption: &'static str,
) -> impl IntoView {
    let width = 240.0 / weeks.len().max(1) as f64;
    let base = 12.0 + BAR_AREA;
    let labelled = [0, weeks.len() / 2, weeks.len().saturating_sub(1)];
    let bars = bar_geometry(&weeks)
        .into_iter()
        .zip(weeks.iter())
        .enumerate()
        .map(|(i, ((x, height), week))| {
            let centre = x + width / 2.0;
            let tooltip = format!(
                "Week of {}: {} deployment{}",
                day_text(week.week_start.date_naive()),
                week.deployments,
                if week.deployments == 1 { "" } else { "s" }
            );
            let date = labelled
                .contains(&i)
                .then(|| short_day_text(week.week_start.date_naive()));
            // The outer dates line up with the chart's edges instead of running off them.
            let (date_x, anchor) = match i {
                0 => (x, "start"),
                _ if i == labelled[2] => (x + width, "end"),
                _ => (centre, "middle"),
            };
            view! {
                <g>
                    <title>{tooltip}</title>
                    <rect x=x + 1.0 y=base - height width=width - 2.0 height=height.max(1.0) rx="2"/>
                    <text class="value" x=centre y=base - height - 2.0 text-anchor="middle">{week.deployments}</text>
                    {date.map(|d| view! { <text class="axis" x=date_x y=base + 10.0 text-anchor=anchor>{d}</text> })}
                </g>
            }
        })
        .collect_view();
    let rows = weeks
        .iter()
        .map(|w| {
            view! { <tr><th scope="row">{day_text(w.week_start.date_naive())}</th><td>{w.deployments}</td></tr> }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>{caption}</figcaption>
            <svg class="chart" viewBox=CHART_VIEW_BOX aria-hidden="true">
                <line class="baseline" x1="0" x2="240" y1=base y2=base/>
                {bars}
            </svg>
            <table class="sr-only">
                <caption>{caption}</caption>
                <thead><tr><th scope="col">"Week starting"</th><th scope="col">"Deployments"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn bars_scale_to_the_busiest_week() {
        let week = |n| WeekCount {
            week_start: Utc::now(),
            deployments: n,
        };
        let bars = bar_geometry(&[week(0), week(5), week(10)]);
        assert_eq!(bars[0], (0.0, 0.0));
        assert_eq!(bars[2].1, BAR_AREA);
        assert_eq!(bars[1].1, BAR_AREA / 2.0);
        assert_eq!(bars[1].0, 80.0);
    }
}
