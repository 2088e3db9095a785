//! A small bar chart of deployments per week, drawn as inline SVG (nothing to download).

use leptos::prelude::*;

use crate::model::WeekCount;

/// Bar heights scaled to the tallest week, as (x, height) in a 240×60 box.
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
        .map(|(i, w)| (i as f64 * width, 56.0 * w.deployments as f64 / max))
        .collect()
}

#[component]
pub fn WeeklyChart(weeks: Vec<WeekCount>) -> impl IntoView {
    let width = 240.0 / weeks.len().max(1) as f64;
    let bars = bar_geometry(&weeks)
        .into_iter()
        .zip(weeks)
        .map(|((x, height), week)| {
            let label = format!(
                "week of {}: {} deployments",
                week.week_start.format("%Y-%m-%d"),
                week.deployments
            );
            view! {
                <rect x=x + 1.0 y=60.0 - height width=width - 2.0 height=height.max(1.0) rx="2">
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox="0 0 240 60" role="img" aria-label="Deployments per week, last 12 weeks">
            {bars}
        </svg>
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
        assert_eq!(bars[2].1, 56.0);
        assert_eq!(bars[1].1, 28.0);
        assert_eq!(bars[1].0, 80.0);
    }
}
