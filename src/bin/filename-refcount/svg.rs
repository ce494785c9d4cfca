//! `replay --svg`: the swimlane as an SVG picture. One vertical lane per
//! thread, one box per step in time order (top to bottom), violation
//! steps in red with the kind.

use crate::error::CliError;
use crate::fsio;
use crate::load::level_words;
use crate::replay::{kinds_text, Replayed, StepView};
use filename_refcount::kernel::state::Tid;
use std::fmt::Write;
use std::path::Path;

const CHAR_W: f64 = 7.3; // 12px monospace
const GUTTER: f64 = 60.0;
const TITLE_H: f64 = 64.0;
const HEADER_H: f64 = 40.0;
const LINE_H: f64 = 15.0;
const PAD: f64 = 6.0;
const GAP: f64 = 6.0;
const LEGEND: &str =
    "time runs down; blue: refcount accesses; red: a violation of a counted kind; \
                      orange: a violation not counted";

/// Escape text for XML content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

/// The text lines of one step's box: function, access and object,
/// refcount / holders, violations.
fn box_lines(s: &StepView) -> Vec<(String, &'static str)> {
    let mut lines = vec![(s.function.to_string(), "fn")];
    let access = match &s.object {
        Some(o) => format!("{} {o}", s.operation),
        None => s.operation.to_string(),
    };
    lines.push((access, "acc"));
    if s.on_filename {
        let rc = match (s.frees, s.before, s.after) {
            (true, _, _) | (false, _, None) => "refcnt freed".to_string(),
            (false, Some(b), Some(a)) if a != b => format!("refcnt {b} → {a}"),
            (false, _, Some(a)) => format!("refcnt {a}"),
        };
        let h = s
            .holders
            .map(|h| format!(" · holders {h}"))
            .unwrap_or_default();
        lines.push((format!("{rc}{h}"), "rc"));
    }
    for m in &s.marks {
        if m.counted {
            lines.push((format!("✗ {}", m.kind), "bad"));
        } else {
            lines.push((format!("△ {} (not counted)", m.kind), "warn"));
        }
    }
    lines
}

/// The SVG document.
pub fn render(r: &Replayed) -> String {
    let n = r.names.len().max(1);
    let boxes: Vec<Vec<(String, &'static str)>> = r.steps.iter().map(box_lines).collect();
    let headers: Vec<(String, String)> = (0..n)
        .map(|i| {
            (
                r.names.get(i).cloned().unwrap_or_default(),
                r.program.comm(Tid(i as u8)).to_string(),
            )
        })
        .collect();
    let mut chars = vec![22usize; n];
    for (i, (name, comm)) in headers.iter().enumerate() {
        chars[i] = chars[i].max(name.chars().count() + comm.chars().count() + 3);
    }
    for (s, lines) in r.steps.iter().zip(&boxes) {
        if let Some(c) = chars.get_mut(s.thread) {
            for (l, _) in lines {
                *c = (*c).max(l.chars().count());
            }
        }
    }
    let widths: Vec<f64> = chars
        .iter()
        .map(|c| *c as f64 * CHAR_W + 2.0 * PAD + 8.0)
        .collect();
    let mut xs = Vec::with_capacity(n);
    let mut x = GUTTER;
    for w in &widths {
        xs.push(x);
        x += w + GAP;
    }
    let title = format!(
        "{} — {} input, kernel {}, counting {} kinds",
        r.file,
        level_words(r.input.level()),
        r.era,
        kinds_text(r.kinds)
    );
    let counted = r.counted();
    let verdict = if counted.is_empty() {
        format!("clean ({} steps)", r.outcome.steps)
    } else {
        let mut kinds: Vec<_> = counted.iter().map(|v| v.kind).collect();
        kinds.sort();
        kinds.dedup();
        format!(
            "{} violation(s): {}",
            counted.len(),
            kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let width = (x - GAP + 20.0)
        .max(24.0 + title.chars().count() as f64 * 9.2)
        .max(24.0 + LEGEND.chars().count() as f64 * CHAR_W);

    let mut body = String::new();
    let mut y = TITLE_H + HEADER_H + GAP;
    for (s, lines) in r.steps.iter().zip(&boxes) {
        let h = lines.len() as f64 * LINE_H + 2.0 * PAD;
        let t = s.thread.min(n - 1);
        let bx = xs[t];
        let bad = s.marks.iter().any(|m| m.counted);
        let warn = !bad && !s.marks.is_empty();
        let class = if bad {
            "step bad"
        } else if warn {
            "step warn"
        } else if s.on_filename {
            "step rc"
        } else {
            "step"
        };
        writeln!(
            body,
            r#"<g><title>{}</title>"#,
            esc(&format!(
                "step {} · {} · {}\n{}",
                s.index,
                r.names.get(s.thread).map(String::as_str).unwrap_or("?"),
                s.detail,
                s.stack.join(" → ")
            ))
        )
        .ok();
        writeln!(
            body,
            r#"<text class="idx" x="{:.1}" y="{:.1}">{}</text>"#,
            GUTTER - 10.0,
            y + PAD + 11.0,
            s.index
        )
        .ok();
        writeln!(
            body,
            r#"<rect class="{class}" x="{bx:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" rx="5"/>"#,
            widths[t]
        )
        .ok();
        for (i, (l, c)) in lines.iter().enumerate() {
            writeln!(
                body,
                r#"<text class="{c}" x="{:.1}" y="{:.1}">{}</text>"#,
                bx + PAD,
                y + PAD + 11.0 + i as f64 * LINE_H,
                esc(l)
            )
            .ok();
        }
        body.push_str("</g>\n");
        y += h + GAP;
    }
    let lanes_bottom = y;
    let height = lanes_bottom + 40.0;

    let mut out = String::new();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#).ok();
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">"#
    )
    .ok();
    writeln!(
        out,
        "<style>\n\
         .title{{font-size:15px;font-weight:bold;fill:#111}}\n\
         .verdict{{font-size:13px;font-weight:bold}}\n\
         .ok{{fill:#1b5e20}} .fail{{fill:#b71c1c}}\n\
         .lane{{fill:#f4f6f8;stroke:#d0d5da}}\n\
         .head{{font-weight:bold;font-size:13px;fill:#111}}\n\
         .comm{{fill:#555}}\n\
         .step{{fill:#ffffff;stroke:#90a4ae}}\n\
         .step.rc{{fill:#e3f2fd;stroke:#42a5f5}}\n\
         .step.bad{{fill:#ffcdd2;stroke:#c62828;stroke-width:2.5}}\n\
         .step.warn{{fill:#fff3e0;stroke:#ef6c00;stroke-width:2}}\n\
         .fn{{font-weight:bold;fill:#111}} .acc{{fill:#333}} .rc{{fill:#0d47a1}}\n\
         .bad{{fill:#b71c1c;font-weight:bold}} .warn{{fill:#e65100;font-weight:bold}}\n\
         .idx{{fill:#777;text-anchor:end}}\n\
         </style>"
    )
    .ok();
    writeln!(
        out,
        r##"<rect x="0" y="0" width="{width:.0}" height="{height:.0}" fill="#ffffff"/>"##
    )
    .ok();
    writeln!(
        out,
        r#"<text class="title" x="12" y="24">{}</text>"#,
        esc(&title)
    )
    .ok();
    writeln!(
        out,
        r#"<text class="verdict {}" x="12" y="46">verdict: {}</text>"#,
        if counted.is_empty() { "ok" } else { "fail" },
        esc(&verdict)
    )
    .ok();
    for (i, (name, comm)) in headers.iter().enumerate() {
        writeln!(
            out,
            r#"<rect class="lane" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="4"/>"#,
            xs[i] - 3.0,
            TITLE_H,
            widths[i] + 6.0,
            lanes_bottom - TITLE_H
        )
        .ok();
        writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}"><tspan class="head">{}</tspan><tspan class="comm" dx="6">({})</tspan></text>"#,
            xs[i] + PAD,
            TITLE_H + 25.0,
            esc(name),
            esc(comm)
        )
        .ok();
    }
    writeln!(
        out,
        r#"<text class="idx" x="{:.1}" y="{:.1}">step</text>"#,
        GUTTER - 10.0,
        TITLE_H + 25.0
    )
    .ok();
    out.push_str(&body);
    writeln!(
        out,
        r#"<text class="comm" x="12" y="{:.1}">{LEGEND}</text>"#,
        lanes_bottom + 24.0
    )
    .ok();
    out.push_str("</svg>\n");
    out
}

/// Render and write atomically.
pub fn write(out: &Path, r: &Replayed) -> Result<(), CliError> {
    fsio::write_atomic(out, render(r).as_bytes())
}
