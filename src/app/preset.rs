//! What keymap and theme files share: errors that name the file and line.

/// A keymap or theme file could not be used; names the file (or built-in preset) and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}: {message}")]
pub struct PresetError {
    pub origin: String,
    pub line: usize,
    pub message: String,
}

impl PresetError {
    /// An error at byte `offset` of `text`.
    pub fn at(origin: &str, text: &str, offset: usize, message: impl Into<String>) -> PresetError {
        PresetError {
            origin: origin.to_string(),
            line: line_of(text, offset),
            message: message.into(),
        }
    }

    /// A TOML syntax or shape error, placed where the parser says.
    pub fn from_toml(origin: &str, text: &str, e: &toml::de::Error) -> PresetError {
        PresetError::at(
            origin,
            text,
            e.span().map(|s| s.start).unwrap_or(0),
            e.message(),
        )
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}
