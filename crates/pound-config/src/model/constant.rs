//! `Constant` (pound 4.23): named strings for `%[const NAME]`, defined at top level, in
//! listeners and in services (the innermost definition wins).

use std::path::PathBuf;

use super::Live;
use crate::diag::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constant {
    pub name: String,
    /// The name as written, where pound reports problems with the constant.
    pub span: Span,
    /// The value: the string, or the file's contents as read at load time (without
    /// trailing white space under `-trim`); empty for a watched file that is missing.
    pub value: Live<Vec<u8>>,
    /// `-filewatch`: the file that supplies the value while pound runs.
    pub watch: Option<PathBuf>,
    /// `-trim`: trailing white space is removed from the file's contents.
    pub trim: bool,
}

/// The contents of a constant's file, as `-trim` wants them.
pub fn constant_value(mut contents: Vec<u8>, trim: bool) -> Vec<u8> {
    if trim {
        let keep = contents
            .iter()
            .rposition(|b| !matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' '))
            .map_or(0, |i| i + 1);
        contents.truncate(keep);
    }
    contents
}

#[cfg(test)]
mod tests {
    #[test]
    fn trimming() {
        assert_eq!(
            super::constant_value(b"secret\n\n  \t\n".to_vec(), true),
            b"secret"
        );
        assert_eq!(
            super::constant_value(b"secret\n".to_vec(), false),
            b"secret\n"
        );
        assert_eq!(super::constant_value(b" \n".to_vec(), true), b"");
    }
}
