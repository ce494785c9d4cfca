//! The text swimlane: one column per thread, one row per step.

use crate::replay::{Replayed, StepView};

/// The moving thread's cell: function, access, and for filename accesses
/// the refcount and ghost holder count after the step.
pub fn cell(s: &StepView) -> String {
    let mut c = format!("{} {}", s.function, s.operation);
    if s.on_filename {
        match (s.frees, s.after) {
            (true, _) | (false, None) => c.push_str(" rc=freed"),
            (false, Some(a)) => c.push_str(&format!(" rc={a}")),
        }
        if let Some(h) = s.holders {
            c.push_str(&format!(" h={h}"));
        }
    }
    c
}

/// `<== Kind` for counted violations, `<-- Kind (not counted)` for others.
pub fn marks(s: &StepView) -> String {
    let counted: Vec<&str> = s
        .marks
        .iter()
        .filter(|m| m.counted)
        .map(|m| m.kind.as_str())
        .collect();
    let other: Vec<&str> = s
        .marks
        .iter()
        .filter(|m| !m.counted)
        .map(|m| m.kind.as_str())
        .collect();
    let mut out = Vec::new();
    if !counted.is_empty() {
        out.push(format!("<== {}", counted.join(", ")));
    }
    if !other.is_empty() {
        out.push(format!("<-- {} (not counted)", other.join(", ")));
    }
    out.join(" ")
}

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

/// The swimlane table. Columns are aligned by character count.
pub fn render(r: &Replayed) -> String {
    let headers: Vec<String> = r
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let comm = r
                .program
                .comm(filename_refcount::kernel::state::Tid(i as u8));
            format!("{n} ({comm})")
        })
        .collect();
    let cells: Vec<String> = r.steps.iter().map(cell).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for (s, c) in r.steps.iter().zip(&cells) {
        if let Some(w) = widths.get_mut(s.thread) {
            *w = (*w).max(c.chars().count());
        }
    }
    let step_w = r
        .steps
        .last()
        .map_or(1, |s| s.index.to_string().len())
        .max(4);
    let objects: Vec<String> = r
        .steps
        .iter()
        .map(|s| s.object.clone().unwrap_or_default())
        .collect();
    let obj_w = objects
        .iter()
        .map(|o| o.chars().count())
        .max()
        .unwrap_or(0)
        .max("object".len());

    let mut out = String::new();
    let mut row = |first: String, cols: Vec<String>, obj: String, mark: String| {
        let mut line = first;
        for (c, w) in cols.iter().zip(&widths) {
            line.push_str(" | ");
            line.push_str(&pad(c, *w));
        }
        line.push_str(" | ");
        line.push_str(&pad(&obj, obj_w));
        if !mark.is_empty() {
            line.push(' ');
            line.push_str(&mark);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    row(
        pad("step", step_w),
        headers.clone(),
        "object".into(),
        String::new(),
    );
    row(
        "-".repeat(step_w),
        widths.iter().map(|w| "-".repeat(*w)).collect(),
        "-".repeat(obj_w),
        String::new(),
    );
    for ((s, c), obj) in r.steps.iter().zip(&cells).zip(objects) {
        let cols = (0..headers.len())
            .map(|t| {
                if t == s.thread {
                    c.clone()
                } else {
                    String::new()
                }
            })
            .collect();
        row(format!("{:>step_w$}", s.index), cols, obj, marks(s));
    }
    out.push_str(
        "(rc = name->refcnt after the step, h = ghost holders after it; \
         <== a violation of a counted kind)\n",
    );
    out
}
