//! A token view as terminal text: one line per row, tokens between `│`.

use std::collections::HashMap;

use super::spec::{TokenEntry, TokenSpec};
use crate::treescope::format_number;

/// The caption line, then the rows.
pub(crate) fn render(spec: &TokenSpec) -> String {
    let mut out = match &spec.title {
        Some(title) => title.clone(),
        None => format!("tokens {}", spec.shape),
    };
    if let Some(scale) = &spec.scale {
        out.push_str(&format!(
            ", {} in [{}, {}]",
            scale.label,
            format_number(scale.vmin),
            format_number(scale.vmax)
        ));
    }
    out.push('\n');
    for line in rows(spec) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// One line per row (`batch 0: │The│ cat│`), then `… N more rows` if rows were left out.
pub(crate) fn rows(spec: &TokenSpec) -> Vec<String> {
    let entries: HashMap<i64, &TokenEntry> = spec.tokens.iter().map(|e| (e.id, e)).collect();
    let mut lines = Vec::with_capacity(spec.rows.len() + 1);
    for row in &spec.rows {
        let mut line = if row.label.is_empty() {
            String::new()
        } else {
            format!("{}: ", row.label)
        };
        line.push('│');
        for (i, id) in row.ids.iter().enumerate() {
            match entries.get(id) {
                Some(e) if e.special || e.unknown => line.push_str(&format!("«{}»", e.shown)),
                Some(e) => line.push_str(&e.shown),
                None => line.push_str(&format!("«{id}»")),
            }
            if let Some(score) = row.scores.as_ref().and_then(|s| s.get(i)) {
                line.push_str(&format!(" ⟨{}⟩", format_number(score.0 as f64)));
            }
            line.push('│');
        }
        if row.omitted > 0 {
            line.push_str(&format!(" … {} more", row.omitted));
        }
        lines.push(line);
    }
    if spec.omitted_rows > 0 {
        lines.push(format!("… {} more rows", spec.omitted_rows));
    }
    lines
}
