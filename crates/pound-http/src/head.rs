//! A message head held as one byte buffer plus ranges into it.
//!
//! Header lines keep their original bytes, case and order, and looking at them allocates
//! nothing. Changes (removing a header, adding one, replacing a value) edit the range list
//! and append new bytes to the buffer, which is reused from one request to the next.

use std::ops::Range;

/// A byte range of [`Head::buf`]; 32-bit because heads are bounded far below 4 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One header field: its name and value (without surrounding whitespace), and the line it
/// came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: Span,
    pub value: Span,
    /// The whole line as it arrived, without its line ending: matched by `Header`
    /// conditions and passed on as it is, as pound does. Empty for a field pound made or
    /// changed, which is written `Name: value`.
    pub line: Span,
}

impl Field {
    /// A field read from a message: `name` and `value` are parts of `input` (which the
    /// head's buffer copies from `offset`), and its line ends before the next CR or LF.
    pub fn read(input: &[u8], name: &[u8], value: &[u8], offset: usize) -> Field {
        let start = name.as_ptr() as usize - input.as_ptr() as usize;
        let after = value.as_ptr() as usize - input.as_ptr() as usize + value.len();
        let end = input[after.max(start + name.len())..]
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .map_or(input.len(), |p| p + after.max(start + name.len()));
        Field {
            name: Head::span_of(input, name, offset),
            value: Head::span_of(input, value, offset),
            line: Span {
                start: (start + offset) as u32,
                end: (end + offset) as u32,
            },
        }
    }
}

/// The bytes of a head and its header fields.
#[derive(Debug, Default)]
pub struct Head {
    pub buf: Vec<u8>,
    pub fields: Vec<Field>,
}

impl Head {
    /// A head with room for `bytes` bytes and `fields` fields before it reallocates.
    pub fn with_capacity(bytes: usize, fields: usize) -> Head {
        Head {
            buf: Vec::with_capacity(bytes),
            fields: Vec::with_capacity(fields),
        }
    }

    /// Empties the head, keeping its allocations.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.fields.clear();
    }

    pub fn bytes(&self, s: Span) -> &[u8] {
        &self.buf[s.range()]
    }

    pub fn name(&self, i: usize) -> &[u8] {
        self.bytes(self.fields[i].name)
    }

    pub fn value(&self, i: usize) -> &[u8] {
        self.bytes(self.fields[i].value)
    }

    /// Appends field `i` to `out` as a header line without its ending: the line as it came,
    /// or `Name: value` for a field pound made or changed.
    pub fn write_line(&self, i: usize, out: &mut Vec<u8>) {
        let f = self.fields[i];
        if f.line.end > f.line.start {
            out.extend_from_slice(self.bytes(f.line));
        } else {
            out.extend_from_slice(self.bytes(f.name));
            out.extend_from_slice(b": ");
            out.extend_from_slice(self.bytes(f.value));
        }
    }

    /// Writes field `i` with its line ending to `out` (see [`Head::write_line`]).
    pub fn write_field(&self, i: usize, out: &mut Vec<u8>) {
        self.write_line(i, out);
        out.extend_from_slice(b"\r\n");
    }

    /// Indices of the fields called `name` (ASCII case-insensitive).
    pub fn find<'a>(&'a self, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        (0..self.fields.len()).filter(move |&i| self.name(i).eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The index of the first field called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.find(name).next()
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.find(name).next().map(|i| self.value(i))
    }

    /// Appends `bytes` to the buffer and returns their span.
    pub fn append(&mut self, bytes: &[u8]) -> Span {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(bytes);
        Span {
            start,
            end: self.buf.len() as u32,
        }
    }

    /// Adds a field at the end.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        let name = self.append(name.as_bytes());
        let value = self.append(value);
        self.fields.push(Field {
            name,
            value,
            line: Span::default(),
        });
    }

    /// Appends field `i` of `other` as it is there (its line as it came, if it has one).
    pub fn push_from(&mut self, other: &Head, i: usize) {
        let f = other.fields[i];
        let within = |s: Span| s.start >= f.line.start && s.end <= f.line.end;
        if f.line.end <= f.line.start || !within(f.name) || !within(f.value) {
            let name = self.append(other.bytes(f.name));
            let value = self.append(other.bytes(f.value));
            self.fields.push(Field {
                name,
                value,
                line: Span::default(),
            });
            return;
        }
        let line = self.append(other.bytes(f.line));
        let moved = |s: Span| Span {
            start: s.start - f.line.start + line.start,
            end: s.end - f.line.start + line.start,
        };
        self.fields.push(Field {
            name: moved(f.name),
            value: moved(f.value),
            line,
        });
    }

    /// Replaces the value of field `i`.
    pub fn set_value(&mut self, i: usize, value: &[u8]) {
        let v = self.append(value);
        self.fields[i].value = v;
        self.fields[i].line = Span::default();
    }

    /// Removes every field called `name`.
    pub fn remove(&mut self, name: &str) {
        let buf = &self.buf;
        self.fields
            .retain(|f| !buf[f.name.range()].eq_ignore_ascii_case(name.as_bytes()));
    }

    /// Writes the header fields for which `keep` (given the index) holds, each as
    /// `name: value\r\n`, to `out`.
    pub fn write_fields(&self, out: &mut Vec<u8>, keep: impl Fn(usize) -> bool) {
        for i in 0..self.fields.len() {
            if keep(i) {
                self.write_field(i, out);
            }
        }
    }

    /// Records the span of `part`, a sub-slice of `base`, as a span of a buffer that will hold
    /// a copy of `base` starting at `offset`.
    pub fn span_of(base: &[u8], part: &[u8], offset: usize) -> Span {
        let start = part.as_ptr() as usize - base.as_ptr() as usize + offset;
        Span {
            start: start as u32,
            end: (start + part.len()) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_and_write() {
        let mut h = Head::default();
        h.push("Host", b"a");
        h.push("X-Y", b"1");
        h.push("x-y", b"2");
        assert_eq!(h.find("X-y").collect::<Vec<_>>(), vec![1, 2]);
        h.set_value(0, b"b");
        h.remove("x-Y");
        h.push("X-New", b"n");
        let mut out = Vec::new();
        h.write_fields(&mut out, |_| true);
        assert_eq!(out, b"Host: b\r\nX-New: n\r\n");
        assert_eq!(h.get("HOST"), Some(&b"b"[..]));
    }

    #[test]
    fn fields_copied_from_another_head_keep_their_lines() {
        let input = b"X-A:  spaced \r\n";
        let mut from = Head::default();
        from.buf.extend_from_slice(input);
        from.fields
            .push(Field::read(input, &input[..3], &input[6..12], 0));
        from.push("X-B", b"made");
        let mut to = Head::default();
        to.push("First", b"1");
        to.push_from(&from, 0);
        to.push_from(&from, 1);
        let mut out = Vec::new();
        to.write_fields(&mut out, |_| true);
        assert_eq!(out, b"First: 1\r\nX-A:  spaced \r\nX-B: made\r\n");
        assert_eq!(to.value(1), b"spaced");
        assert_eq!(to.name(2), b"X-B");
    }
}
