//! Figures and their summary: samples per implementation, median/min/max, the ratio
//! ours/reference, the goal for the figure and whether this run met it, and
//! the Markdown table they make.

use crate::daemon::Kind;

/// The samples of one figure for one implementation. A sample taken under a time cap
/// that the run reached is recorded as the cap itself and flagged: the true value is
/// larger.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    values: Vec<f64>,
    capped: Vec<bool>,
}

impl Samples {
    /// Adds a measured value.
    pub fn push(&mut self, value: f64) {
        self.values.push(value);
        self.capped.push(false);
    }

    /// Adds a run that was stopped at `cap` before it finished.
    pub fn push_capped(&mut self, cap: f64) {
        self.values.push(cap);
        self.capped.push(true);
    }

    /// The values, in the order they were taken, capped ones written `>cap`.
    pub fn raw(&self) -> String {
        self.values
            .iter()
            .zip(&self.capped)
            .map(|(v, &c)| format!("{}{}", if c { ">" } else { "" }, fmt_value(*v)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Median (lower middle for an even count), min and max, and whether the median
    /// is a cap.
    pub fn summary(&self) -> Option<Summary> {
        let mut order: Vec<usize> = (0..self.values.len()).collect();
        order.sort_by(|&a, &b| self.values[a].total_cmp(&self.values[b]));
        let middle = *order.get((order.len().saturating_sub(1)) / 2)?;
        Some(Summary {
            median: self.values[middle],
            min: self.values[order[0]],
            max: self.values[*order.last()?],
            median_capped: self.capped[middle],
            max_capped: self.capped[*order.last()?],
        })
    }
}

/// Median, min and max of some samples.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// The median.
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// The median is a cap (the true median is larger).
    pub median_capped: bool,
    /// The largest sample is a cap.
    pub max_capped: bool,
}

impl Summary {
    fn cell(&self, unit: &str) -> String {
        let gt = |capped: bool| if capped { "> " } else { "" };
        format!(
            "{}{} {unit} ({}–{}{})",
            gt(self.median_capped),
            fmt_value(self.median),
            fmt_value(self.min),
            gt(self.max_capped),
            fmt_value(self.max)
        )
    }
}

/// A figure's samples for both implementations.
#[derive(Debug, Clone, Default)]
pub struct Pair {
    /// Ours.
    pub ours: Samples,
    /// The reference.
    pub reference: Samples,
}

impl Pair {
    /// The samples of `kind`.
    pub fn of(&mut self, kind: Kind) -> &mut Samples {
        match kind {
            Kind::Ours => &mut self.ours,
            Kind::Reference => &mut self.reference,
        }
    }
}

/// What the issue asks of a figure.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// ours/reference (medians) at most this.
    RatioAtMost(f64),
    /// Our median at most this, in the figure's unit.
    AtMost(f64),
    /// Our median at least this, in the figure's unit.
    AtLeast(f64),
}

impl Goal {
    fn describe(self, unit: &str) -> String {
        match self {
            Goal::RatioAtMost(r) => format!("ratio ≤ {}", fmt_value(r)),
            Goal::AtMost(v) => format!("≤ {} {unit}", fmt_value(v)),
            Goal::AtLeast(v) => format!("≥ {} {unit}", fmt_value(v)),
        }
    }

    fn met(self, ours: &Summary, reference: Option<&Summary>) -> bool {
        match self {
            Goal::RatioAtMost(r) => reference.is_some_and(|reference| {
                !ours.median_capped && ours.median / reference.median <= r
            }),
            Goal::AtMost(v) => !ours.median_capped && ours.median <= v,
            Goal::AtLeast(v) => ours.median >= v,
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Workload id, `W1` … `W8`.
    pub workload: &'static str,
    /// What is measured.
    pub figure: String,
    /// The unit of the values.
    pub unit: &'static str,
    /// Our samples.
    pub ours: Samples,
    /// The reference's samples; `None` for a figure of the machine, not of a daemon.
    pub reference: Option<Samples>,
    /// The goals for the figure.
    pub goals: Vec<Goal>,
}

impl Row {
    /// A figure measured on both daemons.
    pub fn compared(
        workload: &'static str,
        figure: impl Into<String>,
        unit: &'static str,
        pair: Pair,
        goals: Vec<Goal>,
    ) -> Row {
        Row {
            workload,
            figure: figure.into(),
            unit,
            ours: pair.ours,
            reference: Some(pair.reference),
            goals,
        }
    }

    /// A figure of the machine itself (shown in the "ours" column).
    pub fn machine(
        workload: &'static str,
        figure: impl Into<String>,
        unit: &'static str,
        samples: Samples,
    ) -> Row {
        Row {
            workload,
            figure: figure.into(),
            unit,
            ours: samples,
            reference: None,
            goals: Vec::new(),
        }
    }

    /// The row's samples, for the raw output.
    pub fn raw(&self) -> String {
        let reference = self
            .reference
            .as_ref()
            .map_or(String::new(), |r| format!(" | reference: {}", r.raw()));
        format!(
            "{} {} [{}] ours: {}{reference}",
            self.workload,
            self.figure,
            self.unit,
            self.ours.raw()
        )
    }

    fn markdown(&self) -> String {
        let ours = self.ours.summary();
        let reference = self.reference.as_ref().and_then(Samples::summary);
        let cell = |s: &Option<Summary>| s.map_or("—".to_string(), |s| s.cell(self.unit));
        let ratio = match (&ours, &reference) {
            (Some(o), Some(r)) if r.median != 0.0 => {
                let bound = match (o.median_capped, r.median_capped) {
                    (false, true) => "< ",
                    (true, false) => "> ",
                    _ => "",
                };
                format!("{bound}{}", fmt_value(o.median / r.median))
            }
            _ => "—".to_string(),
        };
        let goal = self
            .goals
            .iter()
            .map(|g| g.describe(self.unit))
            .collect::<Vec<_>>()
            .join(", ");
        let verdict = match &ours {
            Some(o) if !self.goals.is_empty() => {
                if self.goals.iter().all(|g| g.met(o, reference.as_ref())) {
                    "met"
                } else {
                    "**missed**"
                }
            }
            _ => "",
        };
        format!(
            "| {} | {} | {} | {} | {ratio} | {goal} | {verdict} |",
            self.workload,
            self.figure,
            cell(&ours),
            cell(&reference)
        )
    }
}

/// The results table: one row per figure, medians with (min–max).
pub fn markdown_table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| W | figure | ours: median (min–max) | reference: median (min–max) | ours/ref | goal | |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        text.push_str(&row.markdown());
        text.push('\n');
    }
    text
}

/// Three significant digits, without an exponent.
pub fn fmt_value(v: f64) -> String {
    let magnitude = v.abs();
    if magnitude >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else if magnitude >= 10.0 {
        format!("{v:.1}")
    } else if magnitude >= 1.0 {
        format!("{v:.2}")
    } else {
        let decimals = (2.0 - magnitude.log10().floor()).clamp(3.0, 9.0) as usize;
        format!("{v:.decimals$}")
    }
}
