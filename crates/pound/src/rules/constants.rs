//! `Constant` values at run time (pound 4.23, `%[const NAME]`).
//!
//! A scope's table maps the names it sees to their definitions' values, its own
//! definitions over those of its surroundings (service over listener over top level). A
//! value is shared with the configuration, so a `-filewatch` constant's new contents reach
//! every table at once.

use std::collections::HashMap;
use std::sync::Arc;

use pound_config::model::{Constant, Live};

/// The constants one scope sees.
#[derive(Default, Clone)]
pub struct Constants {
    map: HashMap<Box<str>, Live<Vec<u8>>>,
}

impl Constants {
    /// The table of a scope that defines `defs` inside `outer`.
    pub fn scope(outer: &Constants, defs: &[Constant]) -> Constants {
        let mut table = outer.clone();
        for c in defs {
            table.map.insert(c.name.as_str().into(), c.value.clone());
        }
        table
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value of `name`, if the scope has such a constant.
    pub fn get(&self, name: &str) -> Option<Arc<Vec<u8>>> {
        self.map.get(name).map(Live::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, value: &str) -> Constant {
        Constant {
            name: name.into(),
            span: pound_config::diag::Span {
                file: "p.cfg".into(),
                start: Default::default(),
                end: Default::default(),
            },
            value: Live::new(value.as_bytes().to_vec()),
            watch: None,
            trim: false,
        }
    }

    #[test]
    fn inner_definitions_win_and_values_are_shared() {
        let defs = [def("a", "1"), def("b", "2")];
        let top = Constants::scope(&Constants::default(), &defs);
        let service = Constants::scope(&top, &[def("b", "3")]);
        assert_eq!(service.get("a").as_deref(), Some(&b"1".to_vec()));
        assert_eq!(service.get("b").as_deref(), Some(&b"3".to_vec()));
        assert_eq!(top.get("b").as_deref(), Some(&b"2".to_vec()));
        assert!(service.get("c").is_none());
        // A new value reaches every scope that sees the definition.
        defs[0].value.store(b"9".to_vec());
        assert_eq!(service.get("a").as_deref(), Some(&b"9".to_vec()));
    }
}
