//! Test helpers for holding a documented pattern (the API documents fields with these
//! patterns) against the check it describes.

/// Strings on every edge the patterns draw, for tests that hold a documented pattern against
/// the check it describes.
pub(crate) fn edge_strings() -> Vec<String> {
    const EDGES: &[char] = &[
        'a', '0', ' ', '\t', '\n', '\u{0}', '\u{7f}', '\u{85}', '\u{a0}', '\u{2000}', '\u{3000}',
        '\u{feff}', 'é', '😀', '.', '/', '\\', ':', 'h', 't', 'p', 's',
    ];
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..3 {
        last = last
            .iter()
            .flat_map(|s| EDGES.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    for prefix in [
        "http://", "https://", " http://", "http:/", "ftp://", "HTTP://",
    ] {
        for rest in ["", "a", "a b", "a\u{1}", "x.y:80/p?q", " ", "\t"] {
            all.push(format!("{prefix}{rest}"));
        }
    }
    for n in [
        39, 40, 41, 199, 200, 201, 1999, 2000, 2001, 4095, 4096, 4097,
    ] {
        all.push("a".repeat(n));
        all.push(format!(" {}", "a".repeat(n)));
        all.push(format!("http://{}", "a".repeat(n.saturating_sub(7))));
    }
    all
}

/// Whether `text` fits a documented string: its pattern and character-count bounds.
pub(crate) fn fits(text: &str, pattern: &str, max_chars: usize) -> bool {
    regex::Regex::new(pattern).unwrap().is_match(text) && text.chars().count() <= max_chars
}
