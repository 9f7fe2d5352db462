//! Charts drawn on the server as inline SVG (no script, no chart library): what a template
//! needs to draw bars over time and bars per thing, in the SVG's own coordinates. The
//! templates escape every text; the numbers are computed here.

/// The drawing's width in its own units; it scales to the page's width.
const WIDTH: f64 = 600.0;
/// Bars over time: the plot's height and the room below it for the dates.
const PLOT_HEIGHT: f64 = 160.0;
const LABEL_ROOM: f64 = 22.0;
/// At most this many dates under a chart over time.
const MAX_LABELS: usize = 6;
/// Bars per thing: one row's height, and where the bars start (names to their left).
const ROW_HEIGHT: f64 = 26.0;
const NAME_ROOM: f64 = 170.0;
const VALUE_ROOM: f64 = 70.0;

/// One bar, in the drawing's units, with what it shows in words.
pub(crate) struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// "2026-06-03: 4.5 h", read by screen readers and shown on hover.
    pub label: String,
    /// The name beside a horizontal bar, and its value after it.
    pub name: String,
    pub value: String,
    pub text_y: String,
    pub value_x: String,
}

/// A text under a chart over time.
pub(crate) struct AxisLabel {
    pub x: String,
    pub text: String,
}

/// A chart: its title (also its accessible name), its bars and labels, and its drawing's size.
pub(crate) struct Chart {
    pub id: &'static str,
    pub title: String,
    /// What the tallest bar stands for, in words: "Most: 12.5 h".
    pub scale: String,
    pub bars: Vec<Bar>,
    pub labels: Vec<AxisLabel>,
    pub width: String,
    pub height: String,
    pub baseline: String,
    /// Where the dates under a chart over time stand.
    pub label_y: String,
    pub empty: bool,
}

fn number(value: f64) -> String {
    format!("{value:.1}")
}

/// Vertical bars, one per period in order: (period's label, value, value in words).
pub(crate) fn over_time(
    id: &'static str,
    title: &str,
    points: &[(String, f64, String)],
    max_words: impl Fn(f64) -> String,
) -> Chart {
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    let slot = WIDTH / points.len().max(1) as f64;
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, (period, value, words))| {
            let height = if max > 0.0 {
                value / max * PLOT_HEIGHT
            } else {
                0.0
            };
            Bar {
                x: number(i as f64 * slot + slot * 0.1),
                y: number(PLOT_HEIGHT - height),
                width: number(slot * 0.8),
                height: number(height),
                label: format!("{period}: {words}"),
                name: String::new(),
                value: String::new(),
                text_y: String::new(),
                value_x: String::new(),
            }
        })
        .collect();
    let every = points.len().div_ceil(MAX_LABELS).max(1);
    let labels = points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, (period, _, _))| AxisLabel {
            x: number(i as f64 * slot + slot * 0.1),
            text: period.clone(),
        })
        .collect();
    Chart {
        id,
        title: title.to_string(),
        scale: format!("Tallest bar: {}", max_words(max)),
        bars,
        labels,
        width: number(WIDTH),
        height: number(PLOT_HEIGHT + LABEL_ROOM),
        baseline: number(PLOT_HEIGHT),
        label_y: number(PLOT_HEIGHT + LABEL_ROOM - 6.0),
        empty: max <= 0.0,
    }
}

/// Horizontal bars, one per thing: (name, share 0.0 ..= 1.0, share in words).
pub(crate) fn shares(id: &'static str, title: &str, rows: &[(String, f64, String)]) -> Chart {
    let room = WIDTH - NAME_ROOM - VALUE_ROOM;
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (name, share, words))| {
            let width = share.clamp(0.0, 1.0) * room;
            let top = i as f64 * ROW_HEIGHT;
            Bar {
                x: number(NAME_ROOM),
                y: number(top + 4.0),
                width: number(width),
                height: number(ROW_HEIGHT - 8.0),
                label: format!("{name}: {words}"),
                name: shortened(name, 22),
                value: words.clone(),
                text_y: number(top + ROW_HEIGHT * 0.65),
                value_x: number(NAME_ROOM + width + 6.0),
            }
        })
        .collect();
    Chart {
        id,
        title: title.to_string(),
        scale: "Bars show the share of the period's hours spent printing.".into(),
        bars,
        labels: Vec::new(),
        width: number(WIDTH),
        height: number((rows.len().max(1) as f64) * ROW_HEIGHT),
        baseline: String::new(),
        label_y: String::new(),
        empty: rows.is_empty(),
    }
}

/// A name cut to `chars` characters, with an ellipsis when cut.
fn shortened(name: &str, chars: usize) -> String {
    if name.chars().count() <= chars {
        name.to_string()
    } else {
        let mut cut: String = name.chars().take(chars - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tallest_bar_fills_the_plot_and_the_others_scale() {
        let points = vec![
            ("a".to_string(), 2.0, "2 h".to_string()),
            ("b".to_string(), 4.0, "4 h".to_string()),
            ("c".to_string(), 0.0, "0 h".to_string()),
        ];
        let chart = over_time("t", "Hours", &points, |m| format!("{m} h"));
        assert_eq!(chart.bars[1].height, "160.0");
        assert_eq!(chart.bars[1].y, "0.0");
        assert_eq!(chart.bars[0].height, "80.0");
        assert_eq!(chart.bars[2].height, "0.0");
        assert_eq!(chart.bars[0].label, "a: 2 h");
        assert_eq!(chart.scale, "Tallest bar: 4 h");
        assert!(!chart.empty);
    }

    #[test]
    fn nothing_to_draw_is_said_and_never_divides_by_zero() {
        let points = vec![("a".to_string(), 0.0, "0 h".to_string())];
        let chart = over_time("t", "Hours", &points, |m| format!("{m} h"));
        assert!(chart.empty);
        assert_eq!(chart.bars[0].height, "0.0");
        assert!(shares("u", "Use", &[]).empty);
    }

    #[test]
    fn shares_are_bounded_and_names_shortened() {
        let rows = vec![(
            "A printer with a very long name indeed".to_string(),
            1.7,
            "170%".to_string(),
        )];
        let chart = shares("u", "Use", &rows);
        assert_eq!(chart.bars[0].width, number(WIDTH - NAME_ROOM - VALUE_ROOM));
        assert_eq!(chart.bars[0].name.chars().count(), 22);
        assert!(chart.bars[0].name.ends_with('…'));
    }

    #[test]
    fn at_most_a_few_dates_label_a_long_chart() {
        let points: Vec<_> = (0..31)
            .map(|d| (format!("day {d}"), 1.0, "1".to_string()))
            .collect();
        let chart = over_time("t", "Hours", &points, |m| m.to_string());
        assert!(chart.labels.len() <= MAX_LABELS, "{}", chart.labels.len());
        assert_eq!(chart.labels[0].text, "day 0");
    }
}
